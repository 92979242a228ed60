package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// open opens a store on a new file in t's temporary directory.
func open(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "taskapi.db")
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// pragma reads one pragma on db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s, _ := open(t, WithBusyTimeout(1234*time.Millisecond))
	for _, tc := range []struct {
		pool       string
		db         *sql.DB
		name, want string
	}{
		{"write", s.write, "journal_mode", "wal"},
		{"write", s.write, "foreign_keys", "1"},
		{"write", s.write, "busy_timeout", "1234"},
		{"write", s.write, "synchronous", "1"}, // NORMAL
		{"write", s.write, "query_only", "0"},
		{"write", s.write, "wal_autocheckpoint", "0"}, // the checkpointer's job
		{"write", s.write, "temp_store", "2"},         // MEMORY: no temporary file per statement journal
		{"write", s.write, "cache_size", "-8192"},     // KiB
		{"read", s.read, "journal_mode", "wal"},
		{"read", s.read, "foreign_keys", "1"},
		{"read", s.read, "busy_timeout", "1234"},
		{"read", s.read, "query_only", "1"},
	} {
		if got := pragma(t, tc.db, tc.name); got != tc.want {
			t.Errorf("%s pool: %s = %q, want %q", tc.pool, tc.name, got, tc.want)
		}
	}
	if _, err := s.read.Exec(`DELETE FROM tasks`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// latestMigration is the version of the newest embedded migration.
const latestMigration = 10

// schemaVersion returns the newest migration applied to the file.
func schemaVersion(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int64
	if err := db.QueryRow(`SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	// Migrate creates and migrates a new file; running it again changes nothing.
	path := filepath.Join(dir, "migrated.db")
	for range 2 {
		if err := Migrate(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	if v := schemaVersion(t, path); v != latestMigration {
		t.Fatalf("schema version %d after Migrate, want %d", v, latestMigration)
	}

	// Open on a migrated file, twice, keeps the data and the version.
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	task := &taskapi.Task{UserID: "u", Name: "survives"}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Task(ctx, "u", task.ID); err != nil {
		t.Fatalf("task after reopening: %v", err)
	}
	if v := schemaVersion(t, path); v != latestMigration {
		t.Fatalf("schema version %d after reopening, want %d", v, latestMigration)
	}

	// A path with URI characters stays a path.
	odd := filepath.Join(dir, "odd ?name#%20.db")
	if err := Migrate(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if v := schemaVersion(t, "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(odd)); v != latestMigration {
		t.Fatalf("schema version %d of %q, want %d", v, odd, latestMigration)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	// Processes that start together on a new file: each migrates it (own
	// pools, like separate processes), none fails, the schema is there once.
	path := filepath.Join(t.TempDir(), "new.db")
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() { errs <- Migrate(t.Context(), path) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if v := schemaVersion(t, path); v != latestMigration {
		t.Fatalf("schema version %d, want %d", v, latestMigration)
	}
}

func TestTwoStoresOneFile(t *testing.T) {
	// Two stores on one file stand for two processes (taskapi serve and
	// taskapi seed). Their read-then-write transactions begin IMMEDIATE, so
	// they queue on the file's lock (busy timeout) rather than fail with
	// SQLITE_BUSY when one upgrades a read snapshot the other has changed.
	a, path := open(t)
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	task := &taskapi.Task{UserID: "u", Name: "shared"}
	if err := a.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	const perStore = 10
	errs := make(chan error, 2*perStore)
	for i := range 2 * perStore {
		s := []*Store{a, b}[i%2]
		go func() {
			_, err := s.UpdateTask(ctx, "u", task.ID, taskapi.TaskUpdate{Completed: ptr(i%4 == 0)}, taskapi.Precondition{})
			errs <- err
		}()
	}
	for range 2 * perStore {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, s := range []*Store{a, b} {
		got, err := s.Task(ctx, "u", task.ID)
		if err != nil || got.Version != 1+2*perStore {
			t.Fatalf("after %d updates through two stores: %+v, %v", 2*perStore, got, err)
		}
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	for name, opt := range map[string]Option{
		"nil clock":             WithNow(nil),
		"negative busy timeout": WithBusyTimeout(-time.Second),
		"no read connections":   WithReadConns(0),
		"negative limit":        WithLimits(taskapi.Limits{Tasks: -1}),
	} {
		if s, err := Open(t.Context(), path, opt); err == nil {
			s.Close()
			t.Errorf("Open with a %s succeeded", name)
		}
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db"} {
		if s, err := Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestForeignKeySetsNull(t *testing.T) {
	// The foreign key is a backstop beneath DeleteProject's own update.
	s, _ := open(t)
	ctx := t.Context()
	p := &taskapi.Project{UserID: "u", Name: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	task := &taskapi.Task{UserID: "u", Name: "T", ProjectID: &p.ID}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`DELETE FROM projects WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Task(ctx, "u", task.ID)
	if err != nil || got.ProjectID != nil {
		t.Fatalf("task after its project went: %v, project %v", err, got.ProjectID)
	}
	if _, err := s.write.Exec(`INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at)
		VALUES ('x', 'u', 'no-such-project', 'n', 'c', 'u')`); err == nil {
		t.Fatal("a task with an unknown project was inserted: foreign keys are off")
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, s *Store, path string) // makes the next write fail
	}{
		{"read-only database", func(t *testing.T, s *Store, _ string) {
			if _, err := s.write.Exec(`PRAGMA query_only = 1`); err != nil {
				t.Fatal(err)
			}
		}},
		{"disk full", func(t *testing.T, s *Store, _ string) {
			// The file may not grow by a page: SQLITE_FULL.
			if _, err := s.write.Exec(`PRAGMA max_page_count = ` + pragma(t, s.write, "page_count")); err != nil {
				t.Fatal(err)
			}
		}},
		{"locked by another process", func(t *testing.T, _ *Store, path string) {
			other, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			other.SetMaxOpenConns(1)
			t.Cleanup(func() { other.Close() })
			conn, err := other.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.ExecContext(context.Background(), `ROLLBACK`); conn.Close() })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, path := open(t, WithBusyTimeout(50*time.Millisecond))
			ctx := t.Context()
			before := &taskapi.Task{UserID: "u", Name: "before"}
			if err := s.CreateTask(ctx, before); err != nil {
				t.Fatal(err)
			}
			tc.break_(t, s, path)
			var big strings.Builder
			for range 400 {
				big.WriteString("a description long enough to need new pages ")
			}
			err := s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "after", Description: ptr(big.String())})
			if taskapi.ErrorCode(err) != taskapi.EUNAVAILABLE {
				t.Fatalf("CreateTask: %v, want %s", err, taskapi.EUNAVAILABLE)
			}
			if msg := taskapi.ErrorMessage(err); strings.Contains(strings.ToLower(msg), "sqlite") {
				t.Errorf("client message %q names the driver", msg)
			}
			var cause interface{ Code() int }
			if !errors.As(err, &cause) {
				t.Errorf("error %v does not wrap the driver's error", err)
			}
			_, err = s.UpdateTask(ctx, "u", before.ID, taskapi.TaskUpdate{Name: ptr("changed"), Description: taskapi.Value(big.String())}, taskapi.Precondition{})
			if taskapi.ErrorCode(err) != taskapi.EUNAVAILABLE {
				t.Fatalf("UpdateTask: %v, want %s", err, taskapi.EUNAVAILABLE)
			}
			// Reads still work, and nothing was half-written.
			got, err := s.Task(ctx, "u", before.ID)
			if err != nil || got.Name != "before" || got.Version != 1 {
				t.Fatalf("task after the failed writes: %+v, %v", got, err)
			}
		})
	}
}

