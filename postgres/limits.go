package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
)

// WithLimits caps the tasks and projects of each user (default: no cap).
// A create over a cap is refused with ELIMIT. The creates of one user
// under a cap queue on a lock of the user's, across every instance, so
// concurrent creates never go over (insertCapped). Each counts the user's
// rows, up to the cap, on an index on user_id (countTasksUpTo): the cost
// of a create grows with the user's rows.
func WithLimits(l taskapi.Limits) Option {
	return func(o *options) { o.limits = l }
}

// The classes of the users' advisory locks (the first key of
// pg_advisory_xact_lock(int4, int4), whose key space is apart from the
// one-key locks of the migrations): one for tasks, one for projects.
const (
	lockTasks    int32 = 0x7461736b // "task"
	lockProjects int32 = 0x70726f6a // "proj"
)

// qLockUser takes the advisory lock of class $1 for user $3 of issuer $2
// until the transaction ends. The second key is a hash of the user, so two
// users (or users of two schemas of one database) may share a lock: that
// only makes their creates wait for each other.
const qLockUser = `SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text || E'\n' || $3::text))`

// insertCapped runs insert, a capped insert (qInsertTaskCapped,
// qInsertProjectCapped) whose one row tells whether the user was full and
// whether a row went in, after the lock of class for userID, in one READ
// COMMITTED transaction sent as one batch: BEGIN, the lock, the insert,
// COMMIT, a single round trip. The lock makes the creates of one user take
// turns; the insert, a statement after the lock was granted, counts every
// row the turns before it committed (READ COMMITTED takes a snapshot per
// statement), so no two of them fill the same last place.
//
// An error in the batch skips the rest up to its end (the COMMIT too) and
// leaves the transaction failed, for the deferred Rollback to end; after a
// COMMIT the transaction is over, and Rollback only gives the connection
// back to the pool. A batch that was sent but not answered may have
// committed (committing).
func (s *Store) insertCapped(ctx context.Context, class int32, userID, insert string, args ...any) (full, inserted bool, err error) {
	err = s.onConn(ctx, func(q querier) error {
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		b.Queue(qLockUser, class, s.issuer, userID)
		b.Queue(insert, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&full, &inserted) })
		b.Queue(`COMMIT`)
		br := q.SendBatch(ctx, b)
		defer br.Tx().Rollback(ctx)
		return committing(br.Close())
	})
	return full, inserted, err
}

// insertRow inserts one row of userID with insert: without a cap (class
// 0) qInsertTask or qInsertProject, which inserts one row or none, in a
// statement of its own; with one, its capped form under the user's lock
// (insertCapped). Under a key claim (KeyClaim.Store) it runs in a
// transaction that also saves the response to written.
func (s *Store) insertRow(ctx context.Context, class int32, userID, insert string, written any, args ...any) (full, inserted bool, err error) {
	run := func(q querier) error {
		if class == 0 {
			tag, err := q.Exec(ctx, insert, args...)
			inserted = tag.RowsAffected() == 1
			return err
		}
		if _, err := q.Exec(ctx, qLockUser, class, s.issuer, userID); err != nil {
			return err
		}
		return q.QueryRow(ctx, insert, args...).Scan(&full, &inserted)
	}
	switch {
	case s.claim != nil:
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if err := run(tx); err != nil || full || !inserted {
				return err
			}
			return s.saveResponse(ctx, tx, written)
		})
	case class != 0:
		full, inserted, err = s.insertCapped(ctx, class, userID, insert, args...)
	default:
		err = s.onConn(ctx, func(q querier) error { return committing(run(q)) })
	}
	return full, inserted, err
}
