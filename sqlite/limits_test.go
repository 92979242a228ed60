package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/taskapi/taskapi"
)

// TestCapReadsOneRow checks that the check of a user's cap reads the
// user's row of row_counts by its key, never the user's tasks: it runs in
// every capped create, holding the write lock.
func TestCapReadsOneRow(t *testing.T) {
	s, _ := open(t)
	for _, q := range []string{qCountTasks, qCountProjects} {
		plan := queryPlan(t, s.write, q, "auth0|alice", "https://issuer.example/")
		if !strings.Contains(plan, "row_counts USING PRIMARY KEY") || strings.Contains(plan, " tasks") || strings.Contains(plan, " projects") {
			t.Errorf("%s\nplan: %s; want a search of row_counts by its key", q, plan)
		}
	}
}

// checkRowCounts fails t unless row_counts holds, for every user, the
// numbers of tasks and projects the tables hold (a user without rows may
// keep a row of zeros).
func checkRowCounts(t *testing.T, db *sql.DB, step string) {
	t.Helper()
	const q = `SELECT issuer, user_id, tasks, projects FROM row_counts WHERE tasks <> 0 OR projects <> 0
		EXCEPT SELECT issuer, user_id, sum(t), sum(p) FROM (
			SELECT issuer, user_id, 1 AS t, 0 AS p FROM tasks UNION ALL SELECT issuer, user_id, 0, 1 FROM projects)
		GROUP BY issuer, user_id`
	const back = `SELECT issuer, user_id, sum(t), sum(p) FROM (
			SELECT issuer, user_id, 1 AS t, 0 AS p FROM tasks UNION ALL SELECT issuer, user_id, 0, 1 FROM projects)
		GROUP BY issuer, user_id
		EXCEPT SELECT issuer, user_id, tasks, projects FROM row_counts`
	for _, query := range []string{q, back} {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var iss, user string
			var tasks, projects int
			if err := rows.Scan(&iss, &user, &tasks, &projects); err != nil {
				t.Fatal(err)
			}
			t.Errorf("after %s: %q of %q: %d tasks, %d projects differ between row_counts and the tables", step, user, iss, tasks, projects)
		}
		rows.Close()
	}
}

// TestRowCountsStayExact checks that the numbers the caps read follow
// every way a row comes and goes: creates, deletes, a project's delete
// unlinking its tasks, rows given an issuer (AssignIssuer), a user's data
// erased, and writes of other tools straight into the file. It also checks
// that the migration counts the rows a database already holds.
func TestRowCountsStayExact(t *testing.T) {
	s, _ := open(t, WithLimits(taskapi.Limits{Tasks: 3, Projects: 2}))
	ctx := t.Context()
	const issA, issB = "https://a.example/", "https://b.example/"
	a, b := s.ForIssuer(issA), s.ForIssuer(issB)
	var ids []string
	for i, st := range []taskapi.IssuerStore{a, a, a, b} {
		tk := &taskapi.Task{UserID: "alice", Name: fmt.Sprint("task ", i)}
		if err := st.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	checkRowCounts(t, s.write, "creates")
	if err := a.CreateTask(ctx, &taskapi.Task{UserID: "alice", Name: "fourth"}); taskapi.ErrorCode(err) != taskapi.ELIMIT {
		t.Fatalf("a fourth task of a user capped at 3: %v, want %s", err, taskapi.ELIMIT)
	}
	p := &taskapi.Project{UserID: "alice", Name: "home"}
	if err := a.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateTask(ctx, "alice", ids[0], taskapi.TaskUpdate{ProjectID: taskapi.Nullable[string]{Set: true, Valid: true, Value: p.ID}}, taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteProject(ctx, "alice", p.ID, taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTask(ctx, "alice", ids[1], taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	checkRowCounts(t, s.write, "deletes")
	if err := a.CreateTask(ctx, &taskapi.Task{UserID: "alice", Name: "room again"}); err != nil {
		t.Fatalf("a create after a delete made room: %v", err)
	}
	// Another tool writes rows without an issuer, which AssignIssuer gives one.
	if _, err := s.write.Exec(`INSERT INTO tasks (id, user_id, name, created_at, updated_at, version, issuer)
		VALUES ('t-raw', 'bob', 'raw', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z', 1, '')`); err != nil {
		t.Fatal(err)
	}
	checkRowCounts(t, s.write, "a write of another tool")
	if _, err := s.AssignIssuer(ctx, issB); err != nil {
		t.Fatal(err)
	}
	checkRowCounts(t, s.write, "AssignIssuer")
	if _, err := a.DeleteUserData(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	checkRowCounts(t, s.write, "DeleteUserData")

	// The migration counts what is there: undo it, and do it again.
	if _, err := s.write.Exec(`DELETE FROM row_counts`); err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	prov, err := goose.NewProvider(goose.DialectSQLite3, s.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prov.DownTo(context.Background(), 9); err != nil {
		t.Fatal(err)
	}
	if _, err := prov.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.write.QueryRow(`SELECT count(*) FROM row_counts WHERE tasks > 0`).Scan(&n); err != nil || n != 2 {
		t.Errorf("users with tasks in row_counts after the migration: %d (%v), want 2 (alice and bob of %s)", n, err, issB)
	}
	checkRowCounts(t, s.write, "the migration")
}
