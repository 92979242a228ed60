// Package sqlite is the default store of the Task Manager API: tasks and
// projects in one SQLite file, through the pure-Go driver modernc.org/sqlite
// (so building needs no C compiler), in WAL mode with foreign keys on and a
// busy timeout, its schema kept by embedded, versioned migrations (goose).
//
// Every query is scoped by user id; a row of another user is reported
// exactly like a missing one.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/taskapi/taskapi"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultBusyTimeout is how long a write waits for another process's write
// lock on the file before it fails with EUNAVAILABLE.
const DefaultBusyTimeout = 5 * time.Second

// writeCacheKiB is the page cache of the write connection, in KiB. Under
// 64 concurrent creates, 8 MiB wrote as fast as 32 MiB (0.114 and 0.115 vs
// 0.110 and 0.093 of loadgen's bare handler) with 40 MiB less resident
// memory. (SQLite's default is 2 MiB.)
const writeCacheKiB = 8 << 10

// Store keeps tasks and projects in one SQLite database file. It is safe for
// concurrent use and implements taskapi.Store.
//
// SQLite lets one connection write at a time. The Store therefore holds two
// pools on the same file:
//
//   - write: a single connection (MaxOpenConns 1). Every write, and the
//     reads a write depends on (version checks, project ownership), runs
//     in a transaction on it, so writers of this process queue in Go
//     instead of failing with SQLITE_BUSY. Its transactions begin
//     IMMEDIATE (_txlock=immediate): they take the file's write lock up
//     front, so a transaction that reads and then writes can never meet
//     another process's writer halfway (the read-to-write upgrade that
//     SQLite answers with SQLITE_BUSY at once, without waiting); the busy
//     timeout covers other processes such as `taskapi seed`.
//   - read: a pool of query-only connections for Task, Tasks, Project and
//     Projects. In WAL mode they read a consistent snapshot and neither
//     block the writer nor wait for it.
//
// Both pools keep their statements prepared (see statements), so a call
// does not parse its SQL again.
type Store struct {
	read       *sql.DB
	write      *sql.DB
	readStmts  *statements
	writeStmts *statements
	ckpt       *checkpointer
	now        func() time.Time
	// writeTurns queues the writers for the write connection first come,
	// first served, where database/sql hands a freed connection to a
	// random waiter: under 64 concurrent POST /tasks the p99 went from 95
	// to 73 ms with it. (The same for the read pool made no difference
	// that could be measured.)
	writeTurns turns
	// issuer is the token issuer whose users' rows the methods act on
	// (ForIssuer); "" for the Store Open returns.
	issuer string
	// group, when set, runs inTx's transactions instead (see
	// newWriteGroup).
	group writeGroup
	// limits caps the rows of each user (WithLimits).
	limits taskapi.Limits
	// keyPolicy, keys and claim are the idempotency keys': their expiry
	// and cap, the keys requests of this process hold, and the claim whose
	// response the writes save (KeyClaim.Store; nil for other stores).
	keyPolicy taskapi.KeyPolicy
	keys      *keyLocks
	claim     *keyClaim
}

var _ taskapi.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	now                func() time.Time
	busyTimeout        time.Duration
	readConns          int
	checkpointInterval time.Duration
	walLimit           int64
	tick               <-chan time.Time // the checkpoints' clock, for tests
	limits             taskapi.Limits
	keyTTL             time.Duration
}

// WithNow sets the clock the store reads for created_at, updated_at and
// the completed_on of a task completed without a date (default time.Now).
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithBusyTimeout sets how long a statement waits for a lock held by
// another connection or process (default DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithReadConns sets the size of the read pool (default: GOMAXPROCS, at
// least 4).
func WithReadConns(n int) Option {
	return func(o *options) { o.readConns = n }
}

// WithLimits caps the tasks and projects of each user (default: no cap).
// A create over a cap is refused with ELIMIT; the check runs in the
// create's transaction, which holds the file's write lock, so concurrent
// creates never go over. It reads one row, the user's numbers of tasks and
// projects that triggers keep (row_counts): its cost does not grow with
// the user's rows.
func WithLimits(l taskapi.Limits) Option {
	return func(o *options) { o.limits = l }
}

