package keyset

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"nothing to fetch", Config{}},
		{"relative issuer URL", Config{IssuerBaseURL: "/tenant"}},
		{"issuer URL without host", Config{IssuerBaseURL: "https:///x"}},
		{"ftp issuer URL", Config{IssuerBaseURL: "ftp://example.com/"}},
		{"unparsable issuer URL", Config{IssuerBaseURL: "http://[::1"}},
		{"relative JWKS URI", Config{JWKSURI: "jwks.json"}},
		{"http issuer URL off loopback", Config{IssuerBaseURL: "http://example.com/"}},
		{"http JWKS URI off loopback", Config{JWKSURI: "http://example.com/jwks"}},
		{"negative timeout", Config{JWKSURI: "https://example.com/jwks", Timeout: -1}},
		{"negative cooldown", Config{JWKSURI: "https://example.com/jwks", Cooldown: -1}},
		{"negative max age", Config{JWKSURI: "https://example.com/jwks", MaxAge: -1}},
		{"negative max bytes", Config{JWKSURI: "https://example.com/jwks", MaxBytes: -1}},
		{"negative retry interval", Config{JWKSURI: "https://example.com/jwks", RetryInterval: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := New(tt.cfg); err == nil {
				s.Close()
				t.Fatal("New accepted the config")
			}
		})
	}
	s := newSet(t, Config{IssuerBaseURL: "https://tenant.example.com/"})
	if s.cfg.Timeout != DefaultTimeout || s.cfg.Cooldown != DefaultCooldown || s.cfg.MaxAge != DefaultMaxAge ||
		s.cfg.StaleIfError != DefaultStaleIfError || s.cfg.MaxBytes != DefaultMaxBytes || s.cfg.RetryInterval != DefaultRetryInterval {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
}

func TestDiscoveryURLs(t *testing.T) {
	tests := []struct {
		base string
		want []string
	}{
		{"https://a.example/", []string{"https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"}},
		{"https://a.example", []string{"https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"}},
		{"https://a.example/tenant/path", []string{"https://a.example/tenant/path/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/tenant/path"}},
		{"https://a.example/tenant/path/", []string{"https://a.example/tenant/path/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/tenant/path"}},
		{"https://a.example:8443/t?x=1#f", []string{"https://a.example:8443/t/.well-known/openid-configuration", "https://a.example:8443/.well-known/oauth-authorization-server/t"}},
		{"https://a.example/a%2Fb", []string{"https://a.example/a%2Fb/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/a%2Fb"}},
		{"https://a.example/t/.well-known/openid-configuration?p=B2C_1", []string{"https://a.example/t/.well-known/openid-configuration?p=B2C_1"}},
		{"https://a.example/.well-known/oauth-authorization-server/t", []string{"https://a.example/.well-known/oauth-authorization-server/t"}},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			u, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if got := discoveryURLs(u); !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDiscoveryOrder(t *testing.T) {
	tests := []struct {
		name     string
		basePath string
		serveAt  []string // paths that answer with metadata
		wantURIs []string // requests made by discovery, in order
	}{
		{"OIDC first", "/", []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"},
			[]string{"/.well-known/openid-configuration"}},
		{"RFC 8414 fallback", "/", []string{"/.well-known/oauth-authorization-server"},
			[]string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}},
		{"path: OIDC appended", "/tenant/path", []string{"/tenant/path/.well-known/openid-configuration"},
			[]string{"/tenant/path/.well-known/openid-configuration"}},
		{"path: RFC 8414 inserted", "/tenant/path", []string{"/.well-known/oauth-authorization-server/tenant/path"},
			[]string{"/tenant/path/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant/path"}},
		{"trailing slash", "/tenant/", []string{"/.well-known/oauth-authorization-server/tenant"},
			[]string{"/tenant/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant"}},
		{"path and query: query dropped", "/tenant?x=1", []string{"/.well-known/oauth-authorization-server/tenant"},
			[]string{"/tenant/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant"}},
		{"well-known URL as is", "/custom/.well-known/openid-configuration?p=policy", []string{"/custom/.well-known/openid-configuration"},
			[]string{"/custom/.well-known/openid-configuration?p=policy"}},
	}
	testKeys(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			for _, path := range tt.serveAt {
				p.serve(path, 200, p.metadata("RS256"))
			}
			p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
			s := newSet(t, Config{IssuerBaseURL: p.URL(tt.basePath)})
			m, err := s.Metadata(bg)
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			if m.Issuer != p.URL("/") || m.JWKSURI != p.URL("/jwks") || !slices.Equal(m.SigningAlgs, []string{"RS256"}) {
				t.Errorf("metadata = %+v", m)
			}
			got := slices.DeleteFunc(p.requestURIs(), func(u string) bool { return u == "/jwks" })
			if !slices.Equal(got, tt.wantURIs) {
				t.Fatalf("requests %q, want %q", got, tt.wantURIs)
			}
		})
	}
}

func TestDiscoveryFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		jwksURI string // Config.JWKSURI
		wantErr bool
	}{
		{"500", 500, `{"issuer":"x","jwks_uri":"http://127.0.0.1/jwks"}`, "", true},
		{"not JSON", 200, `<html>`, "", true},
		{"JSON array", 200, `[]`, "", true},
		{"JSON null", 200, `null`, "", true},
		{"missing issuer", 200, `{"jwks_uri":"http://127.0.0.1/jwks"}`, "", true},
		{"empty issuer", 200, `{"issuer":"","jwks_uri":"http://127.0.0.1/jwks"}`, "", true},
		{"issuer not a string", 200, `{"issuer":1,"jwks_uri":"http://127.0.0.1/jwks"}`, "", true},
		{"missing jwks_uri", 200, `{"issuer":"x"}`, "", true},
		{"relative jwks_uri", 200, `{"issuer":"x","jwks_uri":"/jwks"}`, "", true},
		{"jwks_uri not http", 200, `{"issuer":"x","jwks_uri":"file:///etc/passwd"}`, "", true},
		{"bad algs", 200, `{"issuer":"x","jwks_uri":"http://127.0.0.1/jwks","id_token_signing_alg_values_supported":"RS256"}`, "", true},
		{"missing jwks_uri with override", 200, `{"issuer":"x"}`, "http://127.0.0.1/override", false},
		{"relative jwks_uri with override", 200, `{"issuer":"x","jwks_uri":"/jwks"}`, "http://127.0.0.1/override", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			p.serve("/.well-known/openid-configuration", tt.status, []byte(tt.body))
			s := newSet(t, Config{IssuerBaseURL: p.URL("/"), JWKSURI: tt.jwksURI})
			m, err := s.Metadata(bg)
			if !tt.wantErr {
				if err != nil || m.JWKSURI != tt.jwksURI || m.Issuer != "x" {
					t.Fatalf("Metadata = %+v, %v", m, err)
				}
				return
			}
			e := asError(t, err)
			if e.Message != msgDiscovery || !e.Unavailable || e.Err == nil {
				t.Fatalf("error = %+v", e)
			}
			// Both candidates were tried.
			if p.hitsOf("/.well-known/openid-configuration") != 1 || p.hitsOf("/.well-known/oauth-authorization-server") != 1 {
				t.Fatalf("requests: %q", p.requestURIs())
			}
			// Key fails the same way, without another attempt inside RetryInterval.
			_, err = s.Key(bg, "a", "RS256")
			if e := asError(t, err); e.Message != msgDiscovery || !e.Unavailable {
				t.Fatalf("Key error = %+v", e)
			}
			if n := len(p.requestURIs()); n != 2 {
				t.Fatalf("%d requests, want 2", n)
			}
		})
	}
}

func TestDiscoveryTimeout(t *testing.T) {
	p := newProvider(t)
	p.hang("/.well-known/openid-configuration")
	p.hang("/.well-known/oauth-authorization-server")
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := s.Metadata(bg)
	elapsed := time.Since(start)
	if e := asError(t, err); e.Message != msgDiscovery || !e.Unavailable {
		t.Fatalf("error = %+v", e)
	}
	if !isTimeout(err) {
		t.Errorf("cause is not a timeout: %v", err)
	}
	if elapsed > 3*time.Second { // two fetches of 100 ms each, with a generous margin
		t.Fatalf("discovery took %v", elapsed)
	}
}

