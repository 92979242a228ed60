package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/taskapi/taskapi"
)

// Errors the store answers with: the same codes and messages as the SQLite
// store's. Their messages are safe for clients; the driver's own error, when
// there is one, stays wrapped beneath for the log. Each call returns a new
// value, so no caller can change another's error.
func errTimedOut() *taskapi.Error {
	return taskapi.Errorf(taskapi.EUNAVAILABLE, "The database did not answer in time, retry later")
}

// SQLSTATE codes the store tells apart.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	lockNotAvailable     = "55P03"
	readOnlyTransaction  = "25006" // a hot standby, or default_transaction_read_only
	adminShutdown        = "57P01"
	crashShutdown        = "57P02"
	cannotConnectNow     = "57P03" // starting up or shutting down
)

// mapError turns an error of pgx into the error the store answers with: a
// *taskapi.Error the service can show (wrapping the cause), the context's
// error when ctx was cancelled, or a wrapped internal error. op names the
// operation for the log.
//
// A write whose commit was sent but not answered (committing) is
// EOUTCOMEUNKNOWN: it may have taken effect, so "retry later" would be
// wrong. Otherwise, running out of time is the database's doing, and is EUNAVAILABLE
// (wrapping context.DeadlineExceeded, for callers that look): ctx's
// deadline passing while the statement or the connection waited (the
// service bounds every request, so a stalled database is answered 503, not
// waited on), and pgx's own connect_timeout. A cancelled ctx is not: the
// caller (a client that went away, a server shutting down) gave up, and
// gets context.Canceled (or ctx's cause) back.
func mapError(ctx context.Context, op string, err error) error {
	if err == nil || errors.As(err, new(*taskapi.Error)) {
		return err
	}
	var unknown *outcomeUnknown
	switch {
	case errors.As(err, &unknown):
		// Even when ctx was cancelled: the write may have taken effect.
		return fmt.Errorf("postgres: %s: %w: %w", op, taskapi.OutcomeUnknown(), err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("postgres: %s: %w: %w", op, errTimedOut(), context.Cause(ctx))
	case ctx.Err() != nil:
		// pgx reports a cancelled statement in several ways (the server's
		// 57014, a closed connection); the caller wants to know why.
		return fmt.Errorf("postgres: %s: %w: %w", op, context.Cause(ctx), err)
	case errors.Is(err, context.DeadlineExceeded):
		// ctx is live: a timeout of pgx's own, connect_timeout.
		return fmt.Errorf("postgres: %s: %w: %w", op, taskapi.Unavailable(), err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == serializationFailure, code == deadlockDetected, code == lockNotAvailable:
			return fmt.Errorf("postgres: %s: %w: %w", op, taskapi.Busy(), err)
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"), // insufficient resources: disk full, out of memory, too many connections
			code == readOnlyTransaction, code == adminShutdown, code == crashShutdown, code == cannotConnectNow:
			return fmt.Errorf("postgres: %s: %w: %w", op, taskapi.Unavailable(), err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if isConnectionError(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, taskapi.Unavailable(), err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// isConnectionError reports whether err is a failure to reach the server
// or a connection lost under a statement, rather than an answer of the
// server.
func isConnectionError(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed)
}

// isRetryable reports whether err aborted a transaction that can simply be
// run again.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == deadlockDetected || pgErr.Code == serializationFailure)
}

// isViolation reports whether err is the given constraint violation.
func isViolation(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