// Open opens the database file at path, creating it when missing, and
// applies every pending migration. The caller must Close the store.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, busyTimeout: DefaultBusyTimeout, readConns: max(4, runtime.GOMAXPROCS(0)),
		checkpointInterval: DefaultCheckpointInterval, walLimit: DefaultWALLimit}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil || o.busyTimeout < 0 || o.readConns < 1 || o.checkpointInterval <= 0 || o.walLimit < 0 {
		return nil, errors.New("sqlite: invalid option: the clock must be set, the busy timeout and WAL limit not negative, the read pool at least 1, the checkpoint interval positive")
	}
	if err := o.limits.Check(); err != nil {
		return nil, fmt.Errorf("sqlite: invalid option: %w", err)
	}
	// No automatic checkpoint in a COMMIT: the checkpointer does them.
	// The statement journal that a write with triggers opens inside a
	// transaction (and the savepoints' journal) stays in memory rather
	// than in a temporary file that each such write created, wrote and
	// deleted (temp_store). The page cache is larger than the default
	// 2 MiB: the writes, and the merges of the text index above all, read
	// again from the file the pages that a small cache let go (with it,
	// 20-25% less CPU per POST /tasks under load, for about 30 MiB more
	// resident memory).
	write, err := openDB(path, o.busyTimeout, false, 1, "_pragma=wal_autocheckpoint(0)", "_pragma=temp_store(MEMORY)",
		"_pragma=cache_size(-"+strconv.Itoa(writeCacheKiB)+")")
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	// Statistics only: a database that cannot be written (read-only, full)
	// opens all the same, and says so at its first write.
	write.ExecContext(ctx, optimizeAtOpen)
	read, err := openDB(path, o.busyTimeout, true, o.readConns)
	if err != nil {
		write.Close()
		return nil, err
	}
	ckpt, err := newCheckpointer(ctx, path, o.walLimit, write, o.busyTimeout)
	if err != nil {
		read.Close()
		write.Close()
		return nil, mapError(ctx, "open", err)
	}
	s := &Store{read: read, write: write, readStmts: &statements{db: read}, writeStmts: &statements{db: write}, ckpt: ckpt, now: o.now, writeTurns: make(turns, 1), limits: o.limits,
		keyPolicy: taskapi.KeyPolicy{TTL: o.keyTTL, MaxPerUser: o.limits.IdempotencyKeys}, keys: &keyLocks{held: map[string]bool{}}}
	ckpt.index = s.indexText
	go ckpt.run(o.checkpointInterval, o.tick)
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, mapError(ctx, "open", err)
	}
	if err := s.writeStmts.prepare(ctx, writeQueries...); err != nil {
		s.Close()
		return nil, mapError(ctx, "open", err)
	}
	if newWriteGroup != nil {
		if s.group, err = newWriteGroup(s.write, s.writeStmts); err != nil {
			s.Close()
			return nil, mapError(ctx, "open", err)
		}
	}
	return s, nil
}

