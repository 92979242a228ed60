package httpapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/contract"
)

// pingStore is a store whose Ping answers err.
type pingStore struct {
	taskapi.Store
	err error
}

func (p pingStore) Ping(context.Context) error { return p.err }

func TestReady(t *testing.T) {
	secret := "dial tcp 10.0.0.7:5432: connection refused"
	for _, tc := range []struct {
		name      string
		pingErr   error
		ready     func(context.Context) error
		status    int
		component string
	}{
		{name: "store up, no Ready hook", status: 200},
		{name: "store up, keys there", ready: func(context.Context) error { return nil }, status: 200},
		{name: "store down", pingErr: errors.New(secret), status: 503, component: "database"},
		{name: "keys missing", ready: func(context.Context) error { return errors.New(secret) }, status: 503, component: "token signing keys"},
		{name: "the hook's own answer", ready: func(context.Context) error { return taskapi.Errorf(taskapi.EUNAVAILABLE, "Shutting down") },
			status: 503, component: "Shutting down"},
		{name: "a hook's other error codes are not shown", ready: func(context.Context) error { return taskapi.Errorf(taskapi.ENOTFOUND, "10.0.0.7") },
			status: 503, component: "token signing keys"},
		{name: "both down: the database is named", pingErr: errors.New(secret), ready: func(context.Context) error { return errors.New("x") },
			status: 503, component: "database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) {
				c.Store = pingStore{Store: c.Store, err: tc.pingErr}
				c.Ready = tc.ready
			})
			res := s.do(req{method: "GET", path: "/ready"})
			if tc.status == 200 {
				res.want(t, 200, "")
				if res.body["ok"] != true {
					t.Fatalf("body %s", res.raw)
				}
			} else {
				res.want(t, 503, taskapi.EUNAVAILABLE)
				if msg := res.body["error"].(string); !strings.Contains(msg, tc.component) || strings.Contains(msg, "10.0.0.7") {
					t.Errorf("message %q: want the component %q and no internal detail", msg, tc.component)
				}
				if res.header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
				if logs := s.logs.String(); !strings.Contains(logs, `"msg":"not ready"`) ||
					(tc.component != "Shutting down" && !strings.Contains(logs, "10.0.0.7")) {
					t.Errorf("the failure and its cause are not logged: %s", logs)
				}
			}
			// Liveness does not depend on the store.
			s.do(req{method: "GET", path: "/health"}).want(t, 200, "")
		})
	}
}

// scrape returns the metrics the server serves.
func (s *testServer) scrape() string {
	s.t.Helper()
	res := s.do(req{method: "GET", path: "/metrics"}).want(s.t, 200, "")
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		s.t.Fatalf("Content-Type %q", ct)
	}
	return string(res.raw)
}

