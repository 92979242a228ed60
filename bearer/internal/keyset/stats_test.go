package keyset

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUsable walks a Set through its states and checks Usable and
// MetadataUsable at each, and that they never touch the network.
func TestUsable(t *testing.T) {
	testKeys(t)
	const maxAge, stale = 10 * time.Minute, time.Hour
	type step struct {
		name       string
		act        func(t *testing.T, p *provider, s *Set, clk *fakeClock)
		usable     string // "" means nil; else a substring of the error
		metaUsable string
	}
	good := func(p *provider) {
		p.serve("/.well-known/openid-configuration", http.StatusOK, p.metadata())
		p.serve("/jwks", http.StatusOK, jwks(t, jwk(t, &rsaA.PublicKey, "a", "RS256", nil)))
	}
	warm := func(t *testing.T, p *provider, s *Set, clk *fakeClock) {
		if err := s.Warm(bg); err != nil {
			t.Fatalf("Warm: %v", err)
		}
	}
	advance := func(d time.Duration) func(*testing.T, *provider, *Set, *fakeClock) {
		return func(_ *testing.T, _ *provider, _ *Set, clk *fakeClock) { clk.Advance(d) }
	}
	for _, tc := range []struct {
		name  string
		cfg   func(p *provider) Config
		setup func(p *provider)
		steps []step
	}{
		{
			name: "discovery: fresh, stale within StaleIfError, expired",
			cfg: func(p *provider) Config {
				return Config{IssuerBaseURL: p.URL("/"), MaxAge: maxAge, StaleIfError: stale}
			},
			setup: good,
			steps: []step{
				{"before any fetch", nil, "discovery metadata never fetched", "discovery metadata never fetched"},
				{"after Warm", warm, "", ""},
				{"past MaxAge, within StaleIfError", advance(maxAge + stale - time.Second), "", ""},
				{"past StaleIfError", advance(time.Second), "discovery metadata expired: fetched 1h10m0s ago, usable for 1h10m0s", "discovery metadata expired"},
			},
		},
		{
			name: "StaleIfError off: MaxAge is the limit",
			cfg: func(p *provider) Config {
				return Config{IssuerBaseURL: p.URL("/"), MaxAge: maxAge, StaleIfError: -1}
			},
			setup: good,
			steps: []step{
				{"after Warm", warm, "", ""},
				{"just before MaxAge", advance(maxAge - time.Second), "", ""},
				{"at MaxAge", advance(time.Second), "discovery metadata expired", "discovery metadata expired"},
			},
		},
		{
			name:  "JWKS URI only: static metadata",
			cfg:   func(p *provider) Config { return Config{JWKSURI: p.URL("/jwks"), MaxAge: maxAge} },
			setup: good,
			steps: []step{
				{"before any fetch", nil, "key set never fetched", ""},
				{"after Warm", warm, "", ""},
			},
		},
		{
			name: "discovery answers, key set fails: the cause is given",
			cfg:  func(p *provider) Config { return Config{IssuerBaseURL: p.URL("/"), MaxAge: maxAge} },
			setup: func(p *provider) {
				p.serve("/.well-known/openid-configuration", http.StatusOK, p.metadata())
				p.serve("/jwks", http.StatusInternalServerError, nil)
			},
			steps: []step{
				{"after a failed Warm", func(t *testing.T, _ *provider, s *Set, _ *fakeClock) {
					if err := s.Warm(bg); err == nil {
						t.Fatal("Warm succeeded")
					}
				}, "key set never fetched; last fetch failed: Expected 200 OK from the JSON Web Key Set HTTP response", ""},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t)
			tc.setup(p)
			clk := newClock()
			cfg := tc.cfg(p)
			cfg.Now = clk.Now
			s := newSet(t, cfg)
			for _, st := range tc.steps {
				hits := len(p.requestURIs())
				if st.act != nil {
					st.act(t, p, s, clk)
					hits = len(p.requestURIs())
				}
				check := func(fn string, err error, want string) {
					t.Helper()
					switch {
					case want == "" && err != nil:
						t.Errorf("%s: %s = %v, want nil", st.name, fn, err)
					case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
						t.Errorf("%s: %s = %v, want an error containing %q", st.name, fn, err, want)
					}
				}
				check("Usable", s.Usable(), st.usable)
				check("MetadataUsable", s.MetadataUsable(), st.metaUsable)
				if got := len(p.requestURIs()); got != hits {
					t.Errorf("%s: Usable made %d requests", st.name, got-hits)
				}
			}
		})
	}
}

