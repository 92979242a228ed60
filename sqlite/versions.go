package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/versionbatch"
)

var _ taskapi.ListVersioner = (*Store)(nil)

// qListVersion reads a user's list version, kept by the triggers of
// migration 00002 (list_versions) in the transaction of every change to
// the user's tasks and projects.
const qListVersion = `SELECT version FROM list_versions WHERE user_id = ?`

// qListVersions reads the versions of several users, given as a JSON
// array of their ids.
const qListVersions = `SELECT user_id, version FROM list_versions WHERE user_id IN (SELECT value FROM json_each(?))`

// versionQueryTimeout bounds one query of list versions, which takes
// microseconds when the database is healthy.
const versionQueryTimeout = 2 * time.Second

// ListVersion returns the list version of userID: a number that grows with
// every committed change to the user's tasks or projects, by this process
// or any other on the file (the database's triggers bump it in the
// change's own transaction), and 0 when the user has never written.
//
// Reads that arrive together share one query (versionbatch.Reader), which
// starts after each of them arrived: a list read after ListVersion
// returned v sees every change up to v, since each read outside a
// transaction is its own snapshot, taken when it starts. In WAL mode it
// neither waits for a writer nor holds one up.
func (s *Store) ListVersion(ctx context.Context, userID string) (int64, error) {
	v, err := s.versions.Read(ctx, userID)
	if err != nil {
		return 0, mapError(ctx, "list version", err)
	}
	return v, nil
}

// listVersions is the query of the version reader: the versions of users
// who have one, by a primary key lookup for one user and through a JSON
// array for several. Ids with a NUL byte are looked up alone, as bound
// parameters, not through JSON.
func (s *Store) listVersions(ctx context.Context, users []string) (map[string]int64, error) {
	versions := make(map[string]int64, len(users))
	batch := users[:0:0]
	for _, u := range users {
		if len(users) > 1 && !strings.ContainsRune(u, 0) {
			batch = append(batch, u)
			continue
		}
		var v int64
		err := s.queryRow(ctx, qListVersion, u).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		default:
			versions[u] = v
		}
	}
	if len(batch) == 0 {
		return versions, nil
	}
	ids, err := json.Marshal(batch)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, qListVersions, string(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if err := versionbatch.ScanRows(rows, versions); err != nil {
		return nil, err
	}
	return versions, nil
}
