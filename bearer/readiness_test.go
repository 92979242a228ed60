package bearer

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReady checks Ready in each key mode and through the life of a remote
// key set, and that it never makes a request.
func TestReady(t *testing.T) {
	testKeys(t)
	clk := newClock()
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	t.Run("no remote keys", func(t *testing.T) {
		for name, cfg := range map[string]Config{
			"secret":     {Audience: []string{testAudience}, Issuer: testIssuer, Secret: "a-32-byte-secret-for-hs256-tests", TokenSigningAlg: "HS256"},
			"public key": {Audience: []string{testAudience}, Issuer: testIssuer, PublicKey: pemKey, TokenSigningAlg: "RS256"},
		} {
			v, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Ready(); err != nil {
				t.Errorf("%s: Ready = %v, want nil", name, err)
			}
		}
	})

	t.Run("discovery", func(t *testing.T) {
		clk := newClock()
		idp, v := idpVerifier(t, clk, func(c *Config) { c.CacheMaxAge, c.StaleIfError = 10*time.Minute, time.Hour })
		token := rs256(t, baseClaims(idp.issuer()))
		requests := func() int64 { return idp.discoveryHits.Load() + idp.rfc8414Hits.Load() + idp.jwksHits.Load() }
		for _, step := range []struct {
			name string
			act  func(t *testing.T)
			want string // "" means nil
		}{
			{"before any fetch", nil, "bearer: signing keys from " + idp.URL + " unavailable: keyset: discovery metadata never fetched"},
			{"provider down at start: the cause is given", func(t *testing.T) {
				idp.set(func(f *fakeIdP) { f.discoveryStatus = http.StatusServiceUnavailable })
				if err := v.Warm(context.Background()); err == nil {
					t.Fatal("Warm succeeded")
				}
			}, "discovery metadata never fetched; last fetch failed: Failed to fetch authorization server metadata"},
			{"provider back, Warm succeeded", func(t *testing.T) {
				idp.set((*fakeIdP).heal)
				clk.Add(2 * time.Second) // past RetryInterval
				if err := v.Warm(context.Background()); err != nil {
					t.Fatal(err)
				}
			}, ""},
			{"provider down past CacheMaxAge: stale keys still verify", func(t *testing.T) {
				idp.set(func(f *fakeIdP) { f.discoveryStatus, f.jwksStatus = http.StatusBadGateway, http.StatusBadGateway })
				clk.Add(30 * time.Minute)
				if _, err := v.Verify(context.Background(), token); err != nil {
					t.Fatalf("Verify with stale keys: %v", err)
				}
			}, ""},
			{"past StaleIfError", func(t *testing.T) { clk.Add(41 * time.Minute) }, "discovery metadata expired: fetched 1h11m0s ago, usable for 1h10m0s; last fetch failed"},
		} {
			if step.act != nil {
				step.act(t)
			}
			before := requests()
			err := v.Ready()
			switch {
			case step.want == "" && err != nil:
				t.Errorf("%s: Ready = %v, want nil", step.name, err)
			case step.want != "" && (err == nil || !strings.Contains(err.Error(), step.want)):
				t.Errorf("%s: Ready = %v, want an error containing %q", step.name, err, step.want)
			}
			if n := requests() - before; n != 0 {
				t.Errorf("%s: Ready made %d requests", step.name, n)
			}
		}
	})

	t.Run("secret with discovery needs the metadata only", func(t *testing.T) {
		idp, v := idpVerifier(t, clk, func(c *Config) { c.Secret, c.TokenSigningAlg = "a-32-byte-secret-for-hs256-tests", "HS256" })
		if err := v.Ready(); err == nil || !strings.Contains(err.Error(), "discovery metadata never fetched") {
			t.Errorf("before Warm: Ready = %v", err)
		}
		idp.set(func(f *fakeIdP) { f.jwksStatus = http.StatusInternalServerError })
		if err := v.Warm(context.Background()); err == nil {
			t.Fatal("Warm succeeded with the key set failing")
		}
		if err := v.Ready(); err != nil {
			t.Errorf("metadata fetched, key set failing: Ready = %v, want nil", err)
		}
	})

	t.Run("JWKS URI without discovery", func(t *testing.T) {
		idp := newFakeIdP(t, jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")))
		v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, JWKSURI: idp.URL + "/jwks.json", Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Ready(); err == nil || !strings.Contains(err.Error(), "signing keys from "+idp.URL+"/jwks.json unavailable: keyset: key set never fetched") {
			t.Errorf("before Warm: Ready = %v", err)
		}
		if err := v.Warm(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := v.Ready(); err != nil {
			t.Errorf("after Warm: Ready = %v", err)
		}
	})

	t.Run("issuers: every static one, and which is missing", func(t *testing.T) {
		s := newMultiSetup(t)
		v, err := New(s.config(IssuersOptions{
			URLs:    []string{"https://tenant1.example.com/", "https://tenant2.example.com/"},
			Configs: []IssuerConfig{{Issuer: "https://static.example.com/", PublicKey: pemKey, TokenSigningAlg: "RS256"}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		err = v.Ready()
		for _, want := range []string{"bearer: issuer https://tenant1.example.com: signing keys from https://tenant1.example.com/ unavailable", "issuer https://tenant2.example.com:"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("before Warm: Ready = %v, want it to contain %q", err, want)
			}
		}
		s.t2.down.Store(true)
		if err := v.Warm(context.Background()); err == nil {
			t.Fatal("Warm succeeded with tenant2 down")
		}
		err = v.Ready()
		if err == nil || !strings.Contains(err.Error(), "issuer https://tenant2.example.com:") || strings.Contains(err.Error(), "tenant1") {
			t.Errorf("tenant2 down: Ready = %v, want tenant2 alone named", err)
		}
		s.t2.down.Store(false)
		if err := v.Warm(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := v.Ready(); err != nil {
			t.Errorf("all warmed: Ready = %v", err)
		}
	})

	t.Run("issuers: Resolve", func(t *testing.T) {
		s := newMultiSetup(t)
		v, err := New(s.config(IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
			return IssuerURLs("https://tenant1.example.com/"), nil
		}}))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Ready(); err != nil {
			t.Errorf("Resolve: Ready = %v, want nil (issuers unknown in advance)", err)
		}
		if n := s.t1.discovery.Load() + s.t1.jwks.Load(); n != 0 {
			t.Errorf("Ready made %d requests", n)
		}
	})
}
