package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Cleanup of expired DPoP proofs.
const (
	// replayCleanupInterval is how often, at most, an Add deletes a batch
	// of expired proofs, unless the last batch was full.
	replayCleanupInterval = time.Minute
	// replayCleanupBatch bounds the rows one cleanup deletes, and so the
	// time one Add spends on it.
	replayCleanupBatch = 1000
	// replayCleanupGrace is how long past its expiry a row is kept: the
	// instances' clocks may differ by that much before one deletes a
	// proof that another, whose clock runs behind, still accepts.
	replayCleanupGrace = time.Minute
)

// ReplayStore remembers the DPoP proofs accepted by every instance on the
// database, in the table dpop_proofs: it implements bearer.ReplayStore
// (the bearer package is not imported; the method set matches), so that a
// proof accepted by one instance is refused by the others. It uses the
// Store's pool and is safe for concurrent use; it needs no closing.
//
// Expired rows are deleted by Add itself: at most once a minute one Add
// deletes up to replayCleanupBatch of them after its own insert (again on
// the next Add while the batches come back full), so the table holds
// about the proofs of one IATOffset window.
type ReplayStore struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// nextCleanup is when, in unix nanoseconds, the next Add cleans up.
	nextCleanup atomic.Int64
}

// DPoPReplays returns the DPoP replay store on s's pool, for
// bearer.DPoPOptions.ReplayStore.
func (s *Store) DPoPReplays() *ReplayStore {
	return &ReplayStore{pool: s.pool, now: time.Now}
}

// Add records key until expires and reports whether it was new: false
// when the key is recorded with an expiry still ahead. It is one
// statement, so of instances adding one key at once exactly one gets
// true: the loser of the insert waits for the winner's row, then finds it
// unexpired and updates nothing, so returns no row.
//
// Expiry is judged by this process's clock, passed as a parameter, not
// by the database's now(): expires is the proof's iat + IATOffset + 1 s,
// and the instance that accepts or refuses the proof's "iat" does so by
// its own Go clock. Comparing with that same clock keeps the two
// consistent, whatever the skew with the database: a proof whose "iat"
// this instance still accepts is found unexpired. The database's now()
// would let a replay through during the skew if its clock ran ahead of an
// instance's.
func (r *ReplayStore) Add(ctx context.Context, key [sha256.Size]byte, expires time.Time) (bool, error) {
	now := r.now()
	var fresh bool
	err := r.pool.QueryRow(ctx, `INSERT INTO dpop_proofs (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_proofs.expires_at <= $3
		RETURNING true`, key[:], expires, now).Scan(&fresh)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, mapError(ctx, "dpop replay", err)
	}
	if next := r.nextCleanup.Load(); now.UnixNano() >= next && r.nextCleanup.CompareAndSwap(next, now.Add(replayCleanupInterval).UnixNano()) {
		// The proof is recorded whatever happens here: a failed cleanup
		// is tried again at the next interval.
		if n, err := r.deleteExpired(ctx, now); err == nil && n == replayCleanupBatch {
			r.nextCleanup.Store(now.UnixNano()) // more to do: the next Add goes on
		}
	}
	return true, nil
}

// deleteExpired deletes up to replayCleanupBatch rows that expired more
// than replayCleanupGrace before now, skipping rows another transaction
// holds (an instance cleaning up at the same time, or an Add reusing the
// key), and returns how many it deleted.
func (r *ReplayStore) deleteExpired(ctx context.Context, now time.Time) (int64, error) {
	tag, err := r.pool.Exec(ctx, `DELETE FROM dpop_proofs WHERE key IN (
		SELECT key FROM dpop_proofs WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		now.Add(-replayCleanupGrace), replayCleanupBatch)
	if err != nil {
		return 0, mapError(ctx, "dpop replay cleanup", err)
	}
	return tag.RowsAffected(), nil
}
