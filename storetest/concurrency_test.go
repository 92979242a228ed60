package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/taskapi/taskapi"
)

var concurrencyTests = []test{
	{"NoLostUpdate", func(t *testing.T, e *env) {
		const n = 16
		in := e.createTask(task(alice, "Contended"))
		versions := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u := taskapi.TaskUpdate{Name: ptr(fmt.Sprintf("writer %d", i))}
				if i%2 == 0 {
					u.Completed = ptr(i%4 == 0)
				}
				got, err := e.s.UpdateTask(e.ctx, alice, in.ID, u, taskapi.Precondition{})
				errs[i] = err
				if err == nil {
					versions[i] = got.Version
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		// Each writer saw its own version: 2 … n+1, each once.
		slices.Sort(versions)
		for i, v := range versions {
			if v != int64(i+2) {
				t.Fatalf("versions returned %v, want 2…%d once each", versions, n+1)
			}
		}
		if got := e.mustTask(alice, in.ID); got.Version != n+1 {
			t.Fatalf("version %d after %d updates, want %d", got.Version, n, n+1)
		}
	}},
	{"ConcurrentFieldsAllKept", func(t *testing.T, e *env) {
		// Writers that change different fields of one task at once: every
		// change must be there in the end, none applied to a stale copy.
		const tasks = 6
		updates := []taskapi.TaskUpdate{
			{Name: ptr("renamed")},
			{Description: taskapi.Value("described")},
			{DueDate: taskapi.Value(date("2026-09-09"))},
			{Completed: ptr(true)},
		}
		var all []*taskapi.Task
		for range tasks {
			all = append(all, e.createTask(task(alice, "Task")))
		}
		var wg sync.WaitGroup
		for _, in := range all {
			for _, u := range updates {
				wg.Go(func() {
					if _, err := e.s.UpdateTask(e.ctx, alice, in.ID, u, taskapi.Precondition{}); err != nil {
						t.Errorf("task %s: %v", in.ID, err)
					}
				})
			}
		}
		wg.Wait()
		for _, in := range all {
			want := *in
			want.Name, want.Description, want.DueDate, want.CompletedOn = "renamed", ptr("described"), ptr(date("2026-09-09")), &start
			want.Version = int64(1 + len(updates))
			sameTask(t, e.mustTask(alice, in.ID), &want)
		}
	}},
	{"OneWinnerPerVersion", func(t *testing.T, e *env) {
		const n, rounds = 8, 3
		in := e.createTask(task(alice, "Raced"))
		for round := range rounds {
			version := int64(1 + round)
			winners := make(chan int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr(fmt.Sprintf("round %d writer %d", round, i))},
						taskapi.Precondition{IfVersion: version})
					switch code := taskapi.ErrorCode(err); code {
					case "":
						winners <- i
					case taskapi.EPRECONDITION:
					default:
						t.Errorf("round %d writer %d: %v", round, i, err)
					}
				})
			}
			wg.Wait()
			close(winners)
			var won []int
			for i := range winners {
				won = append(won, i)
			}
			if len(won) != 1 {
				t.Fatalf("round %d: writers %v won, want exactly one", round, won)
			}
			got := e.mustTask(alice, in.ID)
			if want := fmt.Sprintf("round %d writer %d", round, won[0]); got.Version != version+1 || got.Name != want {
				t.Fatalf("round %d: stored version %d name %q, want %d %q", round, got.Version, got.Name, version+1, want)
			}
		}
		// Deletes race the same way: one wins, the rest find it changed or gone.
		var wg sync.WaitGroup
		var mu sync.Mutex
		deleted := 0
		for range n {
			wg.Go(func() {
				err := e.s.DeleteTask(e.ctx, alice, in.ID, taskapi.Precondition{IfVersion: rounds + 1})
				switch taskapi.ErrorCode(err) {
				case "":
					mu.Lock()
					deleted++
					mu.Unlock()
				case taskapi.ENOTFOUND, taskapi.EPRECONDITION:
				default:
					t.Errorf("delete: %v", err)
				}
			})
		}
		wg.Wait()
		if deleted != 1 {
			t.Fatalf("%d deletes succeeded, want 1", deleted)
		}
	}},
}
