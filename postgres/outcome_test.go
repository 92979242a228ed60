package postgres

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/taskapi/taskapi"
)

// notSent is an error pgconn.SafeToRetry calls safe: nothing was sent.
type notSent struct{}

func (notSent) Error() string     { return "not sent" }
func (notSent) SafeToRetry() bool { return true }

// TestCommittingOutcome: the failure of a statement that commits is an
// unknown outcome (504) unless the server answered or nothing was sent
// (503, or the server's own error); an unknown outcome stays one even when
// the request's deadline passed.
func TestCommittingOutcome(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		code string
	}{
		{"connection lost after sending", context.Background(), io.ErrUnexpectedEOF, taskapi.EOUTCOMEUNKNOWN},
		{"deadline after sending", expired, context.DeadlineExceeded, taskapi.EOUTCOMEUNKNOWN},
		{"nothing sent", context.Background(), notSent{}, taskapi.EINTERNAL},
		{"nothing sent, deadline", expired, notSent{}, taskapi.EUNAVAILABLE},
		{"the server refused", context.Background(), &pgconn.PgError{Code: readOnlyTransaction}, taskapi.EUNAVAILABLE},
		{"a deadlock victim", context.Background(), &pgconn.PgError{Code: deadlockDetected}, taskapi.EUNAVAILABLE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mapError(c.ctx, "create task", committing(c.err))
			if got := taskapi.ErrorCode(err); got != c.code {
				t.Fatalf("code %s, want %s (%v)", got, c.code, err)
			}
			if c.code == taskapi.EOUTCOMEUNKNOWN && !errors.Is(err, c.err) {
				t.Fatalf("%v does not wrap the cause, for the log", err)
			}
		})
	}
	if committing(nil) != nil {
		t.Fatal("committing(nil) is not nil")
	}
}
