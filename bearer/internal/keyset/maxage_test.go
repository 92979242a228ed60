package keyset

import (
	"net/http"
	"testing"
	"time"
)

// The key set and the discovery document are used for their response's
// Cache-Control max-age, clamped to [MinHeaderMaxAge, MaxHeaderMaxAge],
// and for Config.MaxAge without one.
func TestCacheControlMaxAge(t *testing.T) {
	testKeys(t)
	cases := []struct {
		name         string
		cacheControl string        // "" sends none
		maxAge       time.Duration // Config.MaxAge
		want         time.Duration // expected lifetime of both documents
	}{
		{"no header: MaxAge", "", 10 * time.Minute, 10 * time.Minute},
		{"max-age honoured", "public, max-age=7200", 10 * time.Minute, 2 * time.Hour},
		{"shorter than MaxAge", "max-age=120, must-revalidate", 10 * time.Minute, 2 * time.Minute},
		{"clamped up", "max-age=1", 10 * time.Minute, MinHeaderMaxAge},
		{"no-store is the floor", "no-store", 10 * time.Minute, MinHeaderMaxAge},
		{"no-cache beside max-age", "max-age=7200, no-cache", 10 * time.Minute, MinHeaderMaxAge},
		{"clamped down", "max-age=31536000", 10 * time.Minute, MaxHeaderMaxAge},
		{"huge number clamped", "max-age=999999999999999999", 10 * time.Minute, MaxHeaderMaxAge},
		{"malformed: MaxAge", "max-age=soon", 10 * time.Minute, 10 * time.Minute},
		{"negative: MaxAge", "max-age=-5", 10 * time.Minute, 10 * time.Minute},
		{"quoted", `max-age="300"`, 10 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t)
			set := jwks(t, jwk(t, &rsaA.PublicKey, "a", "RS256", nil))
			for path, body := range map[string][]byte{"/.well-known/openid-configuration": p.metadata(), "/jwks": set} {
				p.handle(path, func(w http.ResponseWriter, r *http.Request) {
					if tc.cacheControl != "" {
						w.Header().Set("Cache-Control", tc.cacheControl)
					}
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(body)
				})
			}
			clk := newClock()
			s := newSet(t, Config{IssuerBaseURL: p.URL("/"), MaxAge: tc.maxAge, Now: clk.Now, StaleIfError: -1})
			ctx := t.Context()
			if _, err := s.Key(ctx, "a", "RS256"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.want - time.Second)
			if _, err := s.Key(ctx, "a", "RS256"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Metadata(ctx); err != nil {
				t.Fatal(err)
			}
			if got := p.hitsOf("/jwks") + p.hitsOf("/.well-known/openid-configuration"); got != 2 {
				t.Fatalf("%d fetches before %s, want 2 (one of each)", got, tc.want)
			}
			clk.Advance(2 * time.Second)
			if _, err := s.Key(ctx, "a", "RS256"); err != nil {
				t.Fatal(err)
			}
			if p.hitsOf("/jwks") != 2 || p.hitsOf("/.well-known/openid-configuration") != 2 {
				t.Fatalf("after %s: jwks %d, discovery %d fetches, want 2 and 2", tc.want, p.hitsOf("/jwks"), p.hitsOf("/.well-known/openid-configuration"))
			}
		})
	}
}

// The two documents have lifetimes of their own.
func TestCacheControlPerDocument(t *testing.T) {
	testKeys(t)
	p := newProvider(t)
	meta, set := p.metadata(), jwks(t, jwk(t, &rsaA.PublicKey, "a", "RS256", nil))
	p.handle("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
		_, _ = w.Write(meta)
	})
	p.handle("/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(set)
	})
	clk := newClock()
	s := newSet(t, Config{IssuerBaseURL: p.URL("/"), Now: clk.Now})
	if _, err := s.Key(t.Context(), "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(301 * time.Second)
	if _, err := s.Key(t.Context(), "a", "RS256"); err != nil {
		t.Fatal(err)
	}
	if j, d := p.hitsOf("/jwks"), p.hitsOf("/.well-known/openid-configuration"); j != 2 || d != 1 {
		t.Fatalf("jwks %d, discovery %d fetches; want 2 and 1", j, d)
	}
}
