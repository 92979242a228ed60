package listtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// GrowthUsers are the users of the growth measurement and their tasks:
// one of 100, of 20,000 and of 100,000 tasks, and 1,000 users of 100
// (GrowthMany, of whom the measurement reads one).
var GrowthUsers = []struct {
	User  string
	Tasks int
}{{"g100", 100}, {"g20k", 20_000}, {"g100k", 100_000}}

// GrowthMany is the number of users of 100 tasks beside GrowthUsers.
const GrowthMany = 1000

// GrowthTasks returns every task of the growth measurement.
func GrowthTasks() []*taskapi.Task {
	var all []*taskapi.Task
	for _, u := range GrowthUsers {
		all = append(all, Tasks(u.User, u.Tasks)...)
	}
	for i := range GrowthMany {
		all = append(all, Tasks(fmt.Sprintf("m%d", i), 100)...)
	}
	return all
}

// Growth measures the median time of each list request of the issue's
// table for each user of the growth measurement and logs it, with its
// ratio to the user of 100 tasks.
func Growth(t *testing.T, list func(taskapi.TaskFilter) (*taskapi.TaskPage, error)) {
	due := taskapi.NewDate(2026, 1, 10)
	queries := []struct {
		name string
		f    taskapi.TaskFilter
		deep bool // from the 50th page
	}{
		{"first page", taskapi.TaskFilter{}, false},
		{"page 50", taskapi.TaskFilter{}, true},
		{"search, in no task", taskapi.TaskFilter{Search: "zebra"}, false},
		{"search, in 1% of tasks", taskapi.TaskFilter{Search: "rare"}, false},
		{"search, 1 character", taskapi.TaskFilter{Search: "q"}, false},
		{"due_before (~9%)", taskapi.TaskFilter{DueBefore: &due}, false},
		{"completed=false&sort=due_date", taskapi.TaskFilter{Completed: ptr(false), Sort: taskapi.Sort{Field: taskapi.SortDueDate}}, false},
		{"completed=true&sort=name", taskapi.TaskFilter{Completed: ptr(true), Sort: taskapi.Sort{Field: taskapi.SortName}}, false},
		{"sort=-updated_at", taskapi.TaskFilter{Sort: taskapi.Sort{Field: taskapi.SortUpdatedAt, Desc: true}}, false},
	}
	users := []string{"g100", "g20k", "g100k", "m500"}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %10s %16s %16s %20s\n", "request (median)", "100", "20,000", "100,000", "1,000 users × 100")
	for _, q := range queries {
		fmt.Fprintf(&b, "%-32s", q.name)
		var base time.Duration
		for i, u := range users {
			f := q.f
			f.UserID, f.Limit = u, 20
			if q.deep {
				for range 49 {
					page, err := list(f)
					if err != nil {
						t.Fatal(err)
					}
					if page.Next == nil {
						break
					}
					f.After = page.Next
				}
			}
			var times []time.Duration
			for i := 0; i < 31; i++ {
				start := time.Now()
				if _, err := list(f); err != nil {
					t.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			median := times[len(times)/2]
			if i == 0 {
				base = median
				fmt.Fprintf(&b, " %10s", median.Round(time.Microsecond))
			} else {
				fmt.Fprintf(&b, " %9s (%4.1fx)", median.Round(time.Microsecond), float64(median)/float64(base))
			}
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}
