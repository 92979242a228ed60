package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkListTasks measures GET /tasks answering 20 tasks through the
// whole handler (middleware, test authentication, SQLite query, encoding)
// and, as the baseline, a bare handler writing the same bytes.
func BenchmarkListTasks(b *testing.B) {
	s := newTestServer(b, func(c *Config) { c.Logger = logger(io.Discard) })
	for i := range 20 {
		s.createTask("auth0|bench", map[string]any{"name": fmt.Sprintf("task %d", i), "description": "some words", "due_date": "2030-07-01"})
	}
	r := httptest.NewRequest("GET", "/tasks", nil)
	r.Header.Set(hdrSub, "auth0|bench")
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.Bytes()
	b.Run("api", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			s.handler.ServeHTTP(w, r)
		}
	})
	b.Run("bare", func(b *testing.B) {
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(body)
		})
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			bare.ServeHTTP(w, r)
		}
	})
}

// BenchmarkMiddleware measures the common middleware on GET /health and on
// an authenticated GET /me, with every optional layer off and on (metrics,
// CORS, both rate limits).
func BenchmarkMiddleware(b *testing.B) {
	all := func(c *Config) {
		c.Metrics = true
		c.CORSOrigins = []string{"https://app.example.com"}
		c.RateLimit = RateLimit{Rate: 1e6, Burst: 1 << 30}
		c.AuthFailureLimit = RateLimit{Rate: 1, Burst: 10}
	}
	for _, cfg := range []struct {
		name string
		opts []serverOption
	}{{"off", nil}, {"on", []serverOption{all}}} {
		s := newTestServer(b, cfg.opts...)
		for _, path := range []string{"/health", "/me"} {
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set(hdrSub, "auth0|bench")
			r.Header.Set("Origin", "https://app.example.com")
			b.Run(cfg.name+path, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					s.handler.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}
