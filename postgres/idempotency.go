package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// WithKeyTTL sets how long the responses of idempotency keys are kept
// (default taskapi.DefaultKeyTTL). Their cap per user is
// taskapi.Limits.IdempotencyKeys (WithLimits).
func WithKeyTTL(d time.Duration) Option {
	return func(o *options) { o.keyTTL = d }
}

// A request holds its idempotency key with a session advisory lock, on a
// connection it keeps (pins) until it releases the key, and runs all of its
// statements on that connection. The lock is the key's "in progress"
// marker, across every instance on the database; it ends with its session,
// so a key whose holder died (its process killed, its connection lost) is
// free again as soon as the server notices the connection is gone: at
// once for a process that exits (its socket is closed), after the
// server's TCP keepalive (tcp_keepalives_idle and the like) for a host
// that vanished. Taking it over can never apply a request twice: the
// response commits in the transaction of the change, on the session that
// held the lock, and a key holds one response (storesql.SaveKey).
const (
	qLockKey   = `SELECT pg_try_advisory_lock($1::int8)`
	qUnlockKey = `SELECT pg_advisory_unlock($1::int8)`
)

// releaseTimeout bounds the statements of Release, which runs whatever
// became of the request's context: past it the pinned connection is
// closed, which ends its lock too.
const releaseTimeout = 5 * time.Second

// keyLock returns the advisory lock of a key: 64 bits of a hash of the
// issuer, user and key. Two keys that share one only make each other wait.
func keyLock(issuer string, k taskapi.IdempotencyKey) int64 {
	h := sha256.Sum256([]byte(issuer + "\x00" + k.UserID + "\x00" + k.Key))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// keyClaim is a key held by one request (taskapi.KeyClaim).
type keyClaim struct {
	s       *Store
	conn    *pgxpool.Conn // pinned, holding the lock
	lock    int64
	k       taskapi.IdempotencyKey
	respond taskapi.Responder
	// pending is set by a write that saved the response in its
	// transaction, saved once that committed. Only the request's
	// goroutine touches them.
	pending, saved bool
	released       bool
}

// ClaimKey takes k for the caller (taskapi.KeyClaimer): it pins a
// connection and, in one round trip, tries the key's lock, reads its
// record and counts the user's keys.
func (s *Store) ClaimKey(ctx context.Context, k taskapi.IdempotencyKey, respond taskapi.Responder) (*taskapi.SavedResponse, taskapi.KeyClaim, error) {
	if s.pinned != nil {
		return nil, nil, errors.New("postgres: ClaimKey on the store of a claim")
	}
	if unstorable(k.UserID, k.Key, k.Fingerprint) {
		return nil, nil, taskapi.Errorf(taskapi.EBADREQUEST, "This Idempotency-Key cannot be stored")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, mapError(ctx, "claim idempotency key", err)
	}
	now := s.now()
	c := &keyClaim{s: s, conn: conn, lock: keyLock(s.issuer, k), k: k, respond: respond}
	var locked bool
	var rec *taskapi.KeyRecord
	held := 0
	b := &pgx.Batch{}
	b.Queue(qLockKey, c.lock).QueryRow(func(row pgx.Row) error { return row.Scan(&locked) })
	b.Queue(numbered(storesql.SelectKey), s.issuer, k.UserID, k.Key).QueryRow(func(row pgx.Row) error {
		var r taskapi.KeyRecord
		err := row.Scan(&r.Fingerprint, &r.Response.Status, &r.Response.Location, &r.Response.ETag, &r.Response.Body, &r.ExpiresAt)
		switch {
		case err == nil:
			rec = &r
		case errors.Is(err, pgx.ErrNoRows):
			err = nil
		}
		return err
	})
	if args := storesql.CountKeysArgs(s.issuer, k, s.keyPolicy, now, dialect); args != nil {
		b.Queue(numbered(storesql.CountKeys), args...).QueryRow(func(row pgx.Row) error { return row.Scan(&held) })
	}
	err = conn.SendBatch(ctx, b).Close()
	var saved *taskapi.SavedResponse
	switch {
	case err != nil:
		err = mapError(ctx, "claim idempotency key", err)
	case !locked:
		err = taskapi.KeyInProgress()
	default:
		if rec != nil {
			rec.ExpiresAt = rec.ExpiresAt.UTC()
		}
		saved, err = s.keyPolicy.Admit(k, rec, held, now)
	}
	if saved != nil || err != nil {
		if locked {
			c.unlock(ctx)
		}
		conn.Release()
		return saved, nil, err
	}
	return nil, c, nil
}

// Store returns the store whose statements run on the claim's connection
// and whose first write saves the claim's response.
func (c *keyClaim) Store() taskapi.IssuerStore {
	v := *c.s
	v.claim, v.pinned = c, c.conn
	return &v
}

// Release saves unchanged unless a write saved a response, frees the key
// and gives the connection back.
func (c *keyClaim) Release(ctx context.Context, unchanged *taskapi.SavedResponse) error {
	if c.released {
		return errors.New("postgres: idempotency key released twice")
	}
	c.released = true
	defer c.conn.Release()
	var err error
	if !c.saved && unchanged != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		// A live record of the key (none can exist while the lock is
		// held) would stay; SaveKey changes nothing then.
		_, err = c.conn.Exec(sctx, numbered(storesql.SaveKey), c.s.saveKeyArgs(c.k, unchanged)...)
		err = mapError(sctx, "save idempotency key", committing(err))
		cancel()
	}
	c.unlock(ctx)
	return err
}

// unlock frees the claim's lock; when that fails, it closes the connection,
// which frees it too (the pool then discards the connection).
func (c *keyClaim) unlock(ctx context.Context) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := c.conn.Exec(uctx, qUnlockKey, c.lock); err != nil {
		c.conn.Conn().Close(uctx)
	}
}

// saveKeyArgs returns the arguments of storesql.SaveKey for k's response r.
func (s *Store) saveKeyArgs(k taskapi.IdempotencyKey, r *taskapi.SavedResponse) []any {
	return storesql.SaveKeyArgs(s.issuer, k, r, s.keyPolicy, s.nowMicro(), dialect)
}

// saveResponse saves, in tx, the response of the claim of a store of
// KeyClaim.Store to the write that stored written; nothing for another
// store. A key that has a live record already fails the write.
func (s *Store) saveResponse(ctx context.Context, tx pgx.Tx, written any) error {
	c := s.claim
	if c == nil {
		return nil
	}
	if c.pending || c.saved {
		return errors.New("postgres: a second write under one idempotency key")
	}
	r, err := c.respond(written)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, numbered(storesql.SaveKey), s.saveKeyArgs(c.k, r)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: the key has a live record", storesql.KeyConflict())
	}
	c.pending = true
	return nil
}

// keyTxDone marks the claim's response saved when the transaction that
// saved it committed, and not pending when it did not.
func (s *Store) keyTxDone(committed bool) {
	if c := s.claim; c != nil && c.pending {
		c.pending, c.saved = false, committed
	}
}

// PurgeKeys deletes the expired idempotency keys.
func (s *Store) PurgeKeys(ctx context.Context) (int64, error) {
	n, err := storesql.Purge(s.nowMicro(), dialect, func(query string, args ...any) (int64, error) {
		tag, err := s.pool.Exec(ctx, numbered(query), args...)
		return tag.RowsAffected(), err
	})
	return n, mapError(ctx, "purge idempotency keys", err)
}
