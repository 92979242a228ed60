package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// WithKeyTTL sets how long the responses of idempotency keys are kept
// (default taskapi.DefaultKeyTTL). Their cap per user is
// taskapi.Limits.IdempotencyKeys (WithLimits).
func WithKeyTTL(d time.Duration) Option {
	return func(o *options) { o.keyTTL = d }
}

// keyLocks are the idempotency keys held by requests of this process.
//
// The SQLite store has one process: its claims are kept in memory, and a
// process that dies takes them with it, so that a retry after a crash
// finds the key free at once. A second process on the file (not a
// supported set-up) could not apply a request twice either: the response
// commits with the change, and a key holds one response (SaveKey).
type keyLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

// take holds name, reporting false when it is held already.
func (l *keyLocks) take(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return false
	}
	l.held[name] = true
	return true
}

func (l *keyLocks) give(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, name)
}

// keyClaim is a key held by one request (taskapi.KeyClaim).
type keyClaim struct {
	s       *Store // the store the claim was made on
	name    string // in keyLocks
	k       taskapi.IdempotencyKey
	respond taskapi.Responder
	// pending is set by a write that saved the response in its
	// transaction, saved once that committed. Only the request's
	// goroutine touches them.
	pending, saved bool
	released       bool
}

// ClaimKey takes k for the caller (taskapi.KeyClaimer).
func (s *Store) ClaimKey(ctx context.Context, k taskapi.IdempotencyKey, respond taskapi.Responder) (*taskapi.SavedResponse, taskapi.KeyClaim, error) {
	name := s.issuer + "\x00" + k.UserID + "\x00" + k.Key
	if !s.keys.take(name) {
		return nil, nil, taskapi.KeyInProgress()
	}
	saved, err := s.admit(ctx, k)
	if saved != nil || err != nil {
		s.keys.give(name)
		return saved, nil, err
	}
	return nil, &keyClaim{s: s, name: name, k: k, respond: respond}, nil
}

// admit reads k's record and the user's keys, on the read pool, and
// decides by the store's policy.
func (s *Store) admit(ctx context.Context, k taskapi.IdempotencyKey) (*taskapi.SavedResponse, error) {
	now := s.now()
	var rec *taskapi.KeyRecord
	var r taskapi.KeyRecord
	var expires string
	err := s.queryRow(ctx, storesql.SelectKey, s.issuer, k.UserID, k.Key).Scan(&r.Fingerprint, &r.Response.Status,
		&r.Response.Location, &r.Response.ETag, &r.Response.Body, &expires)
	switch {
	case err == nil:
		if r.ExpiresAt, err = parseTime(expires); err != nil {
			return nil, err
		}
		rec = &r
	case !errors.Is(err, sql.ErrNoRows):
		return nil, mapError(ctx, "read idempotency key", err)
	}
	held := 0
	if args := storesql.CountKeysArgs(s.issuer, k, s.keyPolicy, now, dialect); rec == nil && args != nil {
		if err := s.queryRow(ctx, storesql.CountKeys, args...).Scan(&held); err != nil {
			return nil, mapError(ctx, "count idempotency keys", err)
		}
	}
	return s.keyPolicy.Admit(k, rec, held, now)
}

// Store returns the store whose first write saves the claim's response.
func (c *keyClaim) Store() taskapi.IssuerStore {
	v := *c.s
	v.claim = c
	return &v
}

// Release saves unchanged unless a write saved a response, and frees the
// key.
func (c *keyClaim) Release(ctx context.Context, unchanged *taskapi.SavedResponse) error {
	if c.released {
		return errors.New("sqlite: idempotency key released twice")
	}
	c.released = true
	defer c.s.keys.give(c.name)
	if c.saved || unchanged == nil {
		return nil
	}
	err := c.s.inTx(ctx, func(tx *tx) error { return c.s.saveKey(tx, c.k, unchanged) })
	if errors.Is(err, errKeyTaken) {
		return nil // saved by another process meanwhile: it stays
	}
	return mapError(ctx, "save idempotency key", err)
}

// errKeyTaken is saveKey's error when the key has a live record.
var errKeyTaken = errors.New("the idempotency key has a live record")

// saveResponse saves, in tx, the response of the claim of a store of
// KeyClaim.Store to the write that stored written; nothing for another
// store. A key that has a record already fails the write.
func (s *Store) saveResponse(tx *tx, written any) error {
	c := s.claim
	if c == nil {
		return nil
	}
	if c.pending || c.saved {
		return errors.New("sqlite: a second write under one idempotency key")
	}
	r, err := c.respond(written)
	if err != nil {
		return err
	}
	if err := s.saveKey(tx, c.k, r); err != nil {
		if errors.Is(err, errKeyTaken) {
			return fmt.Errorf("%w: %w", storesql.KeyConflict(), err)
		}
		return err
	}
	c.pending = true
	return nil
}

// saveKey saves k's response r in tx, unless k has a live record
// (errKeyTaken).
func (s *Store) saveKey(tx *tx, k taskapi.IdempotencyKey, r *taskapi.SavedResponse) error {
	res, err := tx.exec(storesql.SaveKey, storesql.SaveKeyArgs(s.issuer, k, r, s.keyPolicy, s.now(), dialect)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(errKeyTaken, err)
	}
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
	n, err := storesql.Purge(s.now(), dialect, func(query string, args ...any) (int64, error) {
		var n int64
		err := s.inTx(ctx, func(tx *tx) error {
			res, err := tx.exec(query, args...)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		return n, err
	})
	return n, mapError(ctx, "purge idempotency keys", err)
}
