package sqlite

import (
	"fmt"
	"testing"

	"github.com/taskapi/taskapi"
)

// BenchmarkCreateTaskBigUser measures a create of a user who has 20,000
// tasks, under the default caps: the check of the cap must not grow with
// the user's rows.
func BenchmarkCreateTaskBigUser(b *testing.B) {
	s, _ := open(b, WithLimits(taskapi.Limits{Tasks: 100_000, Projects: 10_000}))
	ctx := b.Context()
	_, err := s.write.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000)
		INSERT INTO tasks (id, user_id, name, created_at, updated_at, version, issuer)
		SELECT 'seed-' || i, 'big', 'seed', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z', 1, '' FROM n`)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if err := s.CreateTask(ctx, &taskapi.Task{UserID: "big", Name: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
}
