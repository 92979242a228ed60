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
// tried every lockPollInterval until it is free (or the context ends, or
// migrationLockTimeout passes). The lock belongs to the session, so it is
// released when the connection closes, even if the process dies.
//
// It polls rather than waits on the server (SELECT pg_advisory_lock): a
// session that waits there holds a snapshot for as long as it waits, and
// CREATE INDEX CONCURRENTLY, run by the migration that holds the lock,
// waits for every older snapshot of the database to end: the two would
// deadlock. A poll holds its snapshot for a moment only.
type sessionLocker struct{ id int64 }

// lockPollInterval is how often a waiting instance tries the lock.
const lockPollInterval = 50 * time.Millisecond

var _ lock.SessionLocker = sessionLocker{}

// SessionLock takes the lock on conn, waiting for it.
func (l sessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, migrationLockTimeout)
	defer cancel()
	for {
		var locked bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.id).Scan(&locked); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if locked {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("take the migration lock: %w", ctx.Err())
		case <-time.After(lockPollInterval):
		}
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
