package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql/listtest"
)

// TestGrowth measures how each list request grows with the user's tasks
// (listtest.Growth): opt-in, it seeds 221,000 tasks.
//
//	TASKAPI_GROWTH=1 go test -run TestGrowth -v ./sqlite/
func TestGrowth(t *testing.T) {
	if os.Getenv("TASKAPI_GROWTH") == "" {
		t.Skip("set TASKAPI_GROWTH=1 to measure")
	}
	path := filepath.Join(t.TempDir(), "growth.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	all := listtest.GrowthTasks()
	err = s.inTx(t.Context(), func(tx *tx) error {
		for _, n := range all {
			if _, err := tx.exec(qInsertTask, n.ID, n.UserID, nil, n.Name, nullString(n.Description), nullDate(n.DueDate),
				nullTime(n.CompletedOn), formatTime(n.CreatedAt), formatTime(n.UpdatedAt), n.Version, s.issuer); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(t.Context(), path); err != nil { // PRAGMA optimize, as at a start
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.indexText(t.Context()); err != nil { // as the store's goroutine would, soon after
		t.Fatal(err)
	}
	listtest.Growth(t, func(f taskapi.TaskFilter) (*taskapi.TaskPage, error) { return s.Tasks(t.Context(), f) })
}
