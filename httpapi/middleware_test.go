package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"
)

// TestCORSVary checks the Vary of a preflight, and that the next answer
// has only its own.
func TestCORSVary(t *testing.T) {
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
}

type parentKey struct{}

// TestRequestStateContext checks the context common gives a request: the
// request id and the request state reachable from it, the values of the
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
		state(ctx).sub = "auth0|carol"
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
	if requestID(context.Background()) != "" || state(context.Background()).sub != "" {
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
