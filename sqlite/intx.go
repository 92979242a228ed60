package sqlite

// The write transactions of the store, on its one write connection.

import (
	"context"
	"database/sql"
)

// writeGroup runs the write transactions of inTx, in its own way, on the
// write connection: groupcommit.go's commits several in one transaction.
type writeGroup interface {
	// inTx runs fn as Store.inTx does, and calls keyTxDone once it knows
	// whether fn's writes committed.
	inTx(ctx context.Context, fn func(*tx) error, keyTxDone func(committed bool)) error
	// close waits for the transactions under way and stops.
	close() error
}

// newWriteGroup, when a file of the package sets it, starts the
// writeGroup of a store at Open; without it every inTx is a transaction
// of its own.
var newWriteGroup func(write *sql.DB, stmts *statements) (writeGroup, error)

// turns is a semaphore that serves its waiters in the order they came:
// the runtime wakes the goroutines blocked sending on a channel in order.
type turns chan struct{}

// take waits for a turn, or for ctx to end.
func (t turns) take(ctx context.Context) error {
	select {
	case t <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// give ends a turn that take began.
func (t turns) give() { <-t }

// inTx runs fn in an IMMEDIATE transaction on the write connection and
// commits when fn returns nil; with a writeGroup, in the group's.
func (s *Store) inTx(ctx context.Context, fn func(tx *tx) error) error {
	if s.group != nil {
		return s.group.inTx(ctx, fn, s.keyTxDone)
	}
	if err := s.writeTurns.take(ctx); err != nil {
		return err
	}
	defer s.writeTurns.give()
	t, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&tx{Tx: t, ctx: ctx, stmts: s.writeStmts}); err != nil {
		t.Rollback()
		s.keyTxDone(false)
		return err
	}
	err = t.Commit()
	s.keyTxDone(err == nil)
	return err
}
