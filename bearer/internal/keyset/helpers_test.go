package keyset

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Test keys, generated once.
var (
	keysOnce               sync.Once
	rsaA, rsaB, rsaSmall   *rsa.PrivateKey
	ecP256, ecP384, ecP521 *ecdsa.PrivateKey
	edKey                  ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		rsaA = must(rsa.GenerateKey(rand.Reader, 2048))
		rsaB = must(rsa.GenerateKey(rand.Reader, 2048))
		rsaSmall = must(rsa.GenerateKey(rand.Reader, 1024))
		ecP256 = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		ecP384 = must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
		ecP521 = must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// jwk returns the JSON object of key (public or private) with kid and alg,
// with extra members set (a nil value deletes the member).
func jwk(t testing.TB, key any, kid, alg string, extra map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg})
	if err != nil {
		t.Fatalf("marshal JWK: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// jwks returns a JSON Web Key Set body holding keys.
func jwks(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// provider is a local identity provider: routes by path, counts hits and
// records every request URI.
type provider struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
	uris   []string
}

func newProvider(t testing.TB) *provider {
	p := &provider{t: t, routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		p.uris = append(p.uris, r.URL.RequestURI())
		h := p.routes[r.URL.Path]
		p.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) URL(path string) string { return p.srv.URL + path }

func (p *provider) handle(path string, h http.HandlerFunc) {
	p.mu.Lock()
	p.routes[path] = h
	p.mu.Unlock()
}

// serve answers path with status and body.
func (p *provider) serve(path string, status int, body []byte) {
	p.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// hang makes path wait until the client gives up.
func (p *provider) hang(path string) {
	p.handle(path, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}

func (p *provider) hitsOf(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func (p *provider) requestURIs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.uris...)
}

// metadata returns a discovery document pointing at this provider's /jwks.
func (p *provider) metadata(algs ...string) []byte {
	m := map[string]any{"issuer": p.URL("/"), "jwks_uri": p.URL("/jwks")}
	if algs != nil {
		m["id_token_signing_alg_values_supported"] = algs
	}
	b, _ := json.Marshal(m)
	return b
}

// newSet creates a Set and closes it at the end of the test, checking that
// no goroutine of the Set is left behind.
func newSet(t testing.TB, cfg Config) *Set {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		// Goroutines that called wg.Done may still be returning: allow
		// them a moment.
		buf := make([]byte, 1<<20)
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
			stacks := string(buf[:runtime.Stack(buf, true)])
			if !strings.Contains(stacks, "keyset.(*Set)") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines of the Set left after Close:\n%s", stacks)
				break
			}
		}
	})
	return s
}

// asError returns err as *Error or fails the test.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *keyset.Error", err, err)
	}
	return e
}

// waitFor polls cond until it is true, failing after a generous bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var bg = context.Background()

// flying reports whether a fetch is in flight.
func (s *Set) flying() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight != nil
}
