package bearer

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Fault tests: the discovery path against a local provider that fails,
// hangs, answers garbage, rotates keys or goes away.

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// idpVerifier starts a provider serving keys and a verifier using it.
func idpVerifier(t *testing.T, clk *clock, mod func(*Config), keys ...jose.JSONWebKey) (*fakeIdP, *Verifier) {
	t.Helper()
	testKeys(t)
	if len(keys) == 0 {
		keys = []jose.JSONWebKey{jwk(&rsaKey.PublicKey, "kid", "RS256")}
	}
	idp := newFakeIdP(t, jwksJSON(t, keys...))
	cfg := Config{Audience: []string{testAudience}, IssuerBaseURL: idp.URL, Now: clk.Now, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	requireKeyset(t, cfg)
	idp.discoveryHits.Store(0)
	idp.jwksHits.Store(0)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return idp, v
}

func unavailable(msg string) (int, string, string) {
	return http.StatusServiceUnavailable, body(msg, CodeTemporarilyUnavailable), "-"
}

func checkRetryAfter(t *testing.T, h http.Header, want string) {
	t.Helper()
	if got := h.Get("Retry-After"); got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
}

func TestFaultDiscoveryAndJWKSErrors(t *testing.T) {
	cases := []struct {
		name string
		fail func(f *fakeIdP)
		msg  string
	}{
		{"discovery 500", func(f *fakeIdP) { f.discoveryStatus = 500 }, "Failed to fetch authorization server metadata"},
		{"discovery garbage", func(f *fakeIdP) { f.discoveryBody = []byte("<html>") }, "Failed to fetch authorization server metadata"},
		{"discovery without issuer", func(f *fakeIdP) { f.discoveryBody = []byte(`{"jwks_uri":"x"}`) }, "Failed to fetch authorization server metadata"},
		{"JWKS 500", func(f *fakeIdP) { f.jwksStatus = 500 }, "Expected 200 OK from the JSON Web Key Set HTTP response"},
		{"JWKS garbage", func(f *fakeIdP) { f.jwksGarbage = true }, "Failed to parse the JSON Web Key Set HTTP response as JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			idp, v := idpVerifier(t, clk, nil)
			idp.set(tc.fail)
			tok := rs256(t, baseClaims(idp.issuer()))
			rec := serve(v, bearerReq(tok))
			s, b, c := unavailable(tc.msg)
			checkResponse(t, rec, s, b, c)
			checkRetryAfter(t, rec.Header(), "30")
			// Failures are not cached: once the provider is back, the
			// next request after the retry interval (not the cooldown)
			// succeeds.
			idp.set(func(f *fakeIdP) { f.heal() })
			clk.Add(DefaultRetryInterval)
			rec = serve(v, bearerReq(tok))
			checkResponse(t, rec, 200, okBody, "-")
		})
	}
}

func TestFaultHangingProvider(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		jwksOnly  bool
	}{
		{"discovery hangs", "Failed to fetch authorization server metadata", false},
		{"JWKS hangs", "request timed out", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			idp, v := idpVerifier(t, clk, func(c *Config) { c.Timeout = 150 * time.Millisecond })
			iss := idp.issuer()
			if tc.jwksOnly {
				var err error
				v, err = New(Config{Audience: []string{testAudience}, Issuer: iss, JWKSURI: idp.URL + "/jwks.json", Now: clk.Now, Timeout: 150 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
			}
			idp.set(func(f *fakeIdP) { f.hang = make(chan struct{}) })
			start := time.Now()
			rec := serve(v, bearerReq(rs256(t, baseClaims(iss))))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("request took %v; the timeout is 150ms", d)
			}
			s, b, c := unavailable(tc.msg)
			checkResponse(t, rec, s, b, c)
		})
	}
}

// Keys rotate: a token with a new kid makes the verifier fetch the key set
// again (once the cooldown has passed) and succeed.
func TestFaultRotation(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil)
	iss := idp.issuer()
	checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(iss)))), 200, okBody, "-")
	idp.set(func(f *fakeIdP) { f.jwks = jwksJSON(t, jwk(&rsaKey2.PublicKey, "kid2", "RS256")) })
	newTok := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "kid2"}, baseClaims(iss))
	// Inside the cooldown: no refetch, the kid is unknown.
	s, b, c := invalid(msgNoKey)
	checkResponse(t, serve(v, bearerReq(newTok)), s, b, c)
	if n := idp.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times inside the cooldown, want 1", n)
	}
	clk.Add(31 * time.Second)
	checkResponse(t, serve(v, bearerReq(newTok)), 200, okBody, "-")
	if n := idp.jwksHits.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