// Migrate applies every pending migration to the database file at path,
// creating it when missing, and closes it again: the `taskapi migrate`
// subcommand. Open migrates too, so a server needs no separate step.
// Running it on an up-to-date database changes nothing.
func Migrate(ctx context.Context, path string) error {
	db, err := openDB(path, DefaultBusyTimeout, false, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrate(ctx, db)
}

// openDB opens a pool of at most conns connections on the file at path,
// all kept open while idle, for as long as the pool (database/sql closes
// none for their age or idle time). Every connection gets the busy
// timeout and foreign keys; a writer also sets WAL mode (persistent in the
// file) and synchronous=NORMAL (durable in WAL mode except for the last
// transactions before a power loss, never corrupt); a reader is query-only.
func openDB(path string, busy time.Duration, readOnly bool, conns int, pragmas ...string) (*sql.DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: invalid database path %q: want a file name", path)
	}
	// A new database is readable by its owner only; SQLite gives its WAL
	// and shared-memory files the database file's permissions.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		f.Close()
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")",
		"_pragma=foreign_keys(1)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		q = append(q, "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)", "_txlock=immediate")
	}
	q = append(q, pragmas...)
	// A file: URI, so that a path holding '?' or '#' stays a path.
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	db, err := sql.Open("sqlite", "file:"+r.Replace(path)+"?"+strings.Join(q, "&"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// migrate brings the schema of db up to the newest embedded migration.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// Goose has no lock for SQLite. When two processes migrate a new file
	// at once (taskapi serve and taskapi migrate, say), the IMMEDIATE
	// transactions serialise each migration, and the loser fails on what
	// the winner created; trying again finds nothing left to do.
	for attempt := 1; ; attempt++ {
		_, err := p.Up(ctx)
		if err == nil {
			return nil
		}
		if pending, perr := p.HasPending(ctx); perr == nil && !pending {
			return nil
		}
		if attempt == 3 || ctx.Err() != nil {
			return mapError(ctx, "migrate", err)
		}
	}
}

// ForIssuer returns the store of issuer's users: the same pools, every
// query scoped by issuer as well as by user.
func (s *Store) ForIssuer(issuer string) taskapi.IssuerStore {
	v := *s
	v.issuer = issuer
	return &v
}

// Issuers returns the issuers that own tasks or projects, in order.
func (s *Store) Issuers(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s, "list issuers", func(r rowScanner) (iss string, err error) { return iss, r.Scan(&iss) },
		`SELECT issuer FROM tasks UNION SELECT issuer FROM projects ORDER BY 1`)
}

// AssignIssuer gives the rows without an issuer to issuer.
func (s *Store) AssignIssuer(ctx context.Context, issuer string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *tx) error {
		for _, table := range []string{"projects", "tasks"} {
			res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET issuer = ? WHERE issuer = ''`, issuer)
			if err != nil {
				return err
			}
			changed, err := res.RowsAffected()
			n += changed
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, mapError(ctx, "assign issuer", err)
}

// Ping reports whether the database answers a query on both pools.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.read, s.write} {
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return mapError(ctx, "ping", err)
		}
	}
	return nil
}

// Close stops the checkpoints, lets SQLite refresh its planner statistics
// (PRAGMA optimize, as it recommends before closing), and closes both
// pools and their statements. It waits for queries in progress.
func (s *Store) Close() error {
	ckptErr := s.ckpt.close()
	var groupErr error
	if s.group != nil {
		groupErr = s.group.close()
	}
	s.write.Exec(optimize) // statistics only: a failure loses nothing
	return errors.Join(ckptErr, groupErr, s.readStmts.close(), s.writeStmts.close(), s.read.Close(), s.write.Close())
}

// checkRoom refuses, with tooMany(limit), a create of a row of userID
// when the user has limit rows already, as count (qCountTasks,
// qCountProjects) finds them in tx; a limit of 0 is no cap, and costs
// nothing.
func (s *Store) checkRoom(tx *tx, count, userID string, limit int, tooMany func(int) *taskapi.Error) error {
	if limit == 0 {
		return nil
	}
	var n int
	if err := tx.queryRow(count, userID, s.issuer).Scan(&n); err != nil {
		return err
	}
	if n >= limit {
		return tooMany(limit)
	}
	return nil
}

// queryRow runs a query of at most one row on the read pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.readStmts.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// queryAll runs a query on the read pool and reads every row with scan;
// op names the query in its errors.
func queryAll[T any](ctx context.Context, s *Store, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	st, err := s.readStmts.get(ctx, query)
	if err != nil {
		return nil, mapError(ctx, op, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, mapError(ctx, op, err)
	}
	defer rows.Close()
	var all []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapError(ctx, op, err)
		}
		all = append(all, v)
	}
	return all, mapError(ctx, op, rows.Err())
}

// timeLayout is the stored form of a timestamp: UTC, fixed width, so the
// text sorts like the time.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a stored timestamp (timeLayout, or any RFC 3339 time
// written by another tool) in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func nullDate(d *taskapi.Date) any {
	if d == nil {
		return nil
	}
	return d.String()
}