func TestJWKSFailures(t *testing.T) {
	testKeys(t)
	big := jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil), jwk(t, &rsaB.PublicKey, "b", "", nil))
	tests := []struct {
		name     string
		setup    func(p *provider)
		maxBytes int64
		wantMsg  string
	}{
		{"500", func(p *provider) { p.serve("/jwks", 500, jwks(t)) }, 0, msgJWKSStatus},
		{"404", func(p *provider) { p.serve("/jwks", 404, nil) }, 0, msgJWKSStatus},
		{"204", func(p *provider) { p.serve("/jwks", 204, nil) }, 0, msgJWKSStatus},
		{"not JSON", func(p *provider) { p.serve("/jwks", 200, []byte("<html>")) }, 0, msgJWKSParse},
		{"wrong shape", func(p *provider) { p.serve("/jwks", 200, []byte(`{"keys":{}}`)) }, 0, msgJWKSMalformed},
		{"oversized", func(p *provider) { p.serve("/jwks", 200, big) }, int64(len(big) - 1), msgJWKSTooLarge},
		{"oversized without Content-Length", func(p *provider) {
			p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 10; i++ {
					_, _ = w.Write(big)
					w.(http.Flusher).Flush()
				}
			})
		}, int64(len(big) * 2), msgJWKSTooLarge},
		{"hanging", func(p *provider) { p.hang("/jwks") }, 0, msgTimeout},
		{"hanging body", func(p *provider) {
			p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"keys":[`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
		}, 0, msgTimeout},
		{"connection refused", func(p *provider) { p.srv.Close() }, 0, msgJWKSFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			tt.setup(p)
			s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Timeout: 100 * time.Millisecond, MaxBytes: tt.maxBytes})
			start := time.Now()
			_, err := s.Key(bg, "a", "RS256")
			if e := asError(t, err); e.Message != tt.wantMsg || !e.Unavailable {
				t.Fatalf("error = %+v (%v), want %q", e, err, tt.wantMsg)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v with a 100ms timeout", d)
			}
		})
	}
}

func TestNoDiscoveryMetadata(t *testing.T) {
	s := newSet(t, Config{JWKSURI: "http://127.0.0.1:1/jwks"})
	m, err := s.Metadata(bg)
	if err != nil || m.JWKSURI != "http://127.0.0.1:1/jwks" || m.Issuer != "" || m.SigningAlgs != nil {
		t.Fatalf("Metadata = %+v, %v", m, err)
	}
}

func TestUnsupportedAlgNeedsNoFetch(t *testing.T) {
	p := newProvider(t)
	s := newSet(t, Config{JWKSURI: p.URL("/jwks")})
	for _, alg := range []string{"none", "HS256", "es256k", ""} {
		_, err := s.Key(bg, "a", alg)
		if e := asError(t, err); e.Message != msgUnsupportedAlg || e.Unavailable {
			t.Fatalf("alg %q: error = %+v", alg, e)
		}
	}
	if len(p.requestURIs()) != 0 {
		t.Fatal("fetched for an unsupported alg")
	}
}

// rsaProvider serves discovery and a JWKS with the given keys.
func rsaProvider(t *testing.T, keys ...map[string]any) *provider {
	p := newProvider(t)
	p.serve("/.well-known/openid-configuration", 200, p.metadata("RS256"))
	p.serve("/jwks", 200, jwks(t, keys...))
	return p
}

func TestSingleFlight(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	gate := make(chan struct{})
	p.handle("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		<-gate
		_, _ = w.Write(p.metadata("RS256"))
	})
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: newClock().Now})

	const n = 50
	var wg sync.WaitGroup
	var started, ok atomic.Int32
	for range n {
		wg.Go(func() {
			started.Add(1)
			if k, err := s.Key(bg, "a", "RS256"); err == nil && k.KID == "a" {
				ok.Add(1)
			}
		})
	}
	waitFor(t, "callers to start", func() bool { return started.Load() == n })
	waitFor(t, "the discovery request", func() bool { return p.hitsOf("/.well-known/openid-configuration") == 1 })
	close(gate)
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d callers got the key", ok.Load(), n)
	}
	if d, j := p.hitsOf("/.well-known/openid-configuration"), p.hitsOf("/jwks"); d != 1 || j != 1 {
		t.Fatalf("discovery fetched %d times, JWKS %d times; want 1 and 1", d, j)
	}
}

func TestCallerCancelDoesNotCancelFetch(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	gate := make(chan struct{})
	p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
		<-gate
		_, _ = w.Write(jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	})
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: newClock().Now})

	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() { _, err := s.Key(ctx, "a", "RS256"); errc <- err }()
	waitFor(t, "the JWKS request", func() bool { return p.hitsOf("/jwks") == 1 })
	cancel()
	err := <-errc
	if e := asError(t, err); !errors.Is(e, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(gate)
	k, err := s.Key(bg, "a", "RS256")
	if err != nil || k.KID != "a" {
		t.Fatalf("second caller: %v, %v", k, err)
	}
	if n := p.hitsOf("/jwks"); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (the first fetch was cancelled)", n)
	}
}

func TestMaxAge(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now})
	steps := []struct {
		advance              time.Duration
		wantJWKS, wantDiscov int
	}{
		{0, 1, 1},
		{5 * time.Minute, 1, 1},
		{5*time.Minute - time.Second, 1, 1},
		{time.Second, 2, 2}, // 10 min: both refetched
		{9 * time.Minute, 2, 2},
		{time.Minute, 3, 3},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if _, err := s.Key(bg, "a", "RS256"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if _, err := s.Metadata(bg); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if j, d := p.hitsOf("/jwks"), p.hitsOf("/.well-known/openid-configuration"); j != st.wantJWKS || d != st.wantDiscov {
			t.Fatalf("step %d: JWKS %d, discovery %d fetches; want %d, %d", i, j, d, st.wantJWKS, st.wantDiscov)
		}
	}
}

func TestUnknownKidCooldown(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now})
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	storm := func() {
		t.Helper()
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				_, err := s.Key(bg, "unknown-"+string(rune('a'+i%26)), "RS256")
				if e := asError(t, err); e.Message != msgNoKey || e.Unavailable {
					t.Errorf("error = %+v", e)
				}
			})
		}
		wg.Wait()
	}
	storm() // inside the cooldown: no fetch
	if n := p.hitsOf("/jwks"); n != 1 {
		t.Fatalf("JWKS fetched %d times inside the cooldown, want 1", n)
	}
	clock.Advance(29 * time.Second)
	storm()
	if n := p.hitsOf("/jwks"); n != 1 {
		t.Fatalf("JWKS fetched %d times inside the cooldown, want 1", n)
	}
	clock.Advance(time.Second) // cooldown over: one refetch for the whole storm
	storm()
	if n := p.hitsOf("/jwks"); n != 2 {
		t.Fatalf("JWKS fetched %d times after the cooldown, want 2", n)
	}
	storm() // the refetch restarted the cooldown
	if n := p.hitsOf("/jwks"); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	if n := p.hitsOf("/.well-known/openid-configuration"); n != 1 {
		t.Fatalf("discovery fetched %d times, want 1 (a kid miss refetches only the key set)", n)
	}
}

func TestRotation(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now})
	ka, err := s.Key(bg, "a", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaB.PublicKey, "b", "", nil)))
	if _, err := s.Key(bg, "b", "RS256"); err == nil {
		t.Fatal("new key found inside the cooldown")
	}
	clock.Advance(DefaultCooldown)
	kb, err := s.Key(bg, "b", "RS256")
	if err != nil || !rsaB.PublicKey.Equal(kb.Public) {
		t.Fatalf("rotated key: %v, %v", kb, err)
	}
	if s.Contains(ka) || !s.Contains(kb) {
		t.Fatalf("Contains(old) = %v, Contains(new) = %v", s.Contains(ka), s.Contains(kb))
	}
	if _, err := s.Key(bg, "a", "RS256"); err == nil {
		t.Fatal("removed key still served")
	}
}

func TestFailuresNotCached(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 500, nil)
	clock := newClock()
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: clock.Now})
	if _, err := s.Key(bg, "a", "RS256"); asError(t, err).Message != msgJWKSStatus {
		t.Fatalf("error = %v", err)
	}
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	// Inside RetryInterval the provider is spared.
	clock.Advance(DefaultRetryInterval - time.Millisecond)
	if _, err := s.Key(bg, "a", "RS256"); asError(t, err).Message != msgJWKSStatus {
		t.Fatalf("error = %v", err)
	}
	if n := p.hitsOf("/jwks"); n != 1 {
		t.Fatalf("%d fetches inside the retry interval, want 1", n)
	}
	clock.Advance(time.Millisecond)
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatalf("after the retry interval: %v", err)
	}
	if n := p.hitsOf("/jwks"); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestStaleWhileError(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now, StaleIfError: 30 * time.Minute})
	ka, err := s.Key(bg, "a", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	p.serve("/jwks", 503, nil)
	p.serve("/.well-known/openid-configuration", 503, nil)
	p.serve("/.well-known/oauth-authorization-server", 503, nil)
	discoveryHits := func() int {
		return p.hitsOf("/.well-known/openid-configuration") + p.hitsOf("/.well-known/oauth-authorization-server")
	}

	clock.Advance(DefaultMaxAge) // stale: one synchronous attempt fails, the old key is served
	if k, err := s.Key(bg, "a", "RS256"); err != nil || k != ka {
		t.Fatalf("stale key: %v, %v", k, err)
	}
	if m, err := s.Metadata(bg); err != nil || m.JWKSURI != p.URL("/jwks") {
		t.Fatalf("stale metadata: %+v, %v", m, err)
	}
	if n := discoveryHits(); n != 3 {
		t.Fatalf("discovery hits %d, want 3", n)
	}
	clock.Advance(DefaultRetryInterval / 2) // inside the retry interval: served at once, no fetch
	if k, err := s.Key(bg, "a", "RS256"); err != nil || k != ka {
		t.Fatalf("stale key: %v, %v", k, err)
	}
	if n := discoveryHits(); n != 3 {
		t.Fatalf("discovery hits %d, want 3", n)
	}
	clock.Advance(DefaultRetryInterval) // retry due: served at once, retried in the background
	if k, err := s.Key(bg, "a", "RS256"); err != nil || k != ka {
		t.Fatalf("stale key: %v, %v", k, err)
	}
	waitFor(t, "the background retry", func() bool { return s.state.Load().version == 3 })
	if n := discoveryHits(); n != 5 {
		t.Fatalf("discovery hits %d, want 5", n)
	}

	clock.Advance(30 * time.Minute) // StaleIfError over
	_, err = s.Key(bg, "a", "RS256")
	if e := asError(t, err); e.Message != msgDiscovery || !e.Unavailable {
		t.Fatalf("error = %+v", e)
	}
	if _, err := s.Metadata(bg); err == nil {
		t.Fatal("metadata served past StaleIfError")
	}

	// The provider recovers: keys are fresh again.
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	p.serve("/.well-known/openid-configuration", 200, p.metadata("RS256"))
	clock.Advance(DefaultRetryInterval)
	if k, err := s.Key(bg, "a", "RS256"); err != nil || k != ka {
		t.Fatalf("after recovery: %v, %v (same key keeps its pointer)", k, err)
	}
}

func TestStaleIfErrorOff(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	clock := newClock()
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: clock.Now, StaleIfError: -1})
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	p.serve("/jwks", 500, nil)
	clock.Advance(DefaultMaxAge)
	_, err := s.Key(bg, "a", "RS256")
	if e := asError(t, err); e.Message != msgJWKSStatus || !e.Unavailable {
		t.Fatalf("error = %+v", e)
	}
}

func TestProviderDownWhileCached(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil), jwk(t, &ecP256.PublicKey, "e", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now})
	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	p.srv.Close()
	clock.Advance(DefaultMaxAge - time.Second)
	for _, tc := range []struct{ kid, alg string }{{"a", "RS256"}, {"e", "ES256"}, {"", "ES256"}} {
		if _, err := s.Key(bg, tc.kid, tc.alg); err != nil {
			t.Fatalf("Key(%q, %q): %v", tc.kid, tc.alg, err)
		}
	}
	// An unknown kid while the provider is down is an outage, not a bad token.
	_, err := s.Key(bg, "new", "RS256")
	if e := asError(t, err); !e.Unavailable || e.Message != msgJWKSFetch {
		t.Fatalf("unknown kid while down: %+v", e)
	}
	// Past MaxAge the stale set is served (StaleIfError defaults to 1h).
	clock.Advance(2 * time.Second)
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatalf("stale: %v", err)
	}
}

func TestRefreshAhead(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	clock := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clock.Now, RefreshAhead: true})
	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	// Block the next JWKS fetch: a request must not wait for it.
	gate := make(chan struct{})
	p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
		<-gate
		_, _ = w.Write(jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	})
	clock.Advance(7 * time.Minute) // 70%: nothing yet
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	if s.flying() {
		t.Fatal("refresh started before 80% of MaxAge")
	}
	clock.Advance(2 * time.Minute) // 90%
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the background JWKS request", func() bool { return p.hitsOf("/jwks") == 2 })
	if n := p.hitsOf("/.well-known/openid-configuration"); n != 2 {
		t.Fatalf("discovery fetched %d times, want 2 (refreshed ahead too)", n)
	}
	close(gate)
	waitFor(t, "the refresh to finish", func() bool { return !s.flying() })
	clock.Advance(2 * time.Minute) // 110% of the first fetch, 20% of the refresh
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	if n := p.hitsOf("/jwks"); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
}

func TestRefreshAheadWhenIdle(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	// Real clock: the background loop alone must refresh an idle Set.
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), MaxAge: 200 * time.Millisecond, RefreshAhead: true})
	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "background refreshes", func() bool { return p.hitsOf("/jwks") >= 3 })
}

func TestContainsIdentity(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil), jwk(t, &rsaB.PublicKey, "b", "", nil), jwk(t, &ecP256.PublicKey, "e", "", nil)))
	clock := newClock()
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: clock.Now})
	get := func(kid, alg string) *Key {
		t.Helper()
		k, err := s.Key(bg, kid, alg)
		if err != nil {
			t.Fatalf("Key(%q): %v", kid, err)
		}
		return k
	}
	ka, kb, ke := get("a", "RS256"), get("b", "RS256"), get("e", "ES256")
	if !s.Contains(ka) || !s.Contains(kb) || !s.Contains(ke) || s.Contains(nil) || s.Contains(&Key{KID: "a", Public: ka.Public}) {
		t.Fatal("Contains wrong on the first set")
	}
	// Next set: a unchanged, b removed, e same kid but another key.
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil), jwk(t, &ecP384.PublicKey, "e", "", nil)))
	clock.Advance(DefaultMaxAge)
	if k := get("a", "RS256"); k != ka {
		t.Fatal("unchanged key got a new pointer")
	}
	if p.hitsOf("/jwks") != 2 {
		t.Fatal("no refetch")
	}
	if !s.Contains(ka) {
		t.Error("Contains(unchanged key) = false")
	}
	if s.Contains(kb) {
		t.Error("Contains(removed key) = true")
	}
	if s.Contains(ke) {
		t.Error("Contains(replaced key) = true")
	}
	if k := get("e", "ES384"); k == ke || !s.Contains(k) {
		t.Error("replaced key: same pointer or not contained")
	}
}

func TestWarm(t *testing.T) {
	testKeys(t)
	p := rsaProvider(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: newClock().Now})
	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	if err := s.Warm(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Metadata(bg); err != nil {
		t.Fatal(err)
	}
	if j, d := p.hitsOf("/jwks"), p.hitsOf("/.well-known/openid-configuration"); j != 1 || d != 1 {
		t.Fatalf("JWKS %d, discovery %d fetches; want 1, 1", j, d)
	}

	down := newProvider(t)
	down.serve("/jwks", 500, nil)
	s2 := newSet(t, Config{JWKSURI: down.URL("/jwks")})
	if err := s2.Warm(bg); err == nil || asError(t, err).Message != msgJWKSStatus {
		t.Fatalf("Warm against a failing provider: %v", err)
	}
}

func TestClose(t *testing.T) {
	p := newProvider(t)
	p.hang("/jwks")
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), RefreshAhead: true})
	errc := make(chan error, 1)
	go func() { _, err := s.Key(bg, "a", "RS256"); errc <- err }()
	waitFor(t, "the JWKS request", func() bool { return p.hitsOf("/jwks") == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if e := asError(t, <-errc); !e.Unavailable {
		t.Fatalf("waiter after Close: %+v", e)
	}
	_, err := s.Key(bg, "a", "RS256")
	if e := asError(t, err); !errors.Is(e, ErrClosed) || !e.Unavailable {
		t.Fatalf("after Close: %+v", e)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

// countingTransport counts requests and marks them, to prove the
// configured client is used.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	r = r.Clone(r.Context())
	r.Header.Set("X-Via", "custom")
	return http.DefaultTransport.RoundTrip(r)
}

func TestCustomClient(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Via") != "custom" {
			w.WriteHeader(403)
			return
		}
		_, _ = w.Write(jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	})
	tr := &countingTransport{}
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Client: &http.Client{Transport: tr}})
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() != 1 {
		t.Fatalf("custom transport used %d times", tr.n.Load())
	}
}

func TestWarmKeyAllocatesNothing(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil), jwk(t, &rsaB.PublicKey, "b", "", nil)))
	s := newSet(t, Config{JWKSURI: p.URL("/jwks")})
	k, err := s.Key(bg, "b", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if got, _ := s.Key(bg, "b", "RS256"); got != k || !s.Contains(got) {
			panic("wrong key")
		}
	})
	if allocs != 0 {
		t.Fatalf("warm Key+Contains allocates %v times", allocs)
	}
}

func BenchmarkWarmKey(b *testing.B) {
	testKeys(b)
	p := newProvider(b)
	p.serve("/jwks", 200, jwks(b, jwk(b, &rsaA.PublicKey, "a", "", nil), jwk(b, &rsaB.PublicKey, "b", "", nil)))
	s := newSet(b, Config{JWKSURI: p.URL("/jwks")})
	if _, err := s.Key(bg, "b", "RS256"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		k, _ := s.Key(bg, "b", "RS256")
		if !s.Contains(k) {
			b.Fatal("not contained")
		}
	}
}

func TestUnknownKidStormWhileFailing(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	clock := newClock()
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: clock.Now})
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	p.serve("/jwks", 500, nil)
	clock.Advance(DefaultCooldown)
	for round := range 3 {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, err := s.Key(bg, "rotated", "RS256")
				if e := asError(t, err); e.Message != msgJWKSStatus || !e.Unavailable {
					t.Errorf("error = %+v", e)
				}
				// Known keys keep working meanwhile.
				if _, err := s.Key(bg, "a", "RS256"); err != nil {
					t.Errorf("known key: %v", err)
				}
			})
		}
		wg.Wait()
		if got, want := p.hitsOf("/jwks"), 2+round; got != want {
			t.Fatalf("round %d: %d fetches, want %d (one per RetryInterval)", round, got, want)
		}
		clock.Advance(DefaultRetryInterval)
	}
}

func TestWellKnownURLFailure(t *testing.T) {
	p := newProvider(t)
	p.serve("/t/.well-known/openid-configuration", 500, nil)
	s := newSet(t, Config{IssuerBaseURL: p.URL("/t/.well-known/openid-configuration")})
	_, err := s.Metadata(bg)
	e := asError(t, err)
	if e.Message != msgDiscovery || !e.Unavailable || !strings.Contains(e.Err.Error(), "responded with 500") {
		t.Fatalf("error = %+v", e)
	}
	if got := p.requestURIs(); !slices.Equal(got, []string{"/t/.well-known/openid-configuration"}) {
		t.Fatalf("requests %q: a .well-known URL has no fallback", got)
	}
}

func TestMaxBytesBoundary(t *testing.T) {
	testKeys(t)
	body := jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil))
	p := newProvider(t)
	p.serve("/jwks", 200, body)
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), MaxBytes: int64(len(body))})
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatalf("a body of exactly MaxBytes: %v", err)
	}
}

func TestClosedBeforeFirstFetch(t *testing.T) {
	p := newProvider(t)
	s := newSet(t, Config{IssuerBaseURL: p.URL("/")})
	s.Close()
	_, err := s.Key(bg, "a", "RS256")
	if e := asError(t, err); !errors.Is(e, ErrClosed) || !e.Unavailable || e.Message != msgDiscovery {
		t.Fatalf("error = %+v", e)
	}
	if len(p.requestURIs()) != 0 {
		t.Fatal("fetched after Close")
	}
}

func TestCallerDeadline(t *testing.T) {
	p := newProvider(t)
	p.hang("/jwks")
	s := newSet(t, Config{JWKSURI: p.URL("/jwks")})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err := s.Key(ctx, "a", "RS256")
	if e := asError(t, err); e.Message != msgTimeout || !e.Unavailable || !errors.Is(e, context.DeadlineExceeded) {
		t.Fatalf("error = %+v", e)
	}
}

// A caller that decided to fetch on an old snapshot must not fetch again
// when an attempt finished meanwhile: that is what keeps late arrivals of a
// storm from causing a second fetch.
func TestNoFetchWhenAnAttemptFinishedMeanwhile(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: newClock().Now})
	seen := s.state.Load().version
	if _, err := s.Key(bg, "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	next, err := s.refresh(bg, seen)
	if err != nil || next.keys == nil {
		t.Fatalf("refresh: %v", err)
	}
	s.refreshAsync(seen)
	if s.flying() || p.hitsOf("/jwks") != 1 {
		t.Fatalf("fetched again: %d fetches", p.hitsOf("/jwks"))
	}
}

// TestContainsExpires: a key stops counting as in the set once the set is
// past MaxAge + StaleIfError, so a token cached under it cannot outlive the
// stale-while-error bound while the provider is down.
func TestContainsExpires(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name  string
		stale time.Duration
		alive time.Duration // the last instant Contains is still true
	}{
		{"stale while error", 30 * time.Minute, DefaultMaxAge + 30*time.Minute - time.Second},
		{"stale while error off", -1, DefaultMaxAge - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
			clock := newClock()
			s := newSet(t, Config{JWKSURI: p.URL("/jwks"), Now: clock.Now, StaleIfError: tt.stale})
			k, err := s.Key(bg, "a", "RS256")
			if err != nil {
				t.Fatal(err)
			}
			p.srv.Close()
			clock.Advance(tt.alive)
			if !s.Contains(k) {
				t.Fatal("Contains = false while the set may still be served")
			}
			clock.Advance(time.Second)
			if s.Contains(k) {
				t.Fatal("Contains = true past the bound")
			}
			if p.hitsOf("/jwks") != 1 {
				t.Fatalf("Contains fetched: %d fetches", p.hitsOf("/jwks"))
			}
		})
	}
}

// A document whose issuer CheckIssuer refuses is not used: the next
// candidate is tried, and when none passes, discovery fails as an outage.
func TestCheckIssuer(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	p.serve("/.well-known/openid-configuration", 200, []byte(`{"issuer":"https://evil.example.com","jwks_uri":"`+p.URL("/jwks")+`"}`))
	p.serve("/.well-known/oauth-authorization-server", 200, p.metadata("RS256"))
	p.serve("/jwks", 200, jwks(t, jwk(t, &rsaA.PublicKey, "a", "", nil)))
	refused := errors.New("not this issuer")
	only := func(want string) func(string) error {
		return func(got string) error {
			if got != want {
				return refused
			}
			return nil
		}
	}
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), CheckIssuer: only(p.URL("/"))})
	if m, err := s.Metadata(bg); err != nil || m.Issuer != p.URL("/") {
		t.Fatalf("Metadata = %+v, %v; want the RFC 8414 document", m, err)
	}
	s = newSet(t, Config{IssuerBaseURL: p.URL("/"), CheckIssuer: only("https://other.example.com")})
	err := s.Warm(bg)
	if e := asError(t, err); e.Message != msgDiscovery || !e.Unavailable || !errors.Is(err, refused) {
		t.Fatalf("Warm error = %v, want %q caused by the check", err, msgDiscovery)
	}
	if _, err := s.Key(bg, "a", "RS256"); err == nil {
		t.Fatal("Key succeeded without usable metadata")
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.255.0.9": true, "::1": true,
		"localhost.": false, "localhost.example.com": false, "127.0.0.1.nip.io": false, "0.0.0.0": false,
		"10.0.0.1": false, "::": false, "::2": false, "fe80::1": false, "::1%lo": false, "": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
	if err := checkURL("http://example.com/jwks", false); !errors.Is(err, ErrInsecureHTTP) {
		t.Errorf("checkURL off loopback = %v, want ErrInsecureHTTP", err)
	}
	for _, u := range []string{"http://example.com/jwks", "http://[::1]:8080/jwks", "https://example.com/jwks"} {
		allow := !strings.Contains(u, "[::1]") && strings.HasPrefix(u, "http:")
		if err := checkURL(u, allow); err != nil {
			t.Errorf("checkURL(%q, %v) = %v", u, allow, err)
		}
	}
}
