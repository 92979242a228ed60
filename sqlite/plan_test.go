package sqlite

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
	"github.com/taskapi/taskapi/internal/storesql/listtest"
)

// seed inserts the rows of listtest: Big's tasks and projects, Small's,
// and 50 more users like Small, in one transaction.
func seed(t *testing.T, s *Store) []*taskapi.Task {
	t.Helper()
	ctx := t.Context()
	all := listtest.Tasks(listtest.Big, listtest.BigTasks)
	all = append(all, listtest.Tasks(listtest.Small, listtest.SmallTasks)...)
	for i := range 50 {
		all = append(all, listtest.Tasks(fmt.Sprintf("auth0|other%d", i), listtest.SmallTasks)...)
	}
	err := s.inTx(ctx, func(tx *tx) error {
		for _, id := range []string{listtest.BigProject, listtest.SmallProject} {
			stamp := formatTime(listtest.Start)
			if _, err := tx.exec(qInsertProject, id, listtest.Big, id, nil, stamp, stamp, 1, s.issuer); err != nil {
				return err
			}
		}
		for _, n := range all {
			if _, err := tx.exec(qInsertTask, n.ID, n.UserID, nullString(n.ProjectID), n.Name, nullString(n.Description),
				nullDate(n.DueDate), nullTime(n.CompletedOn), formatTime(n.CreatedAt), formatTime(n.UpdatedAt), n.Version, s.issuer); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// explaining runs the statements of a list and keeps their query plans.
type explaining struct {
	lists
	t     *testing.T
	plans *[]string
}

func (e explaining) Count(ctx context.Context, query string, args ...any) (int, error) {
	*e.plans = append(*e.plans, query+"\n  → "+queryPlan(e.t, e.s.read, query, args...))
	return e.lists.Count(ctx, query, args...)
}

func (e explaining) Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error) {
	*e.plans = append(*e.plans, query+"\n  → "+queryPlan(e.t, e.s.read, query, args...))
	return e.lists.Tasks(ctx, query, args...)
}

// TestListPlans runs every filter × sort of listtest, before and after
// PRAGMA optimize has gathered statistics, and checks the pages against
// the reference and every statement's plan: each reads tasks through an
// index, the one its plan means (storesql), and only a gather of at most
// ProbeLimit rows, or of the text index's matches, sorts in a temporary
// b-tree.
func TestListPlans(t *testing.T) {
	s, path := open(t)
	all := seed(t, s)
	// The searches find the rows through the text index, filled now
	// rather than whenever the store's goroutine runs.
	if _, err := s.indexText(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, stats := range []bool{false, true} {
		if stats {
			// A store opened again runs PRAGMA optimize, as a deployment
			// would; its read connections load the statistics.
			var err error
			if s, err = Open(t.Context(), path); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			var n int
			if err := s.write.QueryRow(`SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tasks'`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("PRAGMA optimize gathered no statistics of tasks (%d rows, %v)", n, err)
			}
		}
		for _, user := range []string{listtest.Big, listtest.Small} {
			for _, c := range listtest.Cases() {
				for _, sort := range listtest.Sorts() {
					name := fmt.Sprintf("stats=%v/%s/%s/%s desc=%v", stats, user, c.Name, sort.Field, sort.Desc)
					t.Run(name, func(t *testing.T) {
						f := c.Filter
						f.UserID, f.Sort, f.Limit = user, sort, 20
						var plans []string
						q := explaining{lists{s}, t, &plans}
						listtest.Check(t, listtest.Want(all, f), f, func(f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
							return storesql.ListTasks(t.Context(), q, taskColumns, f, s.issuer, dialect)
						})
						for _, p := range plans {
							checkPlan(t, p, sort.Field)
						}
					})
				}
			}
		}
	}
}

// pendingRows is the read of a text search's rows not yet indexed.
const pendingRows = "SEARCH tasks USING INTEGER PRIMARY KEY (rowid>?)"

var (
	tasksStep = regexp.MustCompile(`(SCAN|SEARCH) tasks( USING [^;]*)?`)
	indexName = regexp.MustCompile(`USING (?:COVERING )?INDEX (\w+)|USING (INTEGER PRIMARY KEY)`)
)

// checkPlan checks the plan of one statement of a list sorted by field.
func checkPlan(t *testing.T, plan string, field taskapi.SortField) {
	t.Helper()
	steps := tasksStep.FindAllString(plan, -1)
	if strings.Contains(plan, "task_text MATCH") {
		// A search reads the rows not yet in the text index too: those
		// after indexed_to, a range of the rowid.
		if len(steps) != 2 || steps[1] != pendingRows {
			t.Fatalf("a text search without its read of the rows not yet indexed (%q):\n%s", pendingRows, plan)
		}
		steps = steps[:1]
	}
	merged := strings.Contains(plan, "MERGE (UNION ALL)")
	if merged {
		// A walk of both completion states: the two ranges of the index,
		// merged in order.
		if len(steps) != 2 || indexName.FindString(steps[0]) != indexName.FindString(steps[1]) {
			t.Fatalf("a merge of %q, want two reads of the same index:\n%s", steps, plan)
		}
		steps = steps[:1]
	}
	statement, _, _ := strings.Cut(plan, "\n")
	if !merged && strings.Contains(statement, "UNION ALL") || strings.HasPrefix(statement, "SELECT (SELECT count(*)") {
		// A probe or a gather of the due date's index: one range per
		// completion state.
		if len(steps) != 2 || indexName.FindString(steps[0]) != indexName.FindString(steps[1]) || !strings.Contains(steps[0], "<expr>=?") {
			t.Fatalf("reads %q, want the two ranges of one index:\n%s", steps, plan)
		}
		steps = steps[:1]
	}
	if len(steps) != 1 {
		t.Fatalf("%d reads of tasks, want 1:\n%s", len(steps), plan)
	}
	if !strings.HasPrefix(steps[0], "SEARCH") {
		t.Fatalf("tasks read without an index:\n%s", plan)
	}
	m := indexName.FindStringSubmatch(steps[0])
	if m == nil {
		t.Fatalf("no index in %q:\n%s", steps[0], plan)
	}
	index := m[1] + m[2]
	gathered := strings.Contains(plan, "WITH gathered")
	switch {
	case strings.HasPrefix(plan, "SELECT count(*)") || strings.HasPrefix(plan, "SELECT (SELECT count(*)"):
		if !strings.Contains(steps[0], "COVERING INDEX") && index != "tasks_project" {
			t.Errorf("a count that reads rows:\n%s", plan)
		}
	case strings.Contains(plan, "task_text MATCH"):
		if index != "INTEGER PRIMARY KEY" || !strings.Contains(plan, "SCAN task_text VIRTUAL TABLE") {
			t.Errorf("a text search not through task_text:\n%s", plan)
		}
	case gathered:
		if index == sortIndex[field] {
			t.Errorf("a gather through the sort field's index:\n%s", plan)
		}
	case index == "tasks_project" && field == taskapi.SortCreatedAt: // a project's walk
	default: // a walk, of one completion state unless it is completed_on's
		if index != sortIndex[field] {
			t.Errorf("a walk of %s, want the index of %s:\n%s", index, field, plan)
		}
		if field != taskapi.SortCompletedOn && !strings.Contains(steps[0], "<expr>=?") {
			t.Errorf("a walk of all completion states at once:\n%s", plan)
		}
	}
	if strings.Contains(plan, "TEMP B-TREE") && !gathered {
		t.Errorf("a sort outside a gather:\n%s", plan)
	}
}

// sortIndex is the index of each sort field.
var sortIndex = map[taskapi.SortField]string{
	taskapi.SortCreatedAt: "tasks_state_created", taskapi.SortUpdatedAt: "tasks_state_updated", taskapi.SortDueDate: "tasks_state_due",
	taskapi.SortName: "tasks_state_name", taskapi.SortCompletedOn: "tasks_user_completed",
}
