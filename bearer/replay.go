package bearer

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// ReplayStore remembers DPoP proofs for every server that shares it, so
// that a proof accepted by one is refused by the others
// (DPoPOptions.ReplayStore). The in-process replay cache of a Verifier
// sees only the proofs that Verifier accepted; behind a load balancer, a
// proof accepted by one instance could otherwise be replayed to another
// within its "iat" window.
//
// A key is the SHA-256 of the proof key's RFC 7638 thumbprint (base64url),
// a zero byte and the proof's "jti": fixed-size, whatever the client sent.
type ReplayStore interface {
	// Add records the proof key until expires and reports whether it was
	// new: false when the key was recorded before and has not expired.
	//
	// expires is the first instant at which no Verifier with the same
	// IATOffset accepts the proof's "iat" any more (iat + IATOffset + 1 s,
	// whole seconds): the key has expired once the store's clock reaches
	// it, so an implementation must compare expires with the current time
	// (of the servers, which judged the "iat"), and refuse the key while
	// now < expires.
	//
	// Add must be atomic: of two servers adding one key at once, exactly
	// one gets true. An error makes the Verifier refuse the request with
	// 503 temporarily_unavailable: a proof is never accepted unchecked.
	Add(ctx context.Context, key [sha256.Size]byte, expires time.Time) (bool, error)
}

const (
	msgReplayed = `DPoP proof "jti" has already been used`
	// msgReplayStoreFailed is the message of a 503 answered when the
	// ReplayStore fails (the cause stays in Error.Err).
	msgReplayStoreFailed = "Unable to check the DPoP proof for replay"
)

// replayKey is the key of a proof in the replay cache and the ReplayStore:
// SHA-256(thumbprint, 0, jti).
func replayKey(thumbprint, jti string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(thumbprint))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// checkReplay refuses a replayed proof: first through the in-process
// cache (a local replay costs no round trip), then through the shared
// ReplayStore with ctx, the request's context. iat is the proof's,
// already checked to be within the window at now (unix seconds). A store
// failure is a 503 temporarily_unavailable with retryAfter(), as when no
// signing keys can be had, and the proof is forgotten locally again, so
// that the same proof may be retried once the store answers.
func (d *dpopState) checkReplay(ctx context.Context, thumbprint, jti string, iat, now int64, retryAfter func() time.Duration) *Error {
	if d.replay == nil && d.store == nil {
		return nil
	}
	key := replayKey(thumbprint, jti)
	expires := iat + d.offset // the last second the "iat" is accepted
	if d.replay != nil && !d.replay.addKey(key, expires, now) {
		return invalidProof(msgReplayed)
	}
	if d.store == nil {
		return nil
	}
	fresh, err := d.store.Add(ctx, key, time.Unix(expires+1, 0))
	if err != nil {
		if d.replay != nil {
			d.replay.forget(key)
		}
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Message: msgReplayStoreFailed,
			RetryAfter: retryAfter(), Err: err}
	}
	if !fresh {
		return invalidProof(msgReplayed)
	}
	return nil
}

// replayCache remembers the proofs accepted within their window, to
// refuse a replayed one. It is bounded: past size entries, the oldest
// entry is forgotten first. Entries are keyed by the SHA-256 of the proof
// key's thumbprint and the jti (RFC 9449 §11.1: a jti is unique per key),
// so that their size does not depend on the client.
type replayCache struct {
	mu    sync.Mutex
	size  int
	seen  map[[sha256.Size]byte]replayEntry
	order [][sha256.Size]byte // insertion ring
	next  int
}

type replayEntry struct {
	expires int64 // unix seconds: the proof is refused until then
	pos     int   // position in order
}

func newReplayCache(size int) *replayCache {
	return &replayCache{size: size, seen: make(map[[sha256.Size]byte]replayEntry)}
}

// addKey records a proof's replayKey until expires and reports whether it
// was new: false means a replay seen at or before now.
func (c *replayCache) addKey(key [sha256.Size]byte, expires, now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.seen[key]; ok && e.expires >= now {
		return false
	}
	pos := c.next
	if len(c.order) < c.size {
		c.order = append(c.order, key)
	} else {
		old := c.order[pos]
		if e, ok := c.seen[old]; ok && e.pos == pos {
			delete(c.seen, old)
		}
		c.order[pos] = key
	}
	c.next = (pos + 1) % c.size
	c.seen[key] = replayEntry{expires: expires, pos: pos}
	return true
}

// forget removes key, recorded by a proof that was not accepted after all
// (the ReplayStore failed), so that the proof may be sent again. Its slot
// in the ring stays until reused; eviction checks the position first.
func (c *replayCache) forget(key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, key)
}
