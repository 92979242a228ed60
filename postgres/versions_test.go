package postgres

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// provider returns a goose provider of the embedded migrations on url,
// closed when t ends.
func provider(t *testing.T, url string) *goose.Provider {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listVersion reads user's version and fails the test on error.
func listVersion(t *testing.T, s *Store, user string) int64 {
	t.Helper()
	v, err := s.ListVersion(t.Context(), user)
	if err != nil {
		t.Fatalf("ListVersion(%s): %v", user, err)
	}
	return v
}

// versionObjects counts the list versions' table, function and triggers
// in url's schema.
func versionObjects(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'list_versions') +
		(SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname LIKE 'list_versions_bump%') +
		(SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
			WHERE c.relnamespace = current_schema()::regnamespace AND g.tgname LIKE '%list_version%')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListVersionMigration(t *testing.T) {
	// A schema of the first migration with rows in it, upgraded: every
	// user who has rows starts at 1, the others at 0. Down removes the
	// table, the function and the triggers; up again seeds anew.
	ctx := t.Context()
	url := pgtest.Schema(t)
	p := provider(t, url)
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	conn := admin(t, url)
	if _, err := conn.Exec(ctx, `
		INSERT INTO projects (id, user_id, name, created_at, updated_at) VALUES ('p1', 'projects-only', 'P', now(), now()), ('p2', 'both', 'P', now(), now());
		INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at)
			VALUES ('t1', 'tasks-only', NULL, 'T', now(), now()), ('t2', 'tasks-only', NULL, 'T', now(), now()), ('t3', 'both', 'p2', 'T', now(), now())`); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for user, want := range map[string]int64{"projects-only": 1, "tasks-only": 1, "both": 1, "nobody": 0} {
			if v := listVersion(t, s, user); v != want {
				t.Fatalf("%s: version of %s %d, want %d", when, user, v, want)
			}
		}
		if err := s.CreateTask(ctx, &taskapi.Task{UserID: "nobody", Name: "first"}); err != nil {
			t.Fatal(err)
		}
		if v := listVersion(t, s, "nobody"); v != 1 {
			t.Fatalf("%s: version %d after a new user's first write, want 1", when, v)
		}
	}
	check("upgraded")
	if v := schemaVersion(t, url); v != latestMigration {
		t.Fatalf("schema version %d, want %d", v, latestMigration)
	}

	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := versionObjects(t, conn); n != 0 {
		t.Fatalf("%d list version objects after the down migration, want none", n)
	}
	// The first schema works without them.
	if _, err := conn.Exec(ctx, `DELETE FROM tasks WHERE user_id = 'nobody'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if n := versionObjects(t, conn); n != 11 {
		t.Fatalf("%d list version objects after the up migration, want 11 (a table, 2 functions, 8 triggers)", n)
	}
	check("migrated down and up")
}

func TestListVersionOtherWriters(t *testing.T) {
	// Another instance on the schema and plain SQL both move the version:
	// the triggers, not the store, keep it.
	a, url := open(t)
	b, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	if v := listVersion(t, a, "u"); v != 0 {
		t.Fatalf("version %d of a new user", v)
	}
	p := &taskapi.Project{UserID: "u", Name: "P"}
	if err := b.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if v := listVersion(t, a, "u"); v != 1 {
		t.Fatalf("version %d after the other instance's write, want 1", v)
	}

	// A task of another user in u's project (the schema allows it; the
	// store does not): deleting the project in SQL sets the task's
	// project_id NULL through the foreign key, which bumps its owner too.
	conn := admin(t, url)
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at)
		VALUES ('x', 'w', $1, 'T', now(), now())`, p.ID); err != nil {
		t.Fatal(err)
	}
	u, w := listVersion(t, a, "u"), listVersion(t, a, "w")
	if w != 1 {
		t.Fatalf("version of w %d after an INSERT in SQL, want 1", w)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM projects WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if v := listVersion(t, b, "u"); v <= u {
		t.Fatalf("version of u %d after its project was deleted in SQL, want more than %d", v, u)
	}
	if v := listVersion(t, b, "w"); v <= w {
		t.Fatalf("version of w %d after ON DELETE SET NULL changed its task, want more than %d", v, w)
	}
	// A row moved to another user moves both users' versions.
	u, w = listVersion(t, a, "u"), listVersion(t, a, "w")
	if _, err := conn.Exec(ctx, `UPDATE tasks SET user_id = 'u' WHERE id = 'x'`); err != nil {
		t.Fatal(err)
	}
	if nu, nw := listVersion(t, a, "u"), listVersion(t, a, "w"); nu <= u || nw <= w {
		t.Fatalf("versions of u and w %d, %d after a task moved from w to u, want more than %d, %d", nu, nw, u, w)
	}
	// TRUNCATE fires no DELETE trigger; it has one of its own.
	u = listVersion(t, a, "u")
	if _, err := conn.Exec(ctx, `TRUNCATE tasks`); err != nil {
		t.Fatal(err)
	}
	if v := listVersion(t, a, "u"); v <= u {
		t.Fatalf("version of u %d after TRUNCATE tasks, want more than %d", v, u)
	}
	// One statement over many rows of several users: each moves once at
	// least, and nothing deadlocks against the instances' writes.
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, name, created_at, updated_at)
		SELECT 'bulk' || i, 'bulk' || (i % 3), 'T', now(), now() FROM generate_series(1, 300) AS i`); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bulk0", "bulk1", "bulk2"} {
		if v := listVersion(t, a, user); v < 1 {
			t.Fatalf("version of %s %d after a bulk insert, want at least 1", user, v)
		}
	}
	sessions := []*pgx.Conn{admin(t, url), admin(t, url), admin(t, url)}
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = sessions[i/3].Exec(ctx, `UPDATE tasks SET version = version + 1 WHERE user_id LIKE 'bulk%'`)
			case 1:
				err = a.CreateTask(ctx, &taskapi.Task{UserID: "bulk1", Name: "N"})
			case 2:
				_, err = b.UpdateTask(ctx, "bulk2", "bulk2", taskapi.TaskUpdate{Name: ptr("M")}, taskapi.Precondition{})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestListVersionErrors(t *testing.T) {
	url := pgtest.Schema(t)
	s, err := Open(t.Context(), url+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.ListVersion(t.Context(), "nul\x00user"); v != 0 || err != nil {
		t.Fatalf("ListVersion of a user id with NUL: %d, %v; want 0, nil", v, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.ListVersion(ctx, "u"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ListVersion with a cancelled context: %v, want context.Canceled", err)
	}
	// The server ends the pool's one connection: EUNAVAILABLE.
	var pid int
	if err := s.pool.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin(t, url).Exec(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListVersion(t.Context(), "u")
	wantUnavailable(t, err)
}

// TestListVersionsQuery checks the query batched reads share: several
// users at once and users without a version.
func TestListVersionsQuery(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	writes := map[string]int{"a": 1, "b": 3, `quote"d`: 2, "ünï": 1}
	for user, n := range writes {
		for range n {
			if err := s.CreateTask(ctx, &taskapi.Task{UserID: user, Name: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, users := range [][]string{{"a"}, {"a", "b", `quote"d`, "ünï", "nobody"}} {
		got, err := s.listVersions(ctx, users)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if want := int64(writes[u]); got[u] != want {
				t.Errorf("users %q: version of %q = %d, want %d", users, u, got[u], want)
			}
		}
		if _, ok := got["nobody"]; ok {
			t.Errorf("a version for a user without writes: %v", got)
		}
	}
	if v, err := s.ListVersion(ctx, "a\x00b"); v != 0 || err != nil {
		t.Errorf("an id with NUL: %d, %v", v, err)
	}
}
