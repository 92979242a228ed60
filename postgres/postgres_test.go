package postgres

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// open opens a store on a fresh schema of the test server (see pgtest) and
// returns it with its URL.
func open(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	url := pgtest.Schema(t)
	s, err := Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, url
}

// admin connects to url for a test's own statements.
func admin(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// latestMigration is the version of the newest embedded migration.
const latestMigration = 10

// schemaVersion returns the newest migration applied in url's schema.
func schemaVersion(t *testing.T, url string) int64 {
	t.Helper()
	var v int64
	if err := admin(t, url).QueryRow(t.Context(), `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// columns returns "table.column type" for every column of url's schema.
func columns(t *testing.T, url string) []string {
	t.Helper()
	rows, err := admin(t, url).Query(t.Context(), `SELECT table_name || '.' || column_name || ' ' || data_type
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ('tasks', 'projects')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var wantColumns = []string{
	"projects.created_at timestamp with time zone", "projects.description text", "projects.id text", "projects.issuer text", "projects.name text",
	"projects.updated_at timestamp with time zone", "projects.user_id text", "projects.version bigint",
	"tasks.completed_on timestamp with time zone", "tasks.created_at timestamp with time zone", "tasks.description text",
	"tasks.due_date date", "tasks.id text", "tasks.issuer text", "tasks.name text", "tasks.project_id text",
	"tasks.updated_at timestamp with time zone", "tasks.user_id text", "tasks.version bigint",
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	// Migrate creates the schema's tables; running it again changes nothing.
	for range 2 {
		if err := Migrate(ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	if v := schemaVersion(t, url); v != latestMigration {
		t.Fatalf("schema version %d after Migrate, want %d", v, latestMigration)
	}
	if got := columns(t, url); !slices.Equal(got, wantColumns) {
		t.Fatalf("columns\n got %q\nwant %q", got, wantColumns)
	}
	// Open on a migrated schema, twice, keeps the data and the version.
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	task := &taskapi.Task{UserID: "u", Name: "survives"}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Task(ctx, "u", task.ID); err != nil {
		t.Fatalf("task after reopening: %v", err)
	}
	if v := schemaVersion(t, url); v != latestMigration {
		t.Fatalf("schema version %d after reopening, want %d", v, latestMigration)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	// Instances that start together on a fresh schema: each migrates it
	// (own connections, like separate processes), none fails, the schema
	// is there once.
	url := pgtest.Schema(t)
	const instances = 4
	start := make(chan struct{})
	errs := make(chan error, instances)
	for range instances {
		go func() {
			<-start
			errs <- Migrate(t.Context(), url)
		}()
	}
	close(start)
	for range instances {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if v := schemaVersion(t, url); v != latestMigration {
		t.Fatalf("schema version %d, want %d", v, latestMigration)
	}
	for m := 1; m <= latestMigration; m++ {
		var applied int
		if err := admin(t, url).QueryRow(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id = $1`, m).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if applied != 1 {
			t.Fatalf("migration %d recorded %d times, want once", m, applied)
		}
	}
	if got := columns(t, url); !slices.Equal(got, wantColumns) {
		t.Fatalf("columns\n got %q\nwant %q", got, wantColumns)
	}
}

func TestMigrationWaitsForTheLock(t *testing.T) {
	// While another session holds the migration lock, Migrate waits (here
	// until its context ends) rather than migrating beside it.
	url := pgtest.Schema(t)
	conn := admin(t, url)
	// Taken as the store takes it, by polling: a session waiting on the
	// server would deadlock with another test's CREATE INDEX CONCURRENTLY.
	for locked := false; !locked; time.Sleep(50 * time.Millisecond) {
		if err := conn.QueryRow(t.Context(), `SELECT pg_try_advisory_lock($1)`, migrationLockID).Scan(&locked); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := Migrate(ctx, url); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Migrate while the lock is held: %v, want context.DeadlineExceeded", err)
	}
	// goose creates its version table before it takes the lock (and
	// retries when instances race to create it); the migrations wait.
	var tables []string
	rows, err := conn.Query(t.Context(), `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`)
	if err == nil {
		tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(tables) != 0 {
		t.Fatalf("tables %v (%v) created while another session held the lock", tables, err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, migrationLockID); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate after the lock was released: %v", err)
	}
}

func TestMigrationWaitsBesideConcurrentIndexBuild(t *testing.T) {
	// A migration that builds an index with CREATE INDEX CONCURRENTLY
	// waits for every transaction running when it starts. An instance
	// waiting for the migration lock must not be one of them for long, or
	// the two wait for each other until PostgreSQL reports a deadlock.
	holder := admin(t, pgtest.Schema(t))
	if _, err := holder.Exec(t.Context(), `CREATE TABLE t (n int)`); err != nil {
		t.Fatal(err)
	}
	for locked := false; !locked; time.Sleep(50 * time.Millisecond) { // polled, as the store does
		if err := holder.QueryRow(t.Context(), `SELECT pg_try_advisory_lock($1)`, migrationLockID).Scan(&locked); err != nil {
			t.Fatal(err)
		}
	}
	waiter := make(chan error, 1)
	go func() { waiter <- Migrate(t.Context(), pgtest.Schema(t)) }()
	time.Sleep(300 * time.Millisecond) // the waiter is polling for the lock
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := holder.Exec(ctx, `CREATE INDEX CONCURRENTLY t_n ON t (n)`); err != nil {
		t.Fatalf("index build while another instance waits for the migration lock: %v", err)
	}
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, migrationLockID); err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; err != nil {
		t.Fatalf("Migrate after the lock was released: %v", err)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// wantUnavailable fails the test unless err is EUNAVAILABLE, with a
// message that names no driver, wrapping the cause.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if taskapi.ErrorCode(err) != taskapi.EUNAVAILABLE {
		t.Fatalf("error %v: code %q, want %s", err, taskapi.ErrorCode(err), taskapi.EUNAVAILABLE)
	}
	if msg := taskapi.ErrorMessage(err); strings.Contains(strings.ToLower(msg), "postgres") || strings.Contains(msg, "pgx") {
		t.Errorf("client message %q names the driver", msg)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) && !isConnectionError(err) {
		t.Errorf("error %v does not wrap the driver's error", err)
	}
}

func TestUnreachable(t *testing.T) {
	// A server that is not there answers at once with EUNAVAILABLE.
	url := "postgres://postgres@" + closedPort(t) + "/test?sslmode=disable&connect_timeout=2"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // an upper bound, not a timing
	defer cancel()
	_, err := Open(ctx, url)
	wantUnavailable(t, err)
	var connectErr *pgconn.ConnectError
	if !errors.As(err, &connectErr) {
		t.Errorf("error %v does not wrap pgconn's ConnectError", err)
	}
	wantUnavailable(t, Migrate(ctx, url))
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		// breakStore makes the store's next call fail; read reports
		// whether reads fail too.
		breakStore func(t *testing.T, s *Store, url string)
		read       bool
	}{
		{"connection terminated (server shutdown)", func(t *testing.T, s *Store, url string) {
			// The pool's one connection is ended by the server, as on a
			// restart: SQLSTATE 57P01 or a closed connection.
			var pid int
			if err := s.pool.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				t.Fatal(err)
			}
			var done bool
			if err := admin(t, url).QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&done); err != nil || !done {
				t.Fatalf("terminate backend %d: %v, %v", pid, done, err)
			}
		}, true},
		{"read-only database", func(t *testing.T, s *Store, url string) {
			if _, err := s.pool.Exec(t.Context(), `SET default_transaction_read_only = on`); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.Schema(t)
			s, err := Open(t.Context(), url+"&pool_max_conns=1")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := t.Context()
			before := &taskapi.Task{UserID: "u", Name: "before"}
			if err := s.CreateTask(ctx, before); err != nil {
				t.Fatal(err)
			}
			tc.breakStore(t, s, url)
			if tc.read {
				_, err := s.Task(ctx, "u", before.ID)
				wantUnavailable(t, err)
			} else {
				_, err := s.UpdateTask(ctx, "u", before.ID, taskapi.TaskUpdate{Name: ptr("changed")}, taskapi.Precondition{})
				wantUnavailable(t, err)
				wantUnavailable(t, s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "after"}))
			}
			// The store recovers or still reads, and nothing was half-written.
			got, err := s.Task(ctx, "u", before.ID)
			if err != nil || got.Name != "before" || got.Version != 1 {
				t.Fatalf("task after the failure: %+v, %v", got, err)
			}
		})
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	// An update that waits for a row lock held elsewhere ends when its
	// context does, and reports the context's error.
	s, url := open(t)
	ctx := t.Context()
	in := &taskapi.Task{UserID: "u", Name: "locked"}
	if err := s.CreateTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	holder := admin(t, url)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE`, in.ID); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []error{context.DeadlineExceeded, context.Canceled} {
		var wctx context.Context
		var cancel context.CancelFunc
		if reason == context.DeadlineExceeded {
			wctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
		} else {
			wctx, cancel = context.WithCancel(ctx)
			time.AfterFunc(200*time.Millisecond, cancel)
		}
		_, err := s.UpdateTask(wctx, "u", in.ID, taskapi.TaskUpdate{Name: ptr("waited")}, taskapi.Precondition{})
		cancel()
		if !errors.Is(err, reason) {
			t.Fatalf("UpdateTask behind a lock: %v, want %v", err, reason)
		}
		// A deadline that passes while the database keeps the statement
		// waiting is the database's doing: 503. A caller that gave up
		// (cancelled) is not.
		var apiErr *taskapi.Error
		unavailable := errors.As(err, &apiErr) && apiErr.Code == taskapi.EUNAVAILABLE
		if want := reason == context.DeadlineExceeded; unavailable != want {
			t.Fatalf("UpdateTask behind a lock, %v: %v; EUNAVAILABLE %v, want %v", reason, err, unavailable, want)
		}
	}
	tx.Rollback(ctx)
	// The store still works, and the task is as it was.
	got, err := s.Task(ctx, "u", in.ID)
	if err != nil || got.Name != "locked" || got.Version != 1 {
		t.Fatalf("task after the cancelled updates: %+v, %v", got, err)
	}
}

func TestTimestampsAreMicroseconds(t *testing.T) {
	// PostgreSQL keeps microseconds: the store truncates every time it
	// stores, so what it returns equals what it reads back later.
	at := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.FixedZone("X", 7200))
	s, _ := open(t, WithNow(func() time.Time { return at }))
	ctx := t.Context()
	done := at.Add(-time.Hour)
	in := &taskapi.Task{UserID: "u", Name: "t", CompletedOn: &done}
	if err := s.CreateTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 5, 1, 8, 0, 0, 123456000, time.UTC)
	if in.CreatedAt != want || in.UpdatedAt != want || *in.CompletedOn != want.Add(-time.Hour) {
		t.Fatalf("CreateTask set created %v, updated %v, completed %v; want %v (UTC, microseconds)", in.CreatedAt, in.UpdatedAt, in.CompletedOn, want)
	}
	got, err := s.Task(ctx, "u", in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt != in.CreatedAt || got.UpdatedAt != in.UpdatedAt || *got.CompletedOn != *in.CompletedOn {
		t.Fatalf("read back %v %v %v, stored %v %v %v", got.CreatedAt, got.UpdatedAt, got.CompletedOn, in.CreatedAt, in.UpdatedAt, in.CompletedOn)
	}
	p := &taskapi.Project{UserID: "u", Name: "p"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.CreatedAt != want {
		t.Fatalf("project created %v, want %v", p.CreatedAt, want)
	}
}

func TestNULCharacter(t *testing.T) {
	// PostgreSQL text cannot hold U+0000: the store refuses such input as
	// a client's error, never a 500, and ids with one are simply not found.
	s, _ := open(t)
	ctx := t.Context()
	in := &taskapi.Task{UserID: "u", Name: "ok"}
	if err := s.CreateTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	nul := "a\x00b"
	for _, tc := range []struct {
		field string
		err   error
	}{
		{"name", s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: nul})},
		{"description", s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "n", Description: &nul})},
		{"id", s.CreateTask(ctx, &taskapi.Task{ID: nul, UserID: "u", Name: "n"})},
		{"name", s.CreateProject(ctx, &taskapi.Project{UserID: "u", Name: nul})},
		{"name", func() error {
			_, err := s.UpdateTask(ctx, "u", in.ID, taskapi.TaskUpdate{Name: &nul}, taskapi.Precondition{})
			return err
		}()},
	} {
		var e *taskapi.Error
		if !errors.As(tc.err, &e) || e.Code != taskapi.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("%s with NUL: %v, want EINVALID on %s", tc.field, tc.err, tc.field)
		}
	}
	if _, err := s.Task(ctx, "u", nul); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
		t.Errorf("Task with a NUL id: %v", err)
	}
	if err := s.DeleteProject(ctx, nul, "x", taskapi.Precondition{}); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
		t.Errorf("DeleteProject of a NUL user: %v", err)
	}
	page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: "u", Search: nul, Limit: 5})
	if err != nil || len(page.Tasks) != 0 {
		t.Errorf("search with NUL: %+v, %v", page, err)
	}
	_, err = s.Tasks(ctx, taskapi.TaskFilter{UserID: "u", Limit: 5, Sort: taskapi.Sort{Field: taskapi.SortName}, After: &taskapi.Cursor{Value: &nul, ID: "x"}})
	if taskapi.ErrorCode(err) != taskapi.EBADREQUEST {
		t.Errorf("cursor with NUL: %v", err)
	}
}

