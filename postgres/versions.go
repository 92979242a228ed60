package postgres

import (
	"context"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/versionbatch"
)

var _ taskapi.ListVersioner = (*Store)(nil)

// qListVersions reads the list versions of several users, kept by the
// trigger function of migration 00002 (list_versions_bump) in the
// transaction of every change to the users' tasks and projects.
const qListVersions = `SELECT user_id, version FROM list_versions WHERE user_id = ANY($1)`

// versionQueryTimeout bounds one query of list versions. A healthy one
// takes well under a millisecond; the bound keeps a connection that
// stalled from holding up the reads after it for longer.
const versionQueryTimeout = 2 * time.Second

// ListVersion returns the list version of userID: a number that grows with
// every committed change to the user's tasks or projects, by this instance
// or any other on the database (the database's triggers bump it in the
// change's own transaction), and 0 when the user has never written.
//
// Reads that arrive together share one query (versionbatch.Reader), which
// starts after each of them arrived: a list read after ListVersion
// returned v sees every change up to v, since each statement outside a
// transaction reads a snapshot taken when it starts (READ COMMITTED).
func (s *Store) ListVersion(ctx context.Context, userID string) (int64, error) {
	if hasNUL(userID) {
		return 0, nil // no such user can have written
	}
	v, err := s.versions.Read(ctx, userID)
	if err != nil {
		return 0, mapError(ctx, "list version", err)
	}
	return v, nil
}

// listVersions is the query of the version reader: the versions of users who
// have one.
func (s *Store) listVersions(ctx context.Context, users []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, qListVersions, users)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	versions := make(map[string]int64, len(users))
	if err := versionbatch.ScanRows(rows, versions); err != nil {
		return nil, err
	}
	return versions, nil
}