func TestCreateLeavesTaskUnchangedOnError(t *testing.T) {
	s, _ := open(t)
	in := &taskapi.Task{UserID: "u", Name: "T", ProjectID: ptr("missing")}
	if err := s.CreateTask(t.Context(), in); taskapi.ErrorCode(err) != taskapi.EINVALID {
		t.Fatalf("CreateTask: %v", err)
	}
	if in.ID != "" || !in.CreatedAt.IsZero() || in.Version != 0 {
		t.Fatalf("a failed CreateTask changed its argument: %+v", in)
	}
}

func TestSearchNonASCII(t *testing.T) {
	// Search folds case by Go's Unicode rules, not SQLite's ASCII-only
	// lower(); it lower-cases, it does not fully case-fold (ß is not SS).
	s, _ := open(t)
	ctx := t.Context()
	for _, name := range []string{"Éclair Straße", "ПРИВЕТ мир"} {
		if err := s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for search, want := range map[string]int{"éclair": 1, "ÉCLAIR": 1, "straße": 1, "STRASSE": 0, "привет": 1, "МИР": 1, "e": 1, "x": 0} {
		page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: "u", Search: search, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tasks) != want {
			t.Errorf("search %q: %d tasks, want %d", search, len(page.Tasks), want)
		}
	}
}

func TestPing(t *testing.T) {
	s, _ := open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a closed store succeeded")
	}
}

func ptr[T any](v T) *T { return &v }

// TestFilesPrivate: a new database, its WAL and its shared memory are
// readable by their owner only, whatever the umask.
func TestFilesPrivate(t *testing.T) {
	s, path := open(t)
	if err := s.CreateTask(t.Context(), &taskapi.Task{UserID: "auth0|private", Name: "secret plans"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(name), perm)
		}
	}
}
