package httpapi

import (
	"slices"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "DELETE",
			"Access-Control-Request-Headers": "authorization, if-match"}
	}
	for _, tc := range []struct {
		name    string
		origins []string
		rq      req
		status  int
		allow   string // Access-Control-Allow-Origin, "" for none
		vary    bool   // Vary: Origin
	}{
		{"off: no CORS headers", nil,
			req{method: "GET", path: "/tasks", user: "u", header: map[string]string{"Origin": app}}, 200, "", false},
		{"off: OPTIONS is an ordinary 405", nil,
			req{method: "OPTIONS", path: "/tasks", header: preflight(app)}, 405, "", false},
		{"allowed origin", []string{"https://other.example", app},
			req{method: "GET", path: "/tasks", user: "u", header: map[string]string{"Origin": app}}, 200, app, true},
		{"allowed origin, error answer", []string{app},
			req{method: "GET", path: "/tasks", header: map[string]string{"Origin": app}}, 401, app, true},
		{"allowed origin, 404", []string{app},
			req{method: "GET", path: "/nope", header: map[string]string{"Origin": app}}, 404, app, true},
		{"disallowed origin proceeds without CORS headers", []string{app},
			req{method: "GET", path: "/tasks", user: "u", header: map[string]string{"Origin": "https://evil.example"}}, 200, "", true},
		{"no Origin", []string{app},
			req{method: "GET", path: "/tasks", user: "u"}, 200, "", true},
		{"preflight without a token", []string{app},
			req{method: "OPTIONS", path: "/tasks/abc", header: preflight(app)}, 204, app, true},
		{"preflight of an unknown path", []string{app},
			req{method: "OPTIONS", path: "/anything", header: preflight(app)}, 204, app, true},
		{"preflight from a disallowed origin", []string{app},
			req{method: "OPTIONS", path: "/tasks", header: preflight("https://evil.example")}, 405, "", true},
		{"origin differing by scheme", []string{app},
			req{method: "OPTIONS", path: "/tasks", header: preflight("http://app.example.com")}, 405, "", true},
		{"any origin", []string{"*"},
			req{method: "GET", path: "/tasks", user: "u", header: map[string]string{"Origin": "https://x.example"}}, 200, "*", false},
		{"any origin, preflight", []string{"*"},
			req{method: "OPTIONS", path: "/tasks", header: preflight("https://x.example")}, 204, "*", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) { c.CORSOrigins = tc.origins })
			res := s.do(tc.rq).want(t, tc.status, "")
			h := res.header
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.allow {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tc.allow)
			}
			if got := slices.Contains(h.Values("Vary"), "Origin"); got != tc.vary {
				t.Errorf("Vary: Origin = %v, want %v (%q)", got, tc.vary, h.Values("Vary"))
			}
			if tc.allow == "" {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("CORS header %s on a response to a disallowed origin", name)
					}
				}
				return
			}
			if tc.status == 204 {
				want := map[string]string{
					"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
					"Access-Control-Allow-Headers": "Authorization, Confirm, Content-Type, DPoP, If-Match, If-None-Match, Idempotency-Key, X-Request-Id",
					"Access-Control-Max-Age":       "7200",
				}
				for name, v := range want {
					if h.Get(name) != v {
						t.Errorf("%s = %q, want %q", name, h.Get(name), v)
					}
				}
				if h.Get("WWW-Authenticate") != "" || len(res.raw) != 0 {
					t.Errorf("the preflight was authenticated or has a body: %v %q", h, res.raw)
				}
				return
			}
			expose := h.Get("Access-Control-Expose-Headers")
			for _, name := range []string{"ETag", "Location", "Link", "X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy", "WWW-Authenticate", "DPoP-Nonce", "Idempotent-Replayed"} {
				if !slices.Contains(splitList(expose), name) {
					t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, name)
				}
			}
		})
	}
}

// splitList splits a comma-separated header value.
func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// TestPreflightMetrics checks that preflights are counted under their own
// route label and never as authentication failures.
func TestPreflightMetrics(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.Metrics, c.CORSOrigins = true, []string{"https://app.example.com"} })
	for range 3 {
		s.do(req{method: "OPTIONS", path: "/tasks/x", header: map[string]string{"Origin": "https://app.example.com",
			"Access-Control-Request-Method": "PATCH"}}).want(t, 204, "")
	}
	text := s.scrape()
	if got := metricValue(t, text, `taskapi_http_requests_total{method="OPTIONS",route="preflight",status="204"}`); got != 3 {
		t.Errorf("preflights counted: %v", got)
	}
	if strings.Contains(text, "taskapi_auth_failures_total{") {
		t.Error("a preflight counted as an authentication failure")
	}
}

func TestCORSOriginsChecked(t *testing.T) {
	for _, origins := range [][]string{
		{"https://app.example.com/"},
		{"https://app.example.com/path"},
		{"app.example.com"},
		{"ftp://app.example.com"},
		{"https://user@app.example.com"},
		{"*", "https://app.example.com"},
		{""},
	} {
		s := newTestServer(t)
		if _, err := NewServer(Config{Store: s.store, Authenticate: testAuthenticate, CORSOrigins: origins}); err == nil {
			t.Errorf("%q accepted", origins)
		}
	}
	s := newTestServer(t)
	for _, origins := range [][]string{{"https://app.example.com"}, {"http://localhost:3000", "https://a.example"}, {"*"}} {
		if _, err := NewServer(Config{Store: s.store, Authenticate: testAuthenticate, CORSOrigins: origins}); err != nil {
			t.Errorf("%q: %v", origins, err)
		}
	}
}