// TestStats counts real fetches: successes and failures of discovery and
// key set, and one refetch for a storm of tokens with an unknown kid.
func TestStats(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/.well-known/openid-configuration", http.StatusOK, p.metadata())
	p.serve("/jwks", http.StatusOK, jwks(t, jwk(t, &rsaA.PublicKey, "a", "RS256", nil)))
	clk := newClock()
	shared := new(Counters)
	cfg := Config{IssuerBaseURL: p.URL("/"), Now: clk.Now, Counters: shared, MaxAge: 10 * time.Minute, Cooldown: 30 * time.Second}
	s := newSet(t, cfg)
	want := Stats{}
	expect := func(step string) {
		t.Helper()
		if got := s.Stats(); got != want {
			t.Fatalf("%s: Stats = %+v, want %+v", step, got, want)
		}
	}
	expect("new")

	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	want.DiscoveryFetches, want.KeySetFetches = 1, 1
	expect("Warm")

	// Within Cooldown an unknown kid is refused without a fetch.
	if _, err := s.Key(bg, "nope", "RS256"); err == nil {
		t.Fatal("unknown kid accepted")
	}
	expect("unknown kid within Cooldown")

	// After Cooldown, concurrent callers with an unknown kid share one
	// refetch (later callers see a set younger than Cooldown).
	clk.Advance(time.Minute)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = s.Key(bg, "nope", "RS256") })
	}
	wg.Wait()
	want.KeySetFetches, want.UnknownKIDRefetches = 2, 1
	expect("unknown kid storm")

	// Past MaxAge with a failing key set: discovery succeeds, the key
	// set fails (the stale copy keeps serving).
	p.serve("/jwks", http.StatusServiceUnavailable, nil)
	clk.Advance(11 * time.Minute)
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatalf("stale key refused: %v", err)
	}
	want.DiscoveryFetches, want.KeySetFetchErrors = 2, 1
	expect("key set failing")

	// Discovery failing: no key set fetch is attempted.
	p.serve("/.well-known/openid-configuration", http.StatusInternalServerError, nil)
	p.serve("/.well-known/oauth-authorization-server", http.StatusInternalServerError, nil)
	clk.Advance(11 * time.Minute) // the metadata is due again
	if err := s.Warm(bg); err == nil {
		t.Fatal("Warm succeeded with discovery down")
	}
	want.DiscoveryFetchErrors = 1
	expect("discovery failing")

	// A second Set sharing the counters adds to them.
	p.serve("/.well-known/openid-configuration", http.StatusOK, p.metadata())
	p.serve("/jwks", http.StatusOK, jwks(t, jwk(t, &rsaA.PublicKey, "a", "RS256", nil)))
	other := newSet(t, cfg)
	if err := other.Warm(bg); err != nil {
		t.Fatal(err)
	}
	want.DiscoveryFetches, want.KeySetFetches = 3, 3
	expect("shared counters")
	if got := other.Stats(); got != want {
		t.Errorf("other Set's Stats = %+v, want the shared %+v", got, want)
	}
	// A Set without Counters counts alone.
	alone := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clk.Now})
	if err := alone.Warm(bg); err != nil {
		t.Fatal(err)
	}
	if got := alone.Stats(); got != (Stats{DiscoveryFetches: 1, KeySetFetches: 1}) {
		t.Errorf("own counters: Stats = %+v", got)
	}
}
