package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// The change feed's statements of this store (see storesql and
// migrations/00007_changes.sql, whose triggers keep the tables).
var (
	qChangedTasks    = storesql.ChangedSQL(taskColumns, "tasks", taskapi.ChangeTask)
	qChangedProjects = storesql.ChangedSQL(projectColumns, "projects", taskapi.ChangeProject)
)

// The purge of one user's old tombstones: its highest number is kept as
// purged_seq (in the same transaction), then they go. ?1 issuer, ?2 user,
// ?3 the time (Unix seconds) before which a tombstone is old.
const (
	qPurgedSeq = `UPDATE change_counters SET purged_seq = max(purged_seq,
		(SELECT max(seq) FROM changes WHERE issuer = ?1 AND user_id = ?2 AND deleted AND changed_at < ?3))
		WHERE issuer = ?1 AND user_id = ?2 AND EXISTS (SELECT 1 FROM changes WHERE issuer = ?1 AND user_id = ?2 AND deleted AND changed_at < ?3)`
	qPurgeTombstones = `DELETE FROM changes WHERE issuer = ?1 AND user_id = ?2 AND deleted AND changed_at < ?3`
)

// Changes returns one page of the user's change feed, read in one read
// transaction: a WAL snapshot, which no writer changes under it.
func (s *Store) Changes(ctx context.Context, f taskapi.ChangeFilter) (*taskapi.ChangePage, error) {
	t, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapError(ctx, "read changes", err)
	}
	defer t.Rollback()
	page, err := storesql.ReadChanges(f, storesql.Feed{
		Head: func() (taskapi.ChangeHead, error) {
			heads, err := queryTx(ctx, s, t, func(r rowScanner) (h taskapi.ChangeHead, err error) {
				return h, r.Scan(&h.Latest, &h.Purged)
			}, storesql.ChangeHeadSQL, s.issuer, f.UserID)
			if err != nil || len(heads) == 0 {
				return taskapi.ChangeHead{}, err
			}
			return heads[0], nil
		},
		Changes: func(after int64, limit int) ([]taskapi.Change, error) {
			return queryTx(ctx, s, t, scanChange, storesql.ChangesSQL, s.issuer, f.UserID, after, limit)
		},
		Tasks: func(after, through int64) ([]*taskapi.Task, error) {
			return queryTx(ctx, s, t, scanTask, qChangedTasks, s.issuer, f.UserID, s.issuer, f.UserID, after, through)
		},
		Projects: func(after, through int64) ([]*taskapi.Project, error) {
			return queryTx(ctx, s, t, scanProject, qChangedProjects, s.issuer, f.UserID, s.issuer, f.UserID, after, through)
		},
	})
	return page, mapError(ctx, "read changes", err)
}

func scanChange(r rowScanner) (taskapi.Change, error) { return storesql.ScanChange(r) }

// queryTx runs a query of the read pool in the read transaction t and
// reads every row with scan.
func queryTx[T any](ctx context.Context, s *Store, t *sql.Tx, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	st, err := s.readStmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := t.StmtContext(ctx, st).QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	return all, rows.Err()
}

// PurgeTombstones forgets the tombstones of every issuer's users deleted
// before before: user by user, each in a short write transaction that
// records the highest number it forgets as the user's purged_seq.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int64, error) {
	cutoff := before.Unix()
	var total int64
	for {
		type user struct{ issuer, id string }
		users, err := queryAll(ctx, s, "purge tombstones", func(r rowScanner) (u user, err error) {
			return u, r.Scan(&u.issuer, &u.id)
		}, storesql.ExpiredUsersSQL, cutoff, purgeBatch)
		if err != nil || len(users) == 0 {
			return total, err
		}
		for _, u := range users {
			var n int64
			err := s.inTx(ctx, func(tx *tx) error {
				if _, err := tx.exec(qPurgedSeq, u.issuer, u.id, cutoff); err != nil {
					return err
				}
				res, err := tx.exec(qPurgeTombstones, u.issuer, u.id, cutoff)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, mapError(ctx, "purge tombstones", err)
			}
			total += n
		}
	}
}

// purgeBatch is how many users PurgeTombstones finds at a time.
const purgeBatch = 100
