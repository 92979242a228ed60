package bearer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestStats counts real verifications against a local provider: outcomes,
// token cache hits and misses, fetches by result and unknown-kid refetches.
func TestStats(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil)
	ctx := context.Background()
	good := rs256(t, baseClaims(idp.issuer()))
	forged := sign(t, jwt.SigningMethodRS256, rsaOther, nil, baseClaims(idp.issuer()))
	unknownKID := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "rotated"}, baseClaims(idp.issuer()))
	var want Stats
	expect := func(step string) {
		t.Helper()
		if got := v.Stats(); got != want {
			t.Fatalf("%s:\nStats = %+v\nwant    %+v", step, got, want)
		}
	}
	verify := func(token string, ok bool) {
		t.Helper()
		if _, err := v.Verify(ctx, token); (err == nil) != ok {
			t.Fatalf("Verify: %v, want success %v", err, ok)
		}
	}
	expect("new")

	verify(good, true)
	want.VerifyOK, want.CacheMisses, want.DiscoveryFetches, want.KeySetFetches = 1, 1, 1, 1
	expect("first token: fetched, verified, cached")

	verify(good, true)
	want.VerifyOK, want.CacheHits = 2, 1
	expect("same token: from the cache")

	verify(forged, false)
	want.VerifyInvalid, want.CacheMisses = 1, 2
	expect("forged signature")

	verify(unknownKID, false)
	want.VerifyInvalid, want.CacheMisses = 2, 3
	expect("unknown kid within Cooldown: no refetch")

	clk.Add(time.Minute)
	verify(unknownKID, false)
	want.VerifyInvalid, want.CacheMisses, want.KeySetFetches, want.UnknownKIDRefetches = 3, 4, 2, 1
	expect("unknown kid after Cooldown: one refetch")

	// The provider goes down and the keys expire beyond StaleIfError.
	idp.set(func(f *fakeIdP) {
		f.discoveryStatus, f.jwksStatus = http.StatusServiceUnavailable, http.StatusServiceUnavailable
	})
	clk.Add(DefaultCacheMaxAge + DefaultStaleIfError)
	// (A new token: the cached one is still served, its key being in the
	// last set.)
	verify(rs256(t, with(baseClaims(idp.issuer()), map[string]any{"sub": "new"})), false)
	want.VerifyUnavailable, want.CacheMisses, want.DiscoveryFetchErrors = 1, 5, 1
	expect("provider down, keys expired")

	if n := testing.AllocsPerRun(100, func() { _ = v.Stats() }); n != 0 {
		t.Errorf("Stats allocates %v times", n)
	}
}

// TestStatsCacheEvictions fills a small cache past its bound: every put
// into a full shard evicts one entry.
func TestStatsCacheEvictions(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, func(c *Config) { c.TokenCacheSize = cacheShards }) // one entry per shard
	const n = 40
	used := map[byte]bool{}
	for i := range n {
		token := rs256(t, with(baseClaims(idp.issuer()), map[string]any{"sub": fmt.Sprint("user", i)}))
		used[sha256.Sum256([]byte(token))[0]%cacheShards] = true
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	got := v.Stats()
	if want := uint64(n - len(used)); got.CacheEvictions != want || got.CacheMisses != n || got.VerifyOK != n {
		t.Errorf("Stats = %+v, want %d evictions, %d misses and successes", got, want, n)
	}
	if l := v.cache.len(); l != len(used) {
		t.Errorf("cache holds %d tokens, want %d", l, len(used))
	}
}

// TestStatsConcurrent verifies from several goroutines: no count is lost
// (and -race checks the counters).
func TestStatsConcurrent(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil)
	tokens := []string{rs256(t, baseClaims(idp.issuer())), rs256(t, with(baseClaims(idp.issuer()), map[string]any{"sub": "other"}))}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := v.Verify(context.Background(), tokens[(w+i)%2]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s := v.Stats()
	if s.VerifyOK != workers*each || s.CacheHits+s.CacheMisses != workers*each || s.CacheMisses < 2 || s.KeySetFetches != 1 || s.DiscoveryFetches != 1 {
		t.Errorf("Stats = %+v after %d verifications of 2 tokens", s, workers*each)
	}
}

// TestStatsIssuers sums every issuer's fetches, and counts resolver and
// configuration failures.
func TestStatsIssuers(t *testing.T) {
	s := newMultiSetup(t)
	v, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant1.example.com/", "https://tenant2.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{issuerToken(t, s.k1, "https://tenant1.example.com/", nil), true},
		{issuerToken(t, s.k2, "https://tenant2.example.com/", nil), true},
		{issuerToken(t, s.k1, "https://unauthorized.example.com/", nil), false},
	} {
		if _, err := v.Verify(ctx, tc.token); (err == nil) != tc.ok {
			t.Fatalf("Verify: %v", err)
		}
	}
	want := Stats{VerifyOK: 2, VerifyInvalid: 1, CacheMisses: 3, DiscoveryFetches: 2, KeySetFetches: 2}
	if got := v.Stats(); got != want {
		t.Errorf("Stats = %+v\nwant    %+v", got, want)
	}

	// A failing resolver is unavailable; an unusable configuration it
	// returns is an error.
	calls := 0
	r, err := New(s.config(IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
		calls++
		if calls == 1 {
			return nil, fmt.Errorf("directory down")
		}
		return []IssuerConfig{{Issuer: "https://tenant1.example.com/", PublicKey: []byte("not a key")}}, nil
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	token := issuerToken(t, s.k1, "https://tenant1.example.com/", nil)
	for range 2 {
		if _, err := r.Verify(ctx, token); err == nil {
			t.Fatal("Verify succeeded")
		}
	}
	if got := r.Stats(); got.VerifyUnavailable != 1 || got.VerifyErrors != 1 || got.VerifyOK+got.VerifyInvalid != 0 {
		t.Errorf("resolver failures: Stats = %+v", got)
	}
}

// TestStatsCacheOff: without a cache, no cache counts.
func TestStatsCacheOff(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, func(c *Config) { c.NoTokenCache = true })
	token := rs256(t, baseClaims(idp.issuer()))
	for range 3 {
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if got := v.Stats(); got != (Stats{VerifyOK: 3, DiscoveryFetches: 1, KeySetFetches: 1}) {
		t.Errorf("Stats = %+v", got)
	}
}
