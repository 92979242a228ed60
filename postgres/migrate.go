package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the key of the session advisory lock that migrations
// run under (the first 8 bytes of "taskapi!" read as a big-endian int64).
// Advisory locks are per database, so migrations of every schema of a
// database queue on it; they take milliseconds.
const migrationLockID int64 = 0x7461736b61706921

// migrationLockTimeout bounds the wait for another instance's migrations.
const migrationLockTimeout = 5 * time.Minute

// migrate brings the schema up to the newest embedded migration, on a
// connection of its own (database/sql over pgx, as goose needs), under the
// migration lock.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	db := stdlib.OpenDB(*cfg.Copy())
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(sessionLocker{id: migrationLockID}))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// A CREATE INDEX CONCURRENTLY waits for every older transaction of
	// the database; one that waits for this session in turn (a program
	// waiting on the migration lock with pg_advisory_lock, say) deadlocks
	// with it, and the server may abort either. The migrations can run
	// again from where they stopped, so they are tried again.
	for attempt := 1; ; attempt++ {
		_, err := p.Up(ctx)
		if err == nil {
			return nil
		}
		if attempt == maxTxAttempts || !isRetryable(err) || ctx.Err() != nil {
			return mapError(ctx, "migrate", err)
		}
	}
}

// sessionLocker is goose's session lock as a PostgreSQL advisory lock,
// polled with pg_try_advisory_lock: an instance that finds the lock taken
// retries after a short pause (50 ms, doubling up to 500 ms) until it is
// free, its context ends or migrationLockTimeout passes. It never waits
// inside one long statement, because a migration that builds an index with
// CREATE INDEX CONCURRENTLY waits for every transaction that is running
// when it starts, a blocked pg_advisory_lock call included: the two would
// wait for each other until PostgreSQL's deadlock detector broke one. The
// lock belongs to the session, so it is released when the connection
// closes, even if the process dies.
type sessionLocker struct{ id int64 }

var _ lock.SessionLocker = sessionLocker{}

// SessionLock takes the lock on conn, waiting for it while another session
// holds it.
func (l sessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, migrationLockTimeout)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		var taken bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.id).Scan(&taken); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if taken {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("take the migration lock: another instance held it for %v: %w", migrationLockTimeout, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// SessionUnlock releases the lock on conn.
func (l sessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id).Scan(&released); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	if !released {
		return fmt.Errorf("release the migration lock: it was not held")
	}
	return nil
}
