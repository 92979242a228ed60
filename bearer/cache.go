package bearer

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// cacheShards is the number of independently locked parts of the cache.
const cacheShards = 16

// cacheEntry is a verified token: its claims, the times a hit re-checks,
// and the key that verified it.
type cacheEntry struct {
	claims         *Claims
	handle         any // the key source's handle of the key used
	exp, nbf, iat  float64
	hasExp, hasNbf bool
}

// tokenCache is a bounded map of verified tokens, keyed by the SHA-256 of
// the whole token. When a shard is full, an arbitrary entry (Go's map
// iteration order is random) makes room. Only successes are stored.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*cacheEntry
	// Counters for Stats, per shard so that lookups of different shards
	// do not contend on one cache line.
	hits, misses, evictions atomic.Uint64
}

func newTokenCache(size int) *tokenCache {
	per := (size + cacheShards - 1) / cacheShards
	c := &tokenCache{perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]*cacheEntry)
	}
	return c
}

// get returns the claims of a cached token that is still valid now:
// inside its exp and nbf (with the tolerance), inside the max token age,
// and verified by a key that is still in the key set. An entry that is no
// longer valid is dropped.
func (c *tokenCache) get(sum *[sha256.Size]byte, v *Verifier, now float64) *Claims {
	s := &c.shards[sum[0]%cacheShards]
	s.mu.RLock()
	e := s.m[*sum]
	s.mu.RUnlock()
	if e == nil {
		s.misses.Add(1)
		return nil
	}
	if !v.stillValid(e, now) {
		s.misses.Add(1)
		s.mu.Lock()
		if s.m[*sum] == e {
			delete(s.m, *sum)
		}
		s.mu.Unlock()
		return nil
	}
	s.hits.Add(1)
	return e.claims
}

// put stores a verified token.
func (c *tokenCache) put(sum *[sha256.Size]byte, e *cacheEntry) {
	s := &c.shards[sum[0]%cacheShards]
	s.mu.Lock()
	if _, ok := s.m[*sum]; !ok && len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			s.evictions.Add(1)
			break
		}
	}
	s.m[*sum] = e
	s.mu.Unlock()
}

// stillValid re-checks what can change after verification: the time, and
// whether the key is still in the key set.
func (v *Verifier) stillValid(e *cacheEntry, now float64) bool {
	if e.hasExp && e.exp <= now-v.tolerance {
		return false
	}
	if e.hasNbf && e.nbf > now+v.tolerance {
		return false
	}
	if v.maxAge > 0 && (e.iat <= now-v.tolerance-v.maxAge || e.iat >= now+v.tolerance) {
		return false
	}
	return e.handle == nil || v.keys.current(e.handle)
}
