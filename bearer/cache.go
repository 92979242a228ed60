package bearer

import (
	"context"
	"crypto/sha256"
	"sync"
)

// cacheEntry is a verified token: its claims, the times a hit re-checks,
// and the key that verified it.
type cacheEntry struct {
	claims         *Claims
	handle         any // the key source's handle of the key used
	exp, nbf, iat  float64
	hasExp, hasNbf bool
}

// tokenCache is a bounded map of verified tokens, keyed by the SHA-256 of
// the whole token. When it is full, an arbitrary entry (Go's map iteration
// order is random) makes room. Only successes are stored.
type tokenCache struct {
	size int

	mu sync.Mutex
	m  map[[sha256.Size]byte]*cacheEntry
	// Counters for Stats.
	hits, misses, evictions uint64
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, m: make(map[[sha256.Size]byte]*cacheEntry)}
}

// get returns the claims of a cached token that is still valid now:
// inside its exp and nbf (with the tolerance), inside the max token age,
// and verified by a key that is still in the key set. An entry that is no
// longer valid is dropped.
func (c *tokenCache) get(ctx context.Context, sum *[sha256.Size]byte, v *Verifier, now float64) *Claims {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[*sum]
	if e == nil || !v.stillValid(ctx, e, now) {
		delete(c.m, *sum)
		c.misses++
		return nil
	}
	c.hits++
	return e.claims
}

// put stores a verified token.
func (c *tokenCache) put(sum *[sha256.Size]byte, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[*sum]; !ok && len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			c.evictions++
			break
		}
	}
	c.m[*sum] = e
}

// stillValid re-checks what can change after verification: the time, and
// whether the key is still in the key set.
func (v *Verifier) stillValid(ctx context.Context, e *cacheEntry, now float64) bool {
	if e.hasExp && e.exp <= now-v.tolerance {
		return false
	}
	if e.hasNbf && e.nbf > now+v.tolerance {
		return false
	}
	if v.maxAge > 0 && (e.iat <= now-v.tolerance-v.maxAge || e.iat >= now+v.tolerance) {
		return false
	}
	return e.handle == nil || v.issuers.current(ctx, e.handle)
}