// The provider goes down while keys are cached: requests keep succeeding
// on the last good key set (stale-while-error); with no key set at all
// they get 503 and Retry-After.
func TestFaultProviderDown(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, func(c *Config) { c.NoTokenCache = true })
	tok := rs256(t, baseClaims(idp.issuer()))
	checkResponse(t, serve(v, bearerReq(tok)), 200, okBody, "-")
	idp.set(func(f *fakeIdP) { f.discoveryStatus, f.jwksStatus = 500, 500 })
	clk.Add(11 * time.Minute) // past CacheMaxAge, inside StaleIfError
	checkResponse(t, serve(v, bearerReq(tok)), 200, okBody, "-")

	clk2 := newClock()
	idp2, v2 := idpVerifier(t, clk2, nil)
	idp2.set(func(f *fakeIdP) { f.discoveryStatus, f.jwksStatus = 500, 500 })
	rec := serve(v2, bearerReq(rs256(t, baseClaims(idp2.issuer()))))
	s, b, c := unavailable("Failed to fetch authorization server metadata")
	checkResponse(t, rec, s, b, c)
	checkRetryAfter(t, rec.Header(), "30")
}

// An unknown-kid storm costs at most one JWKS fetch per cooldown.
func TestAttackUnknownKIDStorm(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil)
	iss := idp.issuer()
	if err := v.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * time.Second) // the cooldown allows one refetch
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		tok := sign(t, jwt.SigningMethodRS256, rsaOther, map[string]any{"kid": "attacker-" + string(rune('a'+i%26)) + time.Duration(i).String()}, baseClaims(iss))
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = serve(v, bearerReq(tok)).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 401 {
			t.Errorf("request %d: status %d, want 401", i, c)
		}
	}
	if n := idp.jwksHits.Load(); n > 2 {
		t.Errorf("JWKS fetched %d times for a storm inside one cooldown, want at most 2 (warm + 1)", n)
	}
}

// Discovery: the OpenID Connect document first, then RFC 8414; one fetch
// of each document for concurrent first requests; refetched after
// CacheMaxAge.
func TestDiscoveryProbeAndCaching(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, func(c *Config) { c.NoTokenCache = true })
	idp.set(func(f *fakeIdP) { f.oidc = false })
	tok := rs256(t, baseClaims(idp.issuer()))
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := serve(v, bearerReq(tok)); rec.Code != 200 {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		}()
	}
	wg.Wait()
	if d, r, j := idp.discoveryHits.Load(), idp.rfc8414Hits.Load(), idp.jwksHits.Load(); d != 1 || r != 1 || j != 1 {
		t.Errorf("hits: oidc %d, rfc8414 %d, jwks %d; want 1 each", d, r, j)
	}
	clk.Add(11 * time.Minute)
	checkResponse(t, serve(v, bearerReq(tok)), 200, okBody, "-")
	if j := idp.jwksHits.Load(); j != 2 {
		t.Errorf("JWKS hits after CacheMaxAge = %d, want 2", j)
	}
}

// Without discovery (issuer + jwksUri) the key set is used directly, and
// there is no discovered algorithm list.
func TestJWKSURIWithoutDiscovery(t *testing.T) {
	testKeys(t)
	idp := newFakeIdP(t, jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "")))
	v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, JWKSURI: idp.URL + "/jwks.json", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(testIssuer)))), 200, okBody, "-")
	rs384 := sign(t, jwt.SigningMethodRS384, rsaKey, nil, baseClaims(testIssuer))
	checkResponse(t, serve(v, bearerReq(rs384)), 200, okBody, "-")
	if n := idp.discoveryHits.Load(); n != 0 {
		t.Errorf("discovery fetched %d times", n)
	}
}

