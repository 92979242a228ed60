package storesql

import (
	"context"
	"database/sql"
	"errors"

	"github.com/taskapi/taskapi"
)

// The writes that read their row first (an update, a delete) run in one
// transaction of the store, whose inTx the functions below take: they read
// the row, or just its version; answer ENOTFOUND when there is none and
// EPRECONDITION when the taskapi.Precondition does not hold; then write.

// Row is a task or a project read for a write (taskapi.Task.Check).
type Row interface {
	Check(p taskapi.Precondition) error
}

// Scanner is a row of a query: a *sql.Row, a pgx.Row.
type Scanner interface {
	Scan(dest ...any) error
}

// Update changes one row in a transaction of inTx: read reads it (none:
// notFound's error), p must let a write change it, then write changes and
// writes it. It returns the row as written, or the zero T with an error.
func Update[Tx any, T Row](ctx context.Context, inTx func(context.Context, func(Tx) error) error,
	notFound func() *taskapi.Error, p taskapi.Precondition, read func(Tx) (T, error), write func(Tx, T) error) (T, error) {
	var row T
	err := inTx(ctx, func(tx Tx) (err error) {
		if row, err = read(tx); err != nil {
			return NotFound(err, notFound)
		}
		if err := row.Check(p); err != nil {
			return err
		}
		return write(tx, row)
	})
	if err != nil {
		var none T
		return none, err
	}
	return row, nil
}

// Delete removes one row in a transaction of inTx: version is the row of
// its version (none: notFound's error), which p must hold for (else
// changed's error), then remove removes it.
func Delete[Tx any](ctx context.Context, inTx func(context.Context, func(Tx) error) error,
	notFound, changed func() *taskapi.Error, p taskapi.Precondition, version func(Tx) Scanner, remove func(Tx) error) error {
	return inTx(ctx, func(tx Tx) error {
		var v int64
		if err := version(tx).Scan(&v); err != nil {
			return NotFound(err, notFound)
		}
		if err := p.Check(v, changed); err != nil {
			return err
		}
		return remove(tx)
	})
}

// NotFound maps the error of a read that found no row to the error newErr
// returns. Both drivers report that as sql.ErrNoRows (pgx.ErrNoRows wraps
// it).
func NotFound(err error, newErr func() *taskapi.Error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return newErr()
	}
	return err
}
