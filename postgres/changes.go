package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// The change feed's statements of this store (see storesql and
// migrations/00008_changes.sql, whose triggers keep the tables).
var (
	qChangeHead      = numbered(storesql.ChangeHeadSQL)
	qChanges         = numbered(storesql.ChangesSQL)
	qExpiredUsers    = numbered(storesql.ExpiredUsersSQL)
	qChangedTasks    = numbered(storesql.ChangedSQL(taskColumns, "tasks", taskapi.ChangeTask))
	qChangedProjects = numbered(storesql.ChangedSQL(projectColumns, "projects", taskapi.ChangeProject))
)

// The purge of one user's old tombstones ($1 issuer, $2 user, $3 the time
// before which a tombstone is old). qLockCounter first locks the user's
// counter, as every writer of the user does, so the purge takes its turn
// among them and cannot deadlock with one; then qPurgeTombstones deletes
// them and keeps their highest number as purged_seq, in one statement.
const (
	qLockCounter     = `SELECT 1 FROM change_counters WHERE issuer = $1 AND user_id = $2 FOR UPDATE`
	qPurgeTombstones = `WITH gone AS (DELETE FROM changes WHERE issuer = $1 AND user_id = $2 AND deleted AND changed_at < $3 RETURNING seq)
		UPDATE change_counters SET purged_seq = greatest(purged_seq, (SELECT max(seq) FROM gone))
		WHERE issuer = $1 AND user_id = $2 RETURNING (SELECT count(*) FROM gone)`
)

// purgeBatch is how many users PurgeTombstones finds at a time.
const purgeBatch = 100

// Changes returns one page of the user's change feed, read in one
// REPEATABLE READ transaction: every statement sees the same snapshot.
func (s *Store) Changes(ctx context.Context, f taskapi.ChangeFilter) (*taskapi.ChangePage, error) {
	if unstorable(f.UserID) {
		// No such user has rows: the feed of one who never wrote.
		f.UserID = ""
	}
	var page *taskapi.ChangePage
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) (err error) {
		page, err = storesql.ReadChanges(f, storesql.Feed{
			Head: func() (h taskapi.ChangeHead, err error) {
				err = tx.QueryRow(ctx, qChangeHead, s.issuer, f.UserID).Scan(&h.Latest, &h.Purged)
				if errors.Is(err, pgx.ErrNoRows) {
					err = nil
				}
				return h, err
			},
			Changes: func(after int64, limit int) ([]taskapi.Change, error) {
				rows, _ := tx.Query(ctx, qChanges, s.issuer, f.UserID, after, limit)
				return pgx.CollectRows(rows, func(r pgx.CollectableRow) (taskapi.Change, error) { return storesql.ScanChange(r) })
			},
			Tasks: func(after, through int64) ([]*taskapi.Task, error) {
				rows, _ := tx.Query(ctx, qChangedTasks, s.issuer, f.UserID, s.issuer, f.UserID, after, through)
				return pgx.CollectRows(rows, scanRow(scanTask))
			},
			Projects: func(after, through int64) ([]*taskapi.Project, error) {
				rows, _ := tx.Query(ctx, qChangedProjects, s.issuer, f.UserID, s.issuer, f.UserID, after, through)
				return pgx.CollectRows(rows, scanRow(scanProject))
			},
		})
		return err
	})
	return page, mapError(ctx, "read changes", err)
}

// PurgeTombstones forgets the tombstones of every issuer's users deleted
// before before: user by user, each in a short transaction that takes its
// turn on the user's counter. Instances purging at once do the same work
// twice at most.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		rows, _ := s.pool.Query(ctx, qExpiredUsers, before, purgeBatch)
		users, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Issuer, ID string }])
		if err != nil || len(users) == 0 {
			return total, mapError(ctx, "purge tombstones", err)
		}
		for _, u := range users {
			var n int64
			err := s.inTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, qLockCounter, u.Issuer, u.ID); err != nil {
					return err
				}
				return tx.QueryRow(ctx, qPurgeTombstones, u.Issuer, u.ID, before).Scan(&n)
			})
			if err != nil {
				return total, mapError(ctx, "purge tombstones", err)
			}
			total += n
		}
	}
}