func TestForeignKeySetsNull(t *testing.T) {
	// The foreign key is a backstop beneath DeleteProject's own update.
	s, url := open(t)
	ctx := t.Context()
	p := &taskapi.Project{UserID: "u", Name: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	task := &taskapi.Task{UserID: "u", Name: "T", ProjectID: &p.ID}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	conn := admin(t, url)
	if _, err := conn.Exec(ctx, `DELETE FROM projects WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Task(ctx, "u", task.ID)
	if err != nil || got.ProjectID != nil {
		t.Fatalf("task after its project went: %v, project %v", err, got.ProjectID)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, project_id, name, created_at, updated_at)
		VALUES ('x', 'u', 'no-such-project', 'n', now(), now())`); !isViolation(err, foreignKeyViolation) {
		t.Fatalf("a task with an unknown project: %v, want a foreign key violation", err)
	}
}

func TestConflictWrapsCause(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	if err := s.CreateTask(ctx, &taskapi.Task{ID: "dup", UserID: "u", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateTask(ctx, &taskapi.Task{ID: "dup", UserID: "u", Name: "b"})
	var pgErr *pgconn.PgError
	if taskapi.ErrorCode(err) != taskapi.ECONFLICT || !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
		t.Fatalf("duplicate id: %v, want ECONFLICT wrapping SQLSTATE %s", err, uniqueViolation)
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

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		opts      []Option
		secret    string
	}{
		{"malformed URL keeps the password out", "postgres://user:hunter2@127.0.0.1:notaport/db", nil, "hunter2"},
		{"bad pool size", "postgres://postgres@127.0.0.1/test?pool_max_conns=zero", nil, ""},
		{"nil clock", pgtest.DefaultURL, []Option{WithNow(nil)}, ""},
		{"negative limit", pgtest.DefaultURL, []Option{WithLimits(taskapi.Limits{Projects: -1})}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.url, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
	// pool_max_conns in the URL sizes the pool.
	url := pgtest.Schema(t)
	s, err := Open(t.Context(), url+"&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.pool.Config().MaxConns; got != 3 {
		t.Fatalf("MaxConns = %d, want 3", got)
	}
	if got := s.pool.Config().ConnConfig.ConnectTimeout; got != DefaultConnectTimeout {
		t.Fatalf("ConnectTimeout = %v, want %v", got, DefaultConnectTimeout)
	}
}

func TestTwoStoresOneSchema(t *testing.T) {
	// Two stores (two instances) on one schema: a write through one is
	// read through the other at once, and their concurrent updates of one
	// task all count.
	url := pgtest.Schema(t)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	ctx := t.Context()
	in := &taskapi.Task{UserID: "u", Name: "shared"}
	if err := stores[0].CreateTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := stores[i%2].UpdateTask(ctx, "u", in.ID, taskapi.TaskUpdate{Completed: ptr(i%2 == 0)}, taskapi.Precondition{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, s := range stores {
		if got, err := s.Task(ctx, "u", in.ID); err != nil || got.Version != 1+n {
			t.Fatalf("after %d updates through two stores: %+v, %v; want version %d", n, got, err, 1+n)
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

func TestDisplayURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:s3cret@db.example:6543/tasks?sslmode=require&pool_max_conns=20", "postgres://app@db.example:6543/tasks"},
		{"postgresql://app@127.0.0.1/tasks", "postgres://app@127.0.0.1:5432/tasks"},
		{"host=db.example user=app password=s3cret dbname=tasks", "postgres://app@db.example:5432/tasks"},
		{"postgres://app:s3cret@[::1]:5432/tasks", "postgres://app@[::1]:5432/tasks"},
		{"postgres://app:s3cret@db.example:port/tasks", "postgres://(invalid URL)"},
	} {
		if got := DisplayURL(tc.in); got != tc.want {
			t.Errorf("DisplayURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSearchFoldCollation(t *testing.T) {
	// The migrations fix the collation search lower-cases in: ICU's root
	// locale when the server has ICU (it lower-cases by Unicode's rules),
	// else the database's LC_CTYPE; a database whose LC_CTYPE is C
	// lower-cases ASCII only.
	s, url := open(t)
	var icu bool
	var provider string
	conn := admin(t, url)
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), `SELECT collprovider FROM pg_collation WHERE collname = 'taskapi_fold' AND collnamespace = current_schema()::regnamespace`).Scan(&provider); err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{true: "i", false: "c"}[icu]; provider != want {
		t.Fatalf("taskapi_fold has provider %q, want %q (ICU %v)", provider, want, icu)
	}
	if !icu {
		t.Skip("no ICU: search folds as the database's LC_CTYPE does")
	}
	ctx := t.Context()
	if err := s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "Crème BRÛLÉE", Description: ptr("Привет, Мир")}); err != nil {
		t.Fatal(err)
	}
	for search, want := range map[string]int{"brûlée": 1, "CRÈME": 1, "мир": 1, "ü": 0, "%": 0, "_": 0, `\`: 0} {
		page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: "u", Search: search, Limit: 5})
		if err != nil || len(page.Tasks) != want {
			t.Errorf("search %q: %v, %v; want %d tasks", search, page, err, want)
		}
	}
}

func TestTransactionRetriedAfterDeadlock(t *testing.T) {
	// A transaction the server aborts as a deadlock victim or for a
	// serialization failure runs again, at most maxTxAttempts times; any
	// other error ends it at once.
	s, _ := open(t)
	deadlock := &pgconn.PgError{Code: deadlockDetected}
	for _, tc := range []struct {
		name         string
		failures     int
		err          error
		wantAttempts int
		wantErr      bool
	}{
		{"one deadlock", 1, deadlock, 2, false},
		{"serialization failures", maxTxAttempts - 1, &pgconn.PgError{Code: serializationFailure}, maxTxAttempts, false},
		{"deadlocks every time", 100, deadlock, maxTxAttempts, true},
		{"another error", 100, &pgconn.PgError{Code: uniqueViolation}, 1, true},
		{"a client error", 100, taskapi.TaskChanged(), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts := 0
			err := s.inTx(t.Context(), func(tx pgx.Tx) error {
				attempts++
				if _, err := tx.Exec(t.Context(), `SELECT 1`); err != nil {
					return err
				}
				if attempts <= tc.failures {
					return tc.err
				}
				return nil
			})
			if attempts != tc.wantAttempts || (err != nil) != tc.wantErr {
				t.Fatalf("%d attempts, error %v; want %d attempts, error %v", attempts, err, tc.wantAttempts, tc.wantErr)
			}
		})
	}
}

// TestAssignIssuerDefault: after AssignIssuer, a row written without an
// issuer, as an instance of the previous release writes it during a
// rolling upgrade, is the assigned issuer's.
func TestAssignIssuerDefault(t *testing.T) {
	s, url := open(t)
	if _, err := s.AssignIssuer(t.Context(), "https://tenant.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin(t, url).Exec(t.Context(), `INSERT INTO tasks (id, user_id, name, created_at, updated_at, version)
		VALUES ('old-release', 'auth0|u', 'written by the previous release', now(), now(), 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ForIssuer("https://tenant.example.com").Task(t.Context(), "auth0|u", "old-release"); err != nil {
		t.Fatalf("the row the previous release wrote: %v", err)
	}
}
