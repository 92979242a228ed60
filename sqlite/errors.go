package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/taskapi/taskapi"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// mapError turns an error of database/sql or the driver into the error the
// store answers with: a *taskapi.Error the service can show (wrapping the
// cause), the context's error when ctx is done, or a wrapped internal error.
// op names the operation for the log.
func mapError(ctx context.Context, op string, err error) error {
	if err == nil || errors.As(err, new(*taskapi.Error)) {
		return err
	}
	switch {
	case ctx.Err() != nil:
		// The driver reports an interrupted statement as SQLITE_INTERRUPT;
		// the caller wants to know why.
		return fmt.Errorf("sqlite: %s: %w", op, context.Cause(ctx))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("sqlite: %s: %w: %w", op, taskapi.Busy(), err)
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PERM:
			return fmt.Errorf("sqlite: %s: %w: %w", op, taskapi.Unavailable(), err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// isDuplicateID reports whether err is a duplicate id: the primary key of
// projects, the unique id of tasks (whose primary key is seq).
func isDuplicateID(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

// isForeignKeyViolation reports whether err is a broken foreign key.
func isForeignKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
