package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskapi/taskapi/bearer"
)

// bearerCollector exposes a token verifier's counters at each scrape.
type bearerCollector struct {
	stats                                       func() bearer.Stats
	verifications, cacheLookups, cacheEvictions *prometheus.Desc
	keyFetches, unknownKIDRefetches             *prometheus.Desc
	introspectionCacheLookups                   *prometheus.Desc
}

// NewBearerCollector returns a collector of a token verifier's counters,
// read from stats (typically (*bearer.Verifier).Stats) at each scrape:
//
//	taskapi_auth_verifications_total{outcome}     ok, invalid, unavailable, error
//	taskapi_auth_token_cache_lookups_total{result} hit, miss
//	taskapi_auth_token_cache_evictions_total
//	taskapi_auth_key_fetches_total{kind,result}    kind discovery, jwks or introspection; result ok or error
//	taskapi_auth_unknown_kid_refetches_total
//	taskapi_auth_introspection_cache_lookups_total{result} hit, miss
//
// Failed requests that never reach verification (no token, a malformed
// header) are counted by httpapi's taskapi_auth_failures_total, not here.
func NewBearerCollector(stats func() bearer.Stats) prometheus.Collector {
	return &bearerCollector{
		stats: stats,
		verifications: prometheus.NewDesc("taskapi_auth_verifications_total",
			"Access token verifications, by outcome: ok, invalid (401), unavailable (no usable signing keys: 503), error (500).",
			[]string{"outcome"}, nil),
		cacheLookups: prometheus.NewDesc("taskapi_auth_token_cache_lookups_total",
			"Lookups in the verified-token cache, by result: hit or miss.", []string{"result"}, nil),
		cacheEvictions: prometheus.NewDesc("taskapi_auth_token_cache_evictions_total",
			"Verified tokens dropped from the full cache to make room.", nil, nil),
		keyFetches: prometheus.NewDesc("taskapi_auth_key_fetches_total",
			"Fetches from the identity provider, by kind (discovery, jwks, introspection: a token introspection request) and result (ok, error).", []string{"kind", "result"}, nil),
		unknownKIDRefetches: prometheus.NewDesc("taskapi_auth_unknown_kid_refetches_total",
			"Key set refetches started by a token whose key id was not in the cached set.", nil, nil),
		introspectionCacheLookups: prometheus.NewDesc("taskapi_auth_introspection_cache_lookups_total",
			"Lookups in the cache of token introspection answers, by result: hit or miss.", []string{"result"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *bearerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.verifications, c.cacheLookups, c.cacheEvictions, c.keyFetches, c.unknownKIDRefetches, c.introspectionCacheLookups} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *bearerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.verifications, s.VerifyOK, "ok")
	counter(c.verifications, s.VerifyInvalid, "invalid")
	counter(c.verifications, s.VerifyUnavailable, "unavailable")
	counter(c.verifications, s.VerifyErrors, "error")
	counter(c.cacheLookups, s.CacheHits, "hit")
	counter(c.cacheLookups, s.CacheMisses, "miss")
	counter(c.cacheEvictions, s.CacheEvictions)
	counter(c.keyFetches, s.DiscoveryFetches, "discovery", "ok")
	counter(c.keyFetches, s.DiscoveryFetchErrors, "discovery", "error")
	counter(c.keyFetches, s.KeySetFetches, "jwks", "ok")
	counter(c.keyFetches, s.KeySetFetchErrors, "jwks", "error")
	counter(c.unknownKIDRefetches, s.UnknownKIDRefetches)
	counter(c.keyFetches, s.IntrospectionRequests, "introspection", "ok")
	counter(c.keyFetches, s.IntrospectionErrors, "introspection", "error")
	counter(c.introspectionCacheLookups, s.IntrospectionCacheHits, "hit")
	counter(c.introspectionCacheLookups, s.IntrospectionCacheMisses, "miss")
}
