package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/taskapi/taskapi"
)

// provider returns a goose provider of the embedded migrations on db.
func provider(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
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

// versionObjects counts the list versions' table and triggers in the file.
func versionObjects(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'list_versions' OR name LIKE '%list_version%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListVersionMigration(t *testing.T) {
	// A file of the first schema with rows in it, upgraded: every user
	// who has rows starts at 1, the others at 0. Down removes the table
	// and the triggers; up again seeds anew.
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := openDB(path, DefaultBusyTimeout, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	p := provider(t, db)
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const ts = "2026-01-01T00:00:00.000000000Z"
	for _, q := range []string{
		`INSERT INTO projects (id, user_id, name, created_at, updated_at) VALUES ('p1', 'projects-only', 'P', '` + ts + `', '` + ts + `')`,
		`INSERT INTO projects (id, user_id, name, created_at, updated_at) VALUES ('p2', 'both', 'P', '` + ts + `', '` + ts + `')`,
		`INSERT INTO tasks (id, user_id, name, created_at, updated_at) VALUES ('t1', 'tasks-only', 'T', '` + ts + `', '` + ts + `')`,
		`INSERT INTO tasks (id, user_id, name, created_at, updated_at) VALUES ('t2', 'tasks-only', 'T', '` + ts + `', '` + ts + `')`,
		`INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at) VALUES ('t3', 'both', 'p2', 'T', '` + ts + `', '` + ts + `')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	check := func(when string) {
		t.Helper()
		s, err := Open(ctx, path)
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
	if v := schemaVersion(t, path); v != latestMigration {
		t.Fatalf("schema version %d, want %d", v, latestMigration)
	}

	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := versionObjects(t, db); n != 0 {
		t.Fatalf("%d list version objects after the down migration, want none", n)
	}
	// The first schema works without them.
	if _, err := db.Exec(`DELETE FROM tasks WHERE user_id = 'nobody'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if n := versionObjects(t, db); n != 7 {
		t.Fatalf("%d list version objects after the up migration, want 7 (a table, 6 triggers)", n)
	}
	check("migrated down and up")
}

func TestListVersionOtherWriters(t *testing.T) {
	// Another process on the file (a second store stands for taskapi
	// seed) and plain SQL both move the version: the triggers, not the
	// store, keep it.
	a, path := open(t)
	b, err := Open(t.Context(), path)
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
		t.Fatalf("version %d after the other store's write, want 1", v)
	}

	// A task of another user in u's project (the schema allows it; the
	// store does not): deleting the project in SQL sets the task's
	// project_id NULL through the foreign key, which bumps its owner too.
	if _, err := a.write.Exec(`INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at)
		VALUES ('x', 'w', ?, 'T', 'c', 'u')`, p.ID); err != nil {
		t.Fatal(err)
	}
	u, w := listVersion(t, a, "u"), listVersion(t, a, "w")
	if w != 1 {
		t.Fatalf("version of w %d after an INSERT in SQL, want 1", w)
	}
	if _, err := a.write.Exec(`DELETE FROM projects WHERE id = ?`, p.ID); err != nil {
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
	if _, err := a.write.Exec(`UPDATE tasks SET user_id = 'u' WHERE id = 'x'`); err != nil {
		t.Fatal(err)
	}
	if nu, nw := listVersion(t, a, "u"), listVersion(t, a, "w"); nu <= u || nw <= w {
		t.Fatalf("versions of u and w %d, %d after a task moved from w to u, want more than %d, %d", nu, nw, u, w)
	}
}

func TestListVersionErrors(t *testing.T) {
	s, _ := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.ListVersion(ctx, "u"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ListVersion with a cancelled context: %v, want context.Canceled", err)
	}
	s.Close()
	if _, err := s.ListVersion(t.Context(), "u"); err == nil {
		t.Fatal("ListVersion on a closed store: no error")
	}
}

// TestListVersionsQuery checks the query batched reads share: several
// users at once, users without a version, and ids with a NUL byte (looked
// up alone, never through JSON, so "a\x00b" cannot pass for "a").
func TestListVersionsQuery(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	writes := map[string]int{"a": 1, "b": 3, "a\x00b": 2, `quote"d`: 1}
	for user, n := range writes {
		for range n {
			if err := s.CreateTask(ctx, &taskapi.Task{UserID: user, Name: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, users := range [][]string{
		{"a"}, {"a\x00b"}, {"a", "b", "a\x00b", `quote"d`, "nobody", "a\x00"},
	} {
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
}
