package sqlite

import (
	"fmt"
	"testing"

	"github.com/taskapi/taskapi"
)

// BenchmarkCreateTask measures one CreateTask: a write transaction with
// its commit to the WAL.
func BenchmarkCreateTask(b *testing.B) {
	s, _ := open(b)
	ctx := b.Context()
	desc := "two litres, semi-skimmed"
	for b.Loop() {
		if err := s.CreateTask(ctx, &taskapi.Task{UserID: "auth0|bench", Name: "Buy milk", Description: &desc,
			DueDate: ptr(taskapi.NewDate(2030, 1, 1))}); err != nil {
			b.Fatal(err)
		}
	}
}

// listStore returns a store of 2000 tasks of 10 users.
func listStore(b *testing.B) *Store {
	s, _ := open(b)
	for i := range 2000 {
		if err := s.CreateTask(b.Context(), &taskapi.Task{UserID: fmt.Sprintf("user%d", i%10), Name: fmt.Sprintf("Task %d", i),
			Description: ptr("a description of the usual length")}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkList20 measures the first page of 20 tasks of one user, the
// service's GET /tasks, among 2000 tasks of 10 users.
func BenchmarkList20(b *testing.B) {
	s := listStore(b)
	for b.Loop() {
		page, err := s.Tasks(b.Context(), taskapi.TaskFilter{UserID: "user3", Limit: 20})
		if err != nil || len(page.Tasks) != 20 || page.Next == nil {
			b.Fatalf("page of %v: %v", page, err)
		}
	}
}

// BenchmarkSearch20 measures a search that must read all 200 tasks of the
// user to fill a page of 20 (the match is rare): the cost of the search
// function.
func BenchmarkSearch20(b *testing.B) {
	s := listStore(b)
	for b.Loop() {
		page, err := s.Tasks(b.Context(), taskapi.TaskFilter{UserID: "user3", Search: "TASK 19", Limit: 20})
		if err != nil || len(page.Tasks) != 11 {
			b.Fatalf("page of %v: %v", page, err)
		}
	}
}