// metricValue returns the value of the sample series (name{labels}) in the
// text exposition, or -1 when absent.
func metricValue(t testing.TB, text, series string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.Metrics, c.RequireScopes = true, true })
	rw := "read:tasks write:tasks"
	task := s.do(req{method: "POST", path: "/tasks", user: "alice", body: map[string]any{"name": "x"}, header: map[string]string{hdrScope: rw}}).want(t, 201, "").obj("task")
	s.do(req{method: "GET", path: "/tasks/" + task["id"].(string), user: "alice", header: map[string]string{hdrScope: rw}}).want(t, 200, "")
	s.do(req{method: "GET", path: "/tasks/secret-raw-id-1", user: "alice", header: map[string]string{hdrScope: rw}}).want(t, 404, "")
	s.do(req{method: "GET", path: "/tasks/secret-raw-id-2", user: "alice", header: map[string]string{hdrScope: rw}}).want(t, 404, "")
	s.do(req{method: "GET", path: "/no/such/route"}).want(t, 404, "")
	s.do(req{method: "DELETE", path: "/tasks"}).want(t, 405, "")
	s.do(req{method: "GET", path: "/tasks"}).want(t, 401, "ERR_AUTH")
	s.do(req{method: "GET", path: "/tasks", header: map[string]string{hdrClaims: `{"sub":""}`}}).want(t, 401, "invalid_token")
	s.do(req{method: "DELETE", path: "/tasks/x", user: "alice", header: map[string]string{hdrScope: "read:tasks"}}).want(t, 403, "insufficient_scope")

	text := s.scrape()
	if strings.Contains(text, "secret-raw-id") || strings.Contains(text, "/no/such/route") {
		t.Error("a raw path is a label value")
	}
	for series, want := range map[string]float64{
		`taskapi_http_requests_total{method="POST",route="/tasks",status="201"}`:                   1,
		`taskapi_http_requests_total{method="GET",route="/tasks/{id}",status="200"}`:               1,
		`taskapi_http_requests_total{method="GET",route="/tasks/{id}",status="404"}`:               2,
		`taskapi_http_requests_total{method="GET",route="unmatched",status="404"}`:                 1,
		`taskapi_http_requests_total{method="DELETE",route="unmatched",status="405"}`:              1,
		`taskapi_http_requests_total{method="GET",route="/tasks",status="401"}`:                    2,
		`taskapi_http_requests_total{method="DELETE",route="/tasks/{id}",status="403"}`:            1,
		`taskapi_http_request_duration_seconds_count{method="GET",route="/tasks/{id}"}`:            3,
		`taskapi_http_request_duration_seconds_bucket{method="GET",route="/tasks/{id}",le="+Inf"}`: 3,
		`taskapi_auth_failures_total{code="ERR_AUTH"}`:                                             1,
		`taskapi_auth_failures_total{code="invalid_token"}`:                                        1,
		`taskapi_auth_failures_total{code="insufficient_scope"}`:                                   1,
		`taskapi_http_requests_in_flight`:                                                          1, // the scrape itself
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// The scrape is counted once it is answered.
	if got := metricValue(t, s.scrape(), `taskapi_http_requests_total{method="GET",route="/metrics",status="200"}`); got != 1 {
		t.Errorf("scrapes counted: %v", got)
	}
}

func TestMetricsRegistry(t *testing.T) {
	// Two servers with their own registries live side by side.
	a := newTestServer(t, func(c *Config) { c.Metrics = true })
	b := newTestServer(t, func(c *Config) { c.Metrics = true })
	a.do(req{method: "GET", path: "/health"}).want(t, 200, "")
	if got := metricValue(t, b.scrape(), `taskapi_http_requests_total{method="GET",route="/health",status="200"}`); got != -1 {
		t.Errorf("b sees a's request: %v", got)
	}

	// The binary's collectors in the given registry are served too.
	reg := prometheus.NewRegistry()
	extra := prometheus.NewGauge(prometheus.GaugeOpts{Name: "taskapi_db_open_connections", Help: "test"})
	extra.Set(7)
	reg.MustRegister(extra)
	c := newTestServer(t, func(c *Config) { c.Metrics, c.MetricsRegistry = true, reg })
	if got := metricValue(t, c.scrape(), "taskapi_db_open_connections"); got != 7 {
		t.Errorf("the binary's gauge = %v", got)
	}

	// Misconfigurations are refused.
	for name, cfg := range map[string]Config{
		"registry without Metrics": {MetricsRegistry: prometheus.NewRegistry()},
		"registry used twice":      {Metrics: true, MetricsRegistry: reg},
	} {
		cfg.Store, cfg.Authenticate = c.store, testAuthenticate
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	// Off: no /metrics.
	newTestServer(t).do(req{method: "GET", path: "/metrics"}).want(t, 404, taskapi.ENOTFOUND)
}

// TestAccessLog checks the access log line: JSON with the request id,
// method, route (the pattern), status, duration, bytes and, once
// authenticated, the sub, and never the token.
func TestAccessLog(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"
	for _, tc := range []struct {
		name   string
		rq     req
		route  string
		status float64
		sub    any
	}{
		{"authenticated", req{method: "GET", path: "/tasks/abc", user: "auth0|alice", header: map[string]string{"Authorization": "Bearer " + token, "X-Request-Id": "rid-1"}},
			"/tasks/{id}", 404, "auth0|alice"},
		{"refused", req{method: "GET", path: "/tasks", header: map[string]string{"Authorization": "Bearer " + token, "X-Request-Id": "rid-1"}},
			"/tasks", 401, nil},
		{"public", req{method: "GET", path: "/health", header: map[string]string{"X-Request-Id": "rid-1"}}, "/health", 200, nil},
		{"unmatched", req{method: "GET", path: "/nope", header: map[string]string{"X-Request-Id": "rid-1"}}, "unmatched", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			res := s.do(tc.rq)
			logs := s.logs.String()
			if strings.Contains(logs, token) || strings.Contains(logs, "c2lnbmF0dXJl") {
				t.Fatalf("the token is logged: %s", logs)
			}
			var line map[string]any
			for l := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("not JSON: %s", l)
				}
				if m["msg"] == "request" {
					line = m
				}
			}
			if line == nil {
				t.Fatalf("no access log line: %s", logs)
			}
			if line["request_id"] != "rid-1" || line["method"] != tc.rq.method || line["route"] != tc.route ||
				line["status"] != tc.status || line["sub"] != tc.sub || line["bytes"] != float64(len(res.raw)) {
				t.Errorf("log line %v", line)
			}
			if d, ok := line["duration"].(float64); !ok || d <= 0 {
				t.Errorf("duration %v", line["duration"])
			}
		})
	}
}

