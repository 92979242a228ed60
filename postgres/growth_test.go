package postgres

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql/listtest"
)

// TestGrowth measures how each list request grows with the user's tasks
// (listtest.Growth): opt-in, it seeds 221,000 tasks, then measures
// before and after ANALYZE.
//
//	TASKAPI_GROWTH=1 go test -run TestGrowth -v ./postgres/
func TestGrowth(t *testing.T) {
	if os.Getenv("TASKAPI_GROWTH") == "" {
		t.Skip("set TASKAPI_GROWTH=1 to measure")
	}
	s, url := open(t)
	all := listtest.GrowthTasks()
	rows := make([][]any, len(all))
	for i, n := range all {
		rows[i] = []any{n.ID, n.UserID, n.Name, n.Description, dateArg(n.DueDate), timeArg(n.CompletedOn),
			micro(n.CreatedAt), micro(n.UpdatedAt), n.Version, s.issuer}
	}
	if _, err := s.pool.CopyFrom(t.Context(), pgx.Identifier{"tasks"},
		[]string{"id", "user_id", "name", "description", "due_date", "completed_on", "created_at", "updated_at", "version", "issuer"},
		pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	list := func(f taskapi.TaskFilter) (*taskapi.TaskPage, error) { return s.Tasks(t.Context(), f) }
	t.Log("without statistics (autovacuum may have run meanwhile):")
	listtest.Growth(t, list)
	if _, err := admin(t, url).Exec(t.Context(), `ANALYZE tasks`); err != nil {
		t.Fatal(err)
	}
	t.Log("after ANALYZE:")
	listtest.Growth(t, list)
}
