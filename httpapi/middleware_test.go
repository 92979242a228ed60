package httpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"
)

// TestNewRequestID checks the shape of generated request ids (that of
// taskapi.NewID: 26 characters of its alphabet, accepted back as a client's
// X-Request-Id) and that they do not repeat.
func TestNewRequestID(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{26}$`)
	seen := make(map[string]bool)
	for range 10_000 {
		id := newRequestID()
		if !shape.MatchString(id) || !saneRequestID(id) {
			t.Fatalf("id %q: want 26 characters of 0-9a-z without i, l, o, u", id)
		}
		if seen[id] {
			t.Fatalf("id %q generated twice", id)
		}
		seen[id] = true
	}
}

// TestSharedSecurityHeaderValues checks that the security header values
// shared by every response stay intact when a handler adds to or replaces
// them, and that the response still carries what the handler asked for.
func TestSharedSecurityHeaderValues(t *testing.T) {
	shared := map[string][]string{
		"X-Content-Type-Options":    hdrNoSniff,
		"Referrer-Policy":           hdrNoReferrer,
		"X-Frame-Options":           hdrDeny,
		"Content-Security-Policy":   hdrCSP,
		"Cache-Control":             hdrNoStore,
		"Strict-Transport-Security": hdrHSTS,
	}
	want := make(map[string]string)
	for name, v := range shared {
		if len(v) != 1 || cap(v) != 1 {
			t.Fatalf("%s: len %d cap %d, want a full slice of one value", name, len(v), cap(v))
		}
		want[name] = v[0]
	}
	s := &server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.common(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range shared {
			w.Header().Add(name, "added")
		}
		w.Header().Set("Cache-Control", "public")
	}))
	r := httptest.NewRequest("GET", "https://api.example.com/x", nil) // TLS: HSTS too
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for name := range shared {
			got := w.Result().Header[name]
			exp := []string{want[name], "added"}
			if name == "Cache-Control" {
				exp = []string{"public"}
			}
			if !slices.Equal(got, exp) {
				t.Errorf("%s: %q, want %q", name, got, exp)
			}
		}
	}
	for name, v := range shared {
		if v[0] != want[name] {
			t.Errorf("shared %s changed to %q", name, v[0])
		}
	}
}

// TestSharedCORSHeaderValues checks that a preflight, whose Vary gets more
// values, leaves the shared CORS values intact for the next answer.
func TestSharedCORSHeaderValues(t *testing.T) {
	for name, v := range map[string][]string{"Vary": hdrVaryOrigin, "Allow-Origin *": hdrAnyOrigin, "Expose": hdrExposeHeader} {
		if len(v) != 1 || cap(v) != 1 {
			t.Fatalf("%s: len %d cap %d, want a full slice of one value", name, len(v), cap(v))
		}
	}
	const app = "https://app.example.com"
	s := newTestServer(t, func(c *Config) { c.CORSOrigins = []string{app} })
	pre := s.do(req{method: "OPTIONS", path: "/tasks", header: map[string]string{"Origin": app, "Access-Control-Request-Method": "GET"}})
	if got, want := pre.header.Values("Vary"), []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}; !slices.Equal(got, want) {
		t.Errorf("preflight Vary %q, want %q", got, want)
	}
	res := s.do(req{method: "GET", path: "/health", header: map[string]string{"Origin": app}})
	if got := res.header.Values("Vary"); !slices.Equal(got, []string{"Origin"}) {
		t.Errorf("Vary after a preflight %q, want [Origin]", got)
	}
	if got := res.header.Get("Access-Control-Allow-Origin"); got != app {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	if hdrVaryOrigin[0] != "Origin" {
		t.Errorf("shared Vary changed to %q", hdrVaryOrigin[0])
	}
}

type parentKey struct{}

// TestRequestStateContext checks the context common gives a request: the
// request id and the requestInfo reachable from it, the values of the
// server's context still there, and the server's cancellation reaching a
// deadline set under it.
func TestRequestStateContext(t *testing.T) {
	logs := &syncBuffer{}
	s := &server{log: logger(logs)}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "p"))
	var problems []string
	h := s.common(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if got := requestID(ctx); got != "rid-7" || w.Header().Get("X-Request-Id") != got {
			problems = append(problems, "request id "+got)
		}
		if ctx.Value(parentKey{}) != "p" {
			problems = append(problems, "the server's context value is lost")
		}
		infoFrom(ctx).sub = "auth0|carol"
		tctx, tcancel := context.WithTimeout(ctx, time.Hour)
		defer tcancel()
		cancel()
		select {
		case <-tctx.Done():
		case <-time.After(10 * time.Second):
			problems = append(problems, "the server's cancellation did not reach the request's deadline")
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	r := httptest.NewRequestWithContext(parent, "GET", "/x", nil)
	r.Header.Set("X-Request-Id", "rid-7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	for _, p := range problems {
		t.Error(p)
	}
	if requestID(context.Background()) != "" || infoFrom(context.Background()).sub != "" {
		t.Error("a context outside common has a request id or a subject")
	}
	// The access log line, field by field in order (the time and the
	// duration aside).
	line := regexp.MustCompile(`"time":"[^"]+",`).ReplaceAll(bytes.TrimSpace([]byte(logs.String())), nil)
	line = regexp.MustCompile(`"duration":[1-9][0-9]*`).ReplaceAll(line, []byte(`"duration":D`))
	want := `{"level":"INFO","msg":"request","request_id":"rid-7","method":"GET","route":"unmatched","path":"/x","status":418,"bytes":0,"duration":D,"sub":"auth0|carol"}`
	if string(line) != want {
		t.Errorf("access log\n%s\nwant\n%s", line, want)
	}
}

// BenchmarkRequestID measures the generation of a request id.
func BenchmarkRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newRequestID()
	}
}