// TestSecurityHeaders checks the headers of every kind of answer, and HSTS
// only over TLS (directly, or to a trusted proxy that says so).
func TestSecurityHeaders(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.RateLimit = RateLimit{Rate: 0.001, Burst: 1}
	})
	s.createTask("carol", map[string]any{"name": "x"}) // carol's bucket is now empty
	for _, tc := range []struct {
		name   string
		rq     req
		status int
	}{
		{"public 200", req{method: "GET", path: "/health"}, 200},
		{"404 unknown route", req{method: "GET", path: "/nope"}, 404},
		{"405", req{method: "PUT", path: "/tasks"}, 405},
		{"401", req{method: "GET", path: "/tasks"}, 401},
		{"422", req{method: "POST", path: "/projects", user: "frank", body: map[string]any{"name": ""}}, 422},
		{"429", req{method: "GET", path: "/tasks", user: "carol"}, 429},
		{"the openapi document", req{method: "GET", path: "/openapi.json"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.do(tc.rq).want(t, tc.status, "")
			// do checks the headers against the document; check them here too.
			for name, want := range contract.SecurityHeaders {
				if got := res.header.Get(name); got != want {
					t.Errorf("%s = %q", name, got)
				}
			}
			if res.header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS without TLS")
			}
		})
	}
	// 304: a conditional GET of the owner's task.
	g := newTestServer(t)
	tk := g.createTask("alice", map[string]any{"name": "x"})
	tag := g.do(req{method: "GET", path: "/tasks/" + tk["id"].(string), user: "alice"}).want(t, 200, "").header.Get("ETag")
	res := g.do(req{method: "GET", path: "/tasks/" + tk["id"].(string), user: "alice", header: map[string]string{"If-None-Match": tag}}).want(t, 304, "")
	if res.header.Get("Content-Security-Policy") == "" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("304 headers %v", res.header)
	}

	// HSTS over a real TLS connection.
	tlsSrv := httptest.NewTLSServer(g.handler)
	defer tlsSrv.Close()
	tres, err := tlsSrv.Client().Get(tlsSrv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	tres.Body.Close()
	if tres.StatusCode != 404 || tres.Header.Get("Strict-Transport-Security") != strictTransportSecurity || tres.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("over TLS: %d %v", tres.StatusCode, tres.Header)
	}

	// HSTS.
	p := newTestServer(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	for _, tc := range []struct {
		name   string
		tls    bool
		remote string
		proto  string
		want   bool
	}{
		{"TLS", true, "192.0.2.1:1", "", true},
		{"plain", false, "192.0.2.1:1", "", false},
		{"a client claims https", false, "192.0.2.1:1", "https", false},
		{"a trusted proxy says https", false, "10.1.2.3:1", "https", true},
		{"a trusted proxy says http", false, "10.1.2.3:1", "http", false},
	} {
		r := httptest.NewRequest("GET", "/health", nil)
		r.RemoteAddr = tc.remote
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		w := httptest.NewRecorder()
		p.handler.ServeHTTP(w, r)
		if got := w.Header().Get("Strict-Transport-Security"); (got != "") != tc.want {
			t.Errorf("%s: HSTS %q", tc.name, got)
		} else if tc.want && !regexp.MustCompile(`^max-age=\d{8,}`).MatchString(got) {
			t.Errorf("%s: HSTS %q", tc.name, got)
		}
	}
}
