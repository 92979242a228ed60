package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
)

var _ taskapi.ListVersioner = (*Store)(nil)

// qListVersion reads a user's list version, kept by the trigger function
// of migration 00002 (list_versions_bump) in the transaction of every
// change to the user's tasks and projects.
const qListVersion = `SELECT version FROM list_versions WHERE user_id = $1`

// ListVersion returns the list version of userID: a number that grows with
// every committed change to the user's tasks or projects, by this instance
// or any other on the database (the database's triggers bump it in the
// change's own transaction), and 0 when the user has never written.
//
// It is one primary key lookup, a statement pgx keeps prepared per
// connection. A list read after it returned v sees every change up to v:
// each statement outside a transaction reads a snapshot taken when it
// starts (READ COMMITTED), so later than this one's.
func (s *Store) ListVersion(ctx context.Context, userID string) (int64, error) {
	if hasNUL(userID) {
		return 0, nil // no such user can have written
	}
	var v int64
	err := s.pool.QueryRow(ctx, qListVersion, userID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, mapError(ctx, "list version", err)
	}
	return v, nil
}
