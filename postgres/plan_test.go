package postgres

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
	"github.com/taskapi/taskapi/internal/storesql/listtest"
)

// seed copies the rows of listtest into s: Big's tasks and projects,
// Small's, and 600 more users like Small, so that Big's rows are a
// twentieth of the table, as a big user's among many: PostgreSQL's
// planner weighs an index against reading the whole table.
func seed(t *testing.T, s *Store) []*taskapi.Task {
	t.Helper()
	ctx := t.Context()
	all := listtest.Tasks(listtest.Big, listtest.BigTasks)
	all = append(all, listtest.Tasks(listtest.Small, listtest.SmallTasks)...)
	for i := range 600 {
		all = append(all, listtest.Tasks(fmt.Sprintf("auth0|other%d", i), listtest.SmallTasks)...)
	}
	for _, id := range []string{listtest.BigProject, listtest.SmallProject} {
		if _, err := s.pool.Exec(ctx, `INSERT INTO projects (id, user_id, name, created_at, updated_at, issuer) VALUES ($1, $2, $1, $3, $3, $4)`,
			id, listtest.Big, listtest.Start, s.issuer); err != nil {
			t.Fatal(err)
		}
	}
	rows := make([][]any, len(all))
	for i, n := range all {
		rows[i] = []any{n.ID, n.UserID, n.ProjectID, n.Name, n.Description, dateArg(n.DueDate), timeArg(n.CompletedOn),
			micro(n.CreatedAt), micro(n.UpdatedAt), n.Version, s.issuer}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"tasks"},
		[]string{"id", "user_id", "project_id", "name", "description", "due_date", "completed_on", "created_at", "updated_at", "version", "issuer"},
		pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// explaining runs the statements of a list and keeps their query plans,
// as the server plans them with the arguments at hand (a custom plan) or
// without them (the generic plan of a statement prepared and run often).
type explaining struct {
	lists
	t       *testing.T
	conn    *pgx.Conn
	generic bool
	plans   *[]string
}

func (e explaining) explain(query string, args []any) {
	mode := "force_custom_plan"
	if e.generic {
		mode = "force_generic_plan"
	}
	ctx := e.t.Context()
	if _, err := e.conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.conn.Query(ctx, `EXPLAIN `+numbered(query), args...)
	if err != nil {
		e.t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	*e.plans = append(*e.plans, query+"\n"+strings.Join(lines, "\n"))
}

func (e explaining) Count(ctx context.Context, query string, args ...any) (int, error) {
	e.explain(query, args)
	return e.lists.Count(ctx, query, args...)
}

func (e explaining) Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error) {
	e.explain(query, args)
	return e.lists.Tasks(ctx, query, args...)
}

// TestListPlans runs every filter × sort of listtest after ANALYZE, with
// custom and generic plans, and checks the pages against the reference
// and the plans of the walks (checkPlan).
func TestListPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds thousands of rows")
	}
	s, url := open(t)
	conn := admin(t, url)
	// Without statistics first: autovacuum, which would analyze the table
	// meanwhile, is off for it.
	if _, err := conn.Exec(t.Context(), `ALTER TABLE tasks SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	all := seed(t, s)
	for _, stats := range []bool{false, true} {
		if stats {
			if _, err := conn.Exec(t.Context(), `ANALYZE tasks; ANALYZE projects`); err != nil {
				t.Fatal(err)
			}
		}
		for _, generic := range []bool{false, true} {
			for _, user := range []string{listtest.Big} {
				for _, c := range listtest.Cases() {
					for _, sort := range listtest.Sorts() {
						name := fmt.Sprintf("stats=%v/generic=%v/%s/%s/%s desc=%v", stats, generic, user, c.Name, sort.Field, sort.Desc)
						t.Run(name, func(t *testing.T) {
							f := c.Filter
							f.UserID, f.Sort, f.Limit = user, sort, 20
							var plans []string
							q := explaining{lists{s}, t, conn, generic, &plans}
							listtest.Check(t, listtest.Want(all, f), f, func(f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
								return storesql.ListTasks(t.Context(), q, taskColumns, f, s.issuer, dialect)
							})
							for _, p := range plans {
								checkPlan(t, p, sort.Field, user == listtest.Big)
							}
						})
					}
				}
			}
		}
	}
}

var scanOf = regexp.MustCompile(`(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)`)

var sortNode = regexp.MustCompile(`(?m)^\s*(->\s+)?(Incremental )?Sort\s+\(`)

// checkPlan checks the plan of one statement of a list of Big's sorted by
// field, with statistics or without: a walk reads, in order and without a
// sort, the sort field's index (one range of it per completion state it
// reads, merged) or, for a project's tasks by created_at, the project's.
// The plans of the other statements (a search's window, probes and
// gathers) are the planner's choice by cost (see the README): only their
// pages are checked.
func checkPlan(t *testing.T, plan string, field taskapi.SortField, big bool) {
	t.Helper()
	statement, _, _ := strings.Cut(plan, "\n")
	if !big || !strings.HasPrefix(statement, "SELECT id") || strings.Contains(statement, "OFFSET") ||
		strings.Contains(statement, "examined") {
		return
	}
	want, ranges := sortIndex[field], 1
	switch {
	case strings.Contains(statement, "coalesce(user_id = ? AND issuer = ?"): // the project's walk
		want = "tasks_project"
	case strings.Contains(statement, "UNION ALL"):
		ranges = 2
	}
	scans := scanOf.FindAllStringSubmatch(plan, -1)
	if len(scans) != ranges {
		t.Fatalf("%d scans in the plan, want %d:\n%s", len(scans), ranges, plan)
	}
	for _, scan := range scans {
		if scan[1] != "Index Scan" || scan[2] != want {
			t.Errorf("a walk by %s %s, want an index scan of %s:\n%s", scan[1], scan[2], want, plan)
		}
	}
	if sortNode.MatchString(plan) {
		t.Errorf("a walk that sorts:\n%s", plan)
	}
}

// sortIndex is the index of each sort field.
var sortIndex = map[taskapi.SortField]string{
	taskapi.SortCreatedAt: "tasks_state_created", taskapi.SortUpdatedAt: "tasks_state_updated", taskapi.SortDueDate: "tasks_state_due",
	taskapi.SortName: "tasks_state_name", taskapi.SortCompletedOn: "tasks_owner_completed",
}

// TestTrigramIndexesWithoutPendingList checks that every GIN index of
// tasks puts a write's trigrams into the index at once (fastupdate = off),
// so that no search reads a pending list of the writes since the last
// VACUUM.
func TestTrigramIndexesWithoutPendingList(t *testing.T) {
	_, url := open(t)
	rows, err := admin(t, url).Query(t.Context(), `SELECT c.relname, coalesce(array_to_string(c.reloptions, ','), '')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		WHERE i.indrelid = 'tasks'::regclass AND a.amname = 'gin' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, opts string
		err := r.Scan(&name, &opts)
		return name + " " + opts, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tasks_description_trigram fastupdate=off", "tasks_name_trigram fastupdate=off"}
	if !slices.Equal(got, want) {
		t.Errorf("GIN indexes of tasks: %q, want %q", got, want)
	}
}
