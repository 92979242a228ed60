package postgres

import (
	"fmt"
	"testing"

	"github.com/taskapi/taskapi"
)

// BenchmarkCreateTask measures one CreateTask: one INSERT, committed.
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

// BenchmarkList20 measures the first page of 20 tasks of one user, the
// service's GET /tasks, among 2000 tasks of 10 users.
func BenchmarkList20(b *testing.B) {
	s, url := open(b)
	ctx := b.Context()
	for i := range 2000 {
		if err := s.CreateTask(ctx, &taskapi.Task{UserID: fmt.Sprintf("user%d", i%10), Name: fmt.Sprintf("Task %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := admin(b, url).Exec(ctx, `ANALYZE tasks`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: "user3", Limit: 20})
		if err != nil || len(page.Tasks) != 20 || page.Next == nil {
			b.Fatalf("page of %v: %v", page, err)
		}
	}
}