// Warm fetches before the first request; a failing provider makes it
// return the 503 error; Close stops the key set.
func TestWarmAndClose(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, func(c *Config) { c.Cooldown = 10 * time.Second })
	if err := v.Warm(context.Background()); err != nil {
		t.Fatalf("Warm: %v", err)
	}
	if d, j := idp.discoveryHits.Load(), idp.jwksHits.Load(); d != 1 || j != 1 {
		t.Errorf("Warm fetched discovery %d, JWKS %d times; want 1, 1", d, j)
	}
	checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(idp.issuer())))), 200, okBody, "-")
	if j := idp.jwksHits.Load(); j != 1 {
		t.Errorf("first request fetched again (%d)", j)
	}
	if err := v.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	idp2, v2 := idpVerifier(t, clk, func(c *Config) { c.Cooldown = 10 * time.Second })
	idp2.set(func(f *fakeIdP) { f.jwksStatus = 502 })
	var e *Error
	if err := v2.Warm(context.Background()); !errors.As(err, &e) || e.Status != 503 || e.Code != CodeTemporarilyUnavailable || e.RetryAfter != 10*time.Second {
		t.Fatalf("Warm against a failing provider: %#v", err)
	}
	// Secret and static keys need no warming.
	cfg, _ := modes[0].setup(t)
	v3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v3.Warm(context.Background()); err != nil {
		t.Errorf("static Warm: %v", err)
	}
}

// A .well-known URL is fetched as is, and Issuer overrides the discovered
// issuer.
func TestDiscoveryURLAndIssuerOverride(t *testing.T) {
	testKeys(t)
	idp := newFakeIdP(t, jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")))
	cases := []struct {
		name      string
		cfg       Config
		tokenIss  string
		wantOK    bool
		wantHits  int64 // OIDC document fetches
		wantRFC84 int64
	}{
		{"well-known RFC 8414 URL as is", Config{IssuerBaseURL: idp.URL + "/.well-known/oauth-authorization-server"}, idp.issuer(), true, 0, 1},
		{"issuer override accepts the configured issuer", Config{IssuerBaseURL: idp.URL, Issuer: "https://custom.example.com/"}, "https://custom.example.com/", true, 1, 0},
		{"issuer override rejects the discovered issuer", Config{IssuerBaseURL: idp.URL, Issuer: "https://custom.example.com/"}, idp.issuer(), false, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idp.discoveryHits.Store(0)
			idp.rfc8414Hits.Store(0)
			tc.cfg.Audience, tc.cfg.Now = []string{testAudience}, fixedNow
			v, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			rec := serve(v, bearerReq(rs256(t, baseClaims(tc.tokenIss))))
			if tc.wantOK {
				checkResponse(t, rec, 200, okBody, "-")
			} else {
				s, b, c := invalid("Unexpected 'iss' value")
				checkResponse(t, rec, s, b, c)
			}
			if d, r := idp.discoveryHits.Load(), idp.rfc8414Hits.Load(); d != tc.wantHits || r != tc.wantRFC84 {
				t.Errorf("document fetches: OIDC %d, RFC 8414 %d; want %d, %d", d, r, tc.wantHits, tc.wantRFC84)
			}
		})
	}
}

// countingTransport counts the requests of a caller-supplied client.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// The caller's *http.Client makes the discovery and JWKS requests.
func TestCallerHTTPClient(t *testing.T) {
	rt := &countingTransport{}
	idp, v := idpVerifier(t, newClock(), func(c *Config) { c.HTTPClient = &http.Client{Transport: rt} })
	rt.n.Store(0) // idpVerifier's own probe used the client too
	checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(idp.issuer())))), 200, okBody, "-")
	if n := rt.n.Load(); n != 2 {
		t.Errorf("the caller's client made %d requests, want 2 (discovery, JWKS)", n)
	}
}

// A token in the verified-token cache gets no longer than any other token
// while the provider is down: once the key set is past CacheMaxAge +
// StaleIfError, the cached token is answered 503 like an uncached one.
func TestFaultCachedTokenOutlivesNoKeySet(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil) // token cache on (the default)
	tok := rs256(t, baseClaims(idp.issuer()))
	checkResponse(t, serve(v, bearerReq(tok)), 200, okBody, "-")
	idp.set(func(f *fakeIdP) { f.discoveryStatus, f.jwksStatus = 500, 500 })
	clk.Add(DefaultCacheMaxAge + DefaultStaleIfError - time.Minute)
	checkResponse(t, serve(v, bearerReq(tok)), 200, okBody, "-")
	clk.Add(2 * time.Minute)
	rec := serve(v, bearerReq(tok))
	if rec.Code != 503 {
		t.Fatalf("cached token past StaleIfError: status %d, want 503: %s", rec.Code, rec.Body)
	}
}
