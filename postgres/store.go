// Package postgres is the PostgreSQL store of the Task Manager API, for
// several taskapi instances behind a load balancer on one database. It
// behaves exactly like the SQLite store (package sqlite): both pass the one
// contract suite, storetest.
//
// It talks to PostgreSQL through a pgx v5 connection pool (pgxpool). Every
// statement is prepared: pgx's default query mode
// (QueryExecModeCacheStatement) prepares each distinct SQL text once per
// connection and keeps it in a per-connection cache, so the store does not
// hand-roll statement preparation. Every query is scoped by user id; a row
// of another user is reported exactly like a missing one. Every call honours
// its context: a cancelled context cancels the statement on the server.
//
// The schema is kept by embedded, versioned migrations (goose), applied
// under a session advisory lock, so instances that start together on one
// database migrate it once. The store keeps no state in the process that
// another instance would need: versions, ETags and page cursors all come
// from the rows.
//
// Differences from SQLite that a client can see: timestamps are kept to the
// microsecond (PostgreSQL's timestamptz), and text may not contain the NUL
// character (U+0000), which PostgreSQL cannot store: a task or project with
// one is refused with EINVALID on the field, and an id with one is not found.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/taskapi/taskapi"
)

// DefaultConnectTimeout bounds the opening of one connection when the URL
// sets no connect_timeout, so that a database that does not answer is
// reported as EUNAVAILABLE instead of hanging a request.
const DefaultConnectTimeout = 5 * time.Second

// Store keeps tasks and projects in a PostgreSQL database. It is safe for
// concurrent use and implements taskapi.Store.
//
// Writes that read first (update, delete) run in a transaction that locks
// the row (SELECT … FOR UPDATE), so concurrent writers of one row queue on
// the database, across every instance, and none applies its change to a
// stale copy.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// issuer is the token issuer whose users' rows the methods act on
	// (ForIssuer); "" for the Store Open returns.
	issuer string
	// limits caps the rows of each user (WithLimits).
	limits taskapi.Limits
	// keyPolicy is the expiry and cap of idempotency keys. A store of
	// KeyClaim.Store has the claim whose response its writes save, and
	// runs every statement on the claim's connection, pinned.
	keyPolicy taskapi.KeyPolicy
	claim     *keyClaim
	pinned    *pgxpool.Conn
}

var _ taskapi.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	now    func() time.Time
	limits taskapi.Limits
	keyTTL time.Duration
}

// WithNow sets the clock the store reads for created_at, updated_at and
// the completed_on of a task completed without a date (default time.Now).
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Open connects to the database at url (postgres://… or postgresql://…, or
// any connection string pgx accepts), applies every pending migration and
// returns the store. The caller must Close it.
//
// The URL configures the pool as pgxpool.ParseConfig documents:
// pool_max_conns (default: 4, or the number of CPUs when more),
// pool_min_conns, pool_max_conn_lifetime, pool_max_conn_idle_time,
// connect_timeout (default DefaultConnectTimeout), and any run-time
// parameter such as search_path, which selects the schema the tables live
// in. A database that cannot be reached gives an EUNAVAILABLE error.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("postgres: invalid option: the clock must be set")
	}
	if err := o.limits.Check(); err != nil {
		return nil, fmt.Errorf("postgres: invalid option: %w", err)
	}
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, mapError(ctx, "open", err)
	}
	return &Store{pool: pool, now: o.now, limits: o.limits, keyPolicy: taskapi.KeyPolicy{TTL: o.keyTTL, MaxPerUser: o.limits.IdempotencyKeys}}, nil
}

// Migrate applies every pending migration to the database at url and
// disconnects: the `taskapi migrate` subcommand. Open migrates too, so a
// server needs no separate step. Running it on an up-to-date database
// changes nothing; instances running it at once are safe (an advisory
// lock serialises them).
func Migrate(ctx context.Context, url string) error {
	cfg, err := parseConfig(url)
	if err != nil {
		return err
	}
	return migrate(ctx, cfg.ConnConfig)
}

// DisplayURL returns the database url names in a form safe for logs and
// error messages: postgres://user@host:port/database, without the password
// or any other parameter; "postgres://(invalid URL)" when url does not
// parse.
func DisplayURL(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "postgres://(invalid URL)"
	}
	host := cfg.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "/") {
		host = "[" + host + "]" // an IPv6 address
	}
	return "postgres://" + cfg.User + "@" + host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database
}

// parseConfig reads a connection string. Its error never repeats the
// string: it may hold a password.
func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's ParseConfigError redacts the password of the string.
		return nil, fmt.Errorf("postgres: invalid database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	return cfg, nil
}

// ForIssuer returns the store of issuer's users: the same pool, every
// query scoped by issuer as well as by user.
func (s *Store) ForIssuer(issuer string) taskapi.IssuerStore {
	v := *s
	v.issuer = issuer
	return &v
}

// Issuers returns the issuers that own tasks or projects, in order.
func (s *Store) Issuers(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s, "list issuers", pgx.RowTo[string], `SELECT issuer FROM tasks UNION SELECT issuer FROM projects ORDER BY 1`)
}

