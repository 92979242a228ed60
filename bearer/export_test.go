package bearer

// Accessors of unexported state that only the tests use.

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
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
