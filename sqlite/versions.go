package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/taskapi/taskapi"
)

var _ taskapi.ListVersioner = (*Store)(nil)

// qListVersion reads a user's list version, kept by the triggers of
// migration 00002 (list_versions) in the transaction of every change to
// the user's tasks and projects.
const qListVersion = `SELECT version FROM list_versions WHERE user_id = ?`

// ListVersion returns the list version of userID: a number that grows with
// every committed change to the user's tasks or projects, by this process
// or any other on the file (the database's triggers bump it in the
// change's own transaction), and 0 when the user has never written.
//
// It is one primary key lookup, a statement prepared on the read pool; in
// WAL mode it neither waits for a writer nor holds one up. A list read
// after it returned v sees every change up to v: each read is its own
// snapshot, taken later.
func (s *Store) ListVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	err := s.queryRow(ctx, qListVersion, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, mapError(ctx, "list version", err)
	}
	return v, nil
}
