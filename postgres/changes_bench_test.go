package postgres

import (
	"slices"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// BenchmarkFeedCost measures what the change feed's triggers cost a write,
// side by side in one run: the median time of each kind of write on a
// store as migrated (feed-µs) and on one whose feed triggers were dropped
// (nofeed-µs), and their ratio. ns/op is the time of both.
//
//	go test ./postgres -run '^$' -bench FeedCost -benchtime 1000x
func BenchmarkFeedCost(b *testing.B) {
	for _, write := range []string{"create", "update", "delete"} {
		b.Run(write, func(b *testing.B) {
			feed, _ := open(b)
			nofeed, url := open(b)
			if _, err := admin(b, url).Exec(b.Context(), `DROP TRIGGER tasks_changes ON tasks; DROP TRIGGER projects_changes ON projects`); err != nil {
				b.Fatal(err)
			}
			feedCost(b, feed, nofeed, write)
		})
	}
}

// feedCost alternates one kind of write on two stores, with the feed's
// triggers (feed) and without (nofeed), op by op, so that the noise of a
// shared machine falls on both alike, and reports the median time of a
// write on each and their ratio. The writes: a create; an update of one
// of 100 tasks; a delete (its task created beforehand, untimed).
func feedCost(b *testing.B, feed, nofeed taskapi.IssuerStore, write string) {
	ctx := b.Context()
	const user = "auth0|bench"
	desc := "two litres, semi-skimmed"
	newTask := func() *taskapi.Task {
		return &taskapi.Task{UserID: user, Name: "Buy milk", Description: &desc, DueDate: ptr(taskapi.NewDate(2030, 1, 1))}
	}
	stores := []taskapi.IssuerStore{feed, nofeed}
	ids := make([][]string, 2)
	for k, s := range stores {
		for range 100 {
			t := newTask()
			if err := s.CreateTask(ctx, t); err != nil {
				b.Fatal(err)
			}
			ids[k] = append(ids[k], t.ID)
		}
	}
	var took [2][]time.Duration
	i := 0
	for b.Loop() {
		for k, s := range stores {
			var err error
			var start time.Time
			switch write {
			case "create":
				start = time.Now()
				err = s.CreateTask(ctx, newTask())
			case "update":
				start = time.Now()
				_, err = s.UpdateTask(ctx, user, ids[k][i%100], taskapi.TaskUpdate{Completed: ptr(i%2 == 0)}, taskapi.Precondition{})
			case "delete":
				t := newTask()
				if err = s.CreateTask(ctx, t); err == nil {
					start = time.Now()
					err = s.DeleteTask(ctx, user, t.ID, taskapi.Precondition{})
				}
			}
			took[k] = append(took[k], time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2])
	}
	f, n := median(took[0]), median(took[1])
	b.ReportMetric(f/1e3, "feed-µs")
	b.ReportMetric(n/1e3, "nofeed-µs")
	b.ReportMetric(f/n, "ratio")
}
