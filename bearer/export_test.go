package bearer

// Accessors of unexported state that only the tests use.

// cacheShards is what the cache tests divide it by: it is one map.
const cacheShards = 1

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// add records the proof (thumbprint, jti) until expires and reports
// whether it was new: false means a replay seen at or before now.
func (c *replayCache) add(thumbprint, jti string, expires, now int64) bool {
	return c.addKey(replayKey(thumbprint, jti), expires, now)
}

// resolvedLen returns how many resolved issuers are kept.
func (s *issuerSet) resolvedLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}