// queryAll runs a query and reads every row with scan; op names the query
// in its errors.
func queryAll[T any](ctx context.Context, s *Store, op string, scan pgx.RowToFunc[T], query string, args ...any) ([]T, error) {
	rows, err := s.q().Query(ctx, query, args...)
	if err != nil {
		return nil, mapError(ctx, op, err)
	}
	all, err := pgx.CollectRows(rows, scan)
	return all, mapError(ctx, op, err)
}

// scanRow adapts scan to queryAll.
func scanRow[T any](scan func(rowScanner) (T, error)) pgx.RowToFunc[T] {
	return func(row pgx.CollectableRow) (T, error) { return scan(row) }
}

// AssignIssuer gives the rows without an issuer to issuer, in one
// transaction, and makes issuer the column's default: during a rolling
// upgrade, instances of the previous release, which write no issuer, then
// write rows of the deployment's issuer.
func (s *Store) AssignIssuer(ctx context.Context, issuer string) (int64, error) {
	if unstorable(issuer) {
		return 0, fmt.Errorf("postgres: assign issuer: %q is not storable text", issuer)
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, table := range []string{"projects", "tasks"} {
			tag, err := tx.Exec(ctx, `UPDATE `+table+` SET issuer = $1 WHERE issuer = ''`, issuer)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
			var alter string
			if err := tx.QueryRow(ctx, `SELECT format('ALTER TABLE %I ALTER COLUMN issuer SET DEFAULT %L', $1::text, $2::text)`, table, issuer).Scan(&alter); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, alter); err != nil {
				return err
			}
		}
		return nil
	})
	return n, mapError(ctx, "assign issuer", err)
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return mapError(ctx, "ping", err)
	}
	return nil
}

// Close closes the pool. It waits for the connections in use to be
// returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// maxTxAttempts is how often a transaction is tried when the database
// aborts it as a deadlock victim or a serialization failure, which a retry
// resolves.
const maxTxAttempts = 3

// inTx runs fn in a transaction and commits when fn returns nil. A
// transaction the database aborted as a deadlock victim is tried again. A
// COMMIT that was sent but not answered may have committed (committing).
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.onConn(ctx, func(q querier) error {
			tx, err := q.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if err := fn(tx); err != nil {
				return err
			}
			return committing(tx.Commit(ctx))
		})
		s.keyTxDone(err == nil)
		if err == nil || attempt == maxTxAttempts || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

// querier runs statements: the pool, a connection of it, a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// q returns what the store's statements run on: the pinned connection of
// a key claim's store, else the pool.
func (s *Store) q() querier {
	if s.pinned != nil {
		return s.pinned
	}
	return s.pool
}

// onConn runs fn on one connection: the pinned one, or one of the pool.
// An error in getting a connection sent nothing.
func (s *Store) onConn(ctx context.Context, fn func(q querier) error) error {
	if s.pinned != nil {
		return fn(s.pinned)
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(c)
}

// updateRow runs query, the UPDATE of the row id (a task or a project:
// what) that the transaction locked and read at *version, and makes sure
// it changed that one row: the lock kept it from changing since; the
// version in WHERE makes sure. *version then grows by one.
func updateRow(ctx context.Context, tx pgx.Tx, what, id string, version *int64, query string, args ...any) error {
	tag, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n := tag.RowsAffected(); n != 1 {
		return fmt.Errorf("%s %s changed under a row lock (rows %d)", what, id, n)
	}
	*version++
	return nil
}

// nowMicro returns the store's time as stored: UTC, truncated to microseconds.
func (s *Store) nowMicro() time.Time { return micro(s.now()) }

// micro returns t as PostgreSQL keeps it: UTC, to the microsecond.
// Truncating (PostgreSQL itself would round) keeps an instant that the
// store hands back equal to the one it stored.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dateArg is the argument of a date column.
func dateArg(d *taskapi.Date) any {
	if d == nil {
		return nil
	}
	return pgtype.Date{Time: d.Time(), Valid: true}
}

// timeArg is the argument of a nullable timestamptz column.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micro(*t)
}

// unstorable reports whether any of ss is text PostgreSQL cannot store:
// U+0000, or bytes that are not UTF-8 (an id from a path such as
// /tasks/%ff). No row holds such text, so a lookup by it finds nothing.
func unstorable(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return true
		}
	}
	return false
}

// nulFields returns an EINVALID error naming each text field of a row that
// holds U+0000, or nil.
func nulFields(fields map[string]*string) error {
	var errs []taskapi.FieldError
	for _, name := range []string{"id", "user_id", "project_id", "name", "description"} {
		if v, ok := fields[name]; ok && v != nil && strings.IndexByte(*v, 0) >= 0 {
			errs = append(errs, taskapi.FieldError{Field: name, Message: "must not contain the NUL character"})
		}
	}
	if len(errs) > 0 {
		return taskapi.ValidationError(errs...)
	}
	return nil
}
