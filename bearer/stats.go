package bearer

import (
	"errors"
	"net/http"
	"sync/atomic"
)

// Stats is a snapshot of a Verifier's counters since New. Every field only
// grows, so each maps to a monotonic counter (package metrics exposes them
// to Prometheus).
type Stats struct {
	// Verifications by outcome, one per Verify call (the middleware's
	// included; a request without a token makes none): VerifyOK returned
	// claims; VerifyInvalid a 4xx *Error (a bad, expired or foreign
	// token); VerifyUnavailable a 503 *Error (no usable key set or
	// metadata, a failing Resolve); VerifyErrors any other error (a
	// configuration returned by Resolve that cannot be used).
	VerifyOK, VerifyInvalid, VerifyUnavailable, VerifyErrors uint64

	// Verified-token cache: lookups answered from it (CacheHits), lookups
	// that were not, the token being absent or no longer valid
	// (CacheMisses), and entries dropped to make room (CacheEvictions).
	// All zero when the cache is off.
	CacheHits, CacheMisses, CacheEvictions uint64

	// Remote fetches of every issuer together: discovery documents and key
	// sets by result (a failed discovery attempt counts once, whichever
	// of its candidate URLs were tried), and the key set refetches a token
	// with an unknown kid started (at most one per Cooldown).
	DiscoveryFetches, DiscoveryFetchErrors uint64
	KeySetFetches, KeySetFetchErrors       uint64
	UnknownKIDRefetches                    uint64

	// Token Introspection (zero without it): calls to the endpoint that
	// gave a usable answer, those that did not (an outage, refused client
	// credentials, a malformed answer), and lookups in the cache of
	// answers.
	IntrospectionRequests, IntrospectionErrors       uint64
	IntrospectionCacheHits, IntrospectionCacheMisses uint64
}

// Stats returns a snapshot of v's counters. It is cheap (no allocation, the
// token cache's lock held briefly) and safe to call at any time, typically
// at each metrics scrape.
func (v *Verifier) Stats() Stats {
	ks := v.keyCounters.Stats()
	s := Stats{
		VerifyOK:             v.counts.ok.Load(),
		VerifyInvalid:        v.counts.invalid.Load(),
		VerifyUnavailable:    v.counts.unavailable.Load(),
		VerifyErrors:         v.counts.failed.Load(),
		DiscoveryFetches:     ks.DiscoveryFetches,
		DiscoveryFetchErrors: ks.DiscoveryFetchErrors,
		KeySetFetches:        ks.KeySetFetches,
		KeySetFetchErrors:    ks.KeySetFetchErrors,
		UnknownKIDRefetches:  ks.UnknownKIDRefetches,
	}
	if in := v.introspection; in != nil {
		s.IntrospectionRequests, s.IntrospectionErrors = in.answers.Load(), in.failures.Load()
		s.IntrospectionCacheHits, s.IntrospectionCacheMisses = in.hits.Load(), in.misses.Load()
	}
	if c := v.cache; c != nil {
		c.mu.Lock()
		s.CacheHits, s.CacheMisses, s.CacheEvictions = c.hits, c.misses, c.evictions
		c.mu.Unlock()
	}
	return s
}

// verifyCounts counts Verify's outcomes.
type verifyCounts struct {
	ok, invalid, unavailable, failed atomic.Uint64
}

// count adds the outcome of one Verify call.
func (c *verifyCounts) count(err error) {
	if err == nil {
		c.ok.Add(1)
		return
	}
	var e *Error
	ok := errors.As(err, &e)
	switch {
	case !ok:
		c.failed.Add(1)
	case e.Status == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
	case e.Status >= 400 && e.Status < 500:
		c.invalid.Add(1)
	default:
		c.failed.Add(1)
	}
}
