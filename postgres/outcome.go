package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// outcomeUnknown is the failure of a statement that commits a write (a
// COMMIT, a write in a statement of its own, a batch ending in COMMIT)
// after it may have reached the server: the write may have taken effect.
// mapError answers it with taskapi.OutcomeUnknown, which a client may
// retry only with an idempotency key, never with EUNAVAILABLE's "retry
// later".
type outcomeUnknown struct{ err error }

func (e *outcomeUnknown) Error() string { return "outcome unknown: " + e.err.Error() }
func (e *outcomeUnknown) Unwrap() error { return e.err }

// committing classifies err, the failure of a statement that commits,
// sent on a connection already acquired: an answer of the server (a
// *pgconn.PgError: the statement failed, nothing committed) and an error
// that pgconn.SafeToRetry says came before anything was sent are known
// outcomes; anything else (a deadline or a lost connection once the
// statement was written) is an unknown one.
func committing(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) || pgconn.SafeToRetry(err) {
		return err
	}
	return &outcomeUnknown{err}
}
