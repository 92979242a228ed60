package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// advance moves the test clock forward by d.
func (s *testServer) advance(d time.Duration) { s.clock.Set(s.clock.Now().Add(d)) }

func TestSubjectRateLimit(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.RateLimit = RateLimit{Rate: 0.1, Burst: 3} // 3 at once, then one per 10 s
		c.Metrics = true
	})
	const policy = `"default";q=3;w=30`
	for i, tc := range []struct {
		user      string
		advance   time.Duration
		status    int
		rateLimit string
		retry     string
	}{
		{"alice", 0, 200, `"default";r=2;t=10`, ""},
		{"alice", 0, 200, `"default";r=1;t=20`, ""},
		{"alice", 0, 200, `"default";r=0;t=30`, ""},
		{"alice", 0, 429, `"default";r=0;t=30`, "10"},
		{"bob", 0, 200, `"default";r=2;t=10`, ""}, // a bucket per subject
		{"alice", 0, 429, `"default";r=0;t=30`, "10"},
		{"alice", 10 * time.Second, 200, `"default";r=0;t=30`, ""}, // one token back
		{"alice", 0, 429, `"default";r=0;t=30`, "10"},
		{"alice", 30 * time.Second, 200, `"default";r=2;t=10`, ""}, // full again
	} {
		s.advance(tc.advance)
		res := s.do(req{method: "GET", path: "/tasks", user: tc.user})
		code := ""
		if tc.status == 429 {
			code = ERATELIMIT
		}
		res.want(t, tc.status, code)
		h := res.header
		if h.Get("RateLimit-Policy") != policy || h.Get("RateLimit") != tc.rateLimit || h.Get("Retry-After") != tc.retry {
			t.Errorf("request %d (%s): RateLimit-Policy %q, RateLimit %q, Retry-After %q; want %q, %q, %q", i, tc.user,
				h.Get("RateLimit-Policy"), h.Get("RateLimit"), h.Get("Retry-After"), policy, tc.rateLimit, tc.retry)
		}
		if tc.status == 429 && res.body["error"] != "Too many requests" {
			t.Errorf("body %s", res.raw)
		}
	}
	// Public routes are not limited, and carry no RateLimit fields.
	for range 5 {
		if h := s.do(req{method: "GET", path: "/health"}).want(t, 200, "").header; h.Get("RateLimit") != "" {
			t.Error("RateLimit on a public route")
		}
	}
	if got := metricValue(t, s.scrape(), `taskapi_rate_limited_total{limit="subject"}`); got != 3 {
		t.Errorf("subject 429s counted: %v", got)
	}
	// Off by default.
	if h := newTestServer(t).do(req{method: "GET", path: "/tasks", user: "alice"}).want(t, 200, "").header; h.Get("RateLimit") != "" || h.Get("RateLimit-Policy") != "" {
		t.Errorf("RateLimit fields with no limit: %v", h)
	}
}

func TestAuthFailureLimit(t *testing.T) {
	var verified atomic.Int64 // requests that reached Authenticate
	s := newTestServer(t, func(c *Config) {
		c.AuthFailureLimit = RateLimit{Rate: 0.1, Burst: 2}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		c.RequireScopes = true
		c.Metrics = true
		c.Authenticate = func(next http.Handler) http.Handler {
			h := testAuthenticate(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				verified.Add(1)
				h.ServeHTTP(w, r)
			})
		}
	})
	good := map[string]string{hdrScope: "read:tasks"}
	bad := map[string]string{"Authorization": "Bearer nonsense"}
	noScope := map[string]string{hdrScope: "openid"}
	for i, tc := range []struct {
		remote  string
		xff     string
		user    string
		header  map[string]string
		advance time.Duration
		status  int
		reached bool // the request got to Authenticate
	}{
		{remote: "192.0.2.7:1", header: bad, status: 401, reached: true},
		{remote: "192.0.2.7:2", status: 401, reached: true},
		{remote: "192.0.2.7:3", user: "alice", header: good, status: 429},                // the address's bucket is empty
		{remote: "192.0.2.8:1", user: "alice", header: good, status: 200, reached: true}, // another address
		{remote: "192.0.2.7:3", advance: 10 * time.Second, user: "alice", header: good, status: 200, reached: true},
		{remote: "192.0.2.7:3", header: bad, status: 401, reached: true},
		{remote: "192.0.2.7:3", header: bad, status: 429},
		// 403s spend nothing (nor do successes, above).
		{remote: "192.0.2.9:1", user: "bob", header: noScope, status: 403, reached: true},
		{remote: "192.0.2.9:1", user: "bob", header: noScope, status: 403, reached: true},
		{remote: "192.0.2.9:1", user: "bob", header: noScope, status: 403, reached: true},
		{remote: "192.0.2.9:1", header: bad, status: 401, reached: true},
		{remote: "192.0.2.9:1", header: bad, status: 401, reached: true},
		{remote: "192.0.2.9:1", header: bad, status: 429},
		// X-Forwarded-For is believed from trusted proxies only.
		{remote: "10.0.0.1:1", xff: "198.51.100.1", header: bad, status: 401, reached: true},
		{remote: "10.0.0.2:1", xff: "198.51.100.1, 10.9.9.9", header: bad, status: 401, reached: true},
		{remote: "10.0.0.1:1", xff: "198.51.100.1", header: bad, status: 429},
		{remote: "10.0.0.1:1", xff: "198.51.100.2", header: bad, status: 401, reached: true},
		{remote: "192.0.2.50:1", xff: "198.51.100.1", header: bad, status: 401, reached: true}, // a spoofed header
		// IPv6 clients are keyed by their /64.
		{remote: "[2001:db8:1:2::1]:1", header: bad, status: 401, reached: true},
		{remote: "[2001:db8:1:2::ffff]:1", header: bad, status: 401, reached: true},
		{remote: "[2001:db8:1:2:aaaa::1]:1", header: bad, status: 429},
		{remote: "[2001:db8:1:3::1]:1", header: bad, status: 401, reached: true},
	} {
		s.advance(tc.advance)
		h := map[string]string{}
		for k, v := range tc.header {
			h[k] = v
		}
		if tc.xff != "" {
			h["X-Forwarded-For"] = tc.xff
		}
		before := verified.Load()
		res := s.do(req{method: "GET", path: "/tasks", user: tc.user, remote: tc.remote, header: h})
		if res.status != tc.status {
			t.Fatalf("request %d from %s (%s): %d, want %d: %s", i, tc.remote, tc.xff, res.status, tc.status, res.raw)
		}
		if reached := verified.Load() > before; reached != tc.reached {
			t.Errorf("request %d: reached the verifier = %v, want %v", i, reached, tc.reached)
		}
		if tc.status == 429 && (res.body["code"] != ERATELIMIT || res.header.Get("Retry-After") == "") {
			t.Errorf("request %d: 429 %v %s", i, res.header, res.raw)
		}
	}
	// Public routes stay open to a blocked address.
	s.do(req{method: "GET", path: "/ready", remote: "192.0.2.7:3"}).want(t, 200, "")
	text := s.scrape()
	for series, want := range map[string]float64{
		`taskapi_rate_limited_total{limit="address"}`:            5,
		`taskapi_auth_failures_total{code="ERR_AUTH"}`:           12,
		`taskapi_auth_failures_total{code="insufficient_scope"}`: 3,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	s := &server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:5000", nil, "192.0.2.1"},
		{"192.0.2.1:5000", []string{"198.51.100.1"}, "192.0.2.1"}, // untrusted peer: header ignored
		{"10.0.0.1:5000", nil, "10.0.0.1"},
		{"10.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"10.0.0.1:5000", []string{"203.0.113.9, 198.51.100.1, 10.0.0.2"}, "198.51.100.1"}, // rightmost untrusted
		{"10.0.0.1:5000", []string{"203.0.113.9", "198.51.100.1"}, "198.51.100.1"},         // several header lines
		{"10.0.0.1:5000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},                      // all trusted: the leftmost
		{"10.0.0.1:5000", []string{"198.51.100.1, garbage"}, "10.0.0.1"},                   // garbled: stop
		{"10.0.0.1:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"[::ffff:192.0.2.1]:80", nil, "192.0.2.1"},
		{"[fd00::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"not an address", nil, "invalid IP"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r).String(); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func TestLimiterBucket(t *testing.T) {
	clk := &fakeClock{t: testStart}
	l := newLimiter(RateLimit{Rate: 2, Burst: 4}, 100, clk.Now)
	if l.policy != `"default";q=4;w=2` {
		t.Errorf("policy %s", l.policy)
	}
	for i, tc := range []struct {
		advance   time.Duration
		allowed   bool
		remaining int
		reset     time.Duration
		retry     time.Duration
	}{
		{0, true, 3, 500 * time.Millisecond, 0},
		{0, true, 2, time.Second, 0},
		{0, true, 1, 1500 * time.Millisecond, 0},
		{0, true, 0, 2 * time.Second, 0},
		{0, false, 0, 2 * time.Second, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 0, 1750 * time.Millisecond, 250 * time.Millisecond},
		{250 * time.Millisecond, true, 0, 2 * time.Second, 0},
		{time.Hour, true, 3, 500 * time.Millisecond, 0}, // never above the burst
		{-time.Hour, true, 2, time.Second, 0},           // a clock going back refills nothing
	} {
		clk.t = clk.t.Add(tc.advance)
		d := l.take("k", 1)
		if d.allowed != tc.allowed || d.remaining != tc.remaining || d.reset != tc.reset || d.retryAfter != tc.retry {
			t.Errorf("take %d: %+v, want allowed %v remaining %d reset %v retry %v", i, d, tc.allowed, tc.remaining, tc.reset, tc.retry)
		}
	}
	// A look takes nothing; spend goes down to zero, not below.
	if d := l.take("p", 0); !d.allowed || d.remaining != 4 {
		t.Errorf("look: %+v", d)
	}
	for range 10 {
		l.spend("p")
	}
	if d := l.take("p", 0); d.allowed || d.retryAfter != 500*time.Millisecond {
		t.Errorf("after spending: %+v", d)
	}
	// Header values round up to whole seconds; Retry-After is at least 1.
	h := http.Header{}
	l.setHeaders(h, decision{allowed: false, remaining: 0, reset: 1500 * time.Millisecond, retryAfter: 200 * time.Millisecond})
	if h.Get("RateLimit") != `"default";r=0;t=2` || h.Get("Retry-After") != "1" || h.Get("RateLimit-Policy") != l.policy {
		t.Errorf("headers %v", h)
	}
}

// TestLimiterBounded checks that a limiter never keeps more than its
// capacity of buckets, drops idle buckets first, and keeps a busy key's
// bucket while it has room.
func TestLimiterBounded(t *testing.T) {
	clk := &fakeClock{t: testStart}
	l := newLimiter(RateLimit{Rate: 1, Burst: 2}, 100, clk.Now)
	for i := range 10_000 { // a flood of distinct keys, none idle
		l.take(fmt.Sprint("k", i), 1)
		if n := l.len(); n > 100 {
			t.Fatalf("%d buckets after %d keys", n, i+1)
		}
	}
	if n := l.len(); n != 100 {
		t.Fatalf("%d buckets", n)
	}
	// Once every bucket has refilled (idle), a new key sweeps them away.
	clk.t = clk.t.Add(2 * time.Second)
	l.take("new", 1)
	if n := l.len(); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1", n)
	}
	// An empty bucket survives sweeps while it is not idle.
	l.take("new", 1)
	for i := range 99 {
		l.take(fmt.Sprint("x", i), 1)
	}
	clk.t = clk.t.Add(1500 * time.Millisecond) // "new" is at 1.5 tokens, the others full
	l.take("y", 1)
	if d := l.take("new", 0); d.remaining != 1 {
		t.Errorf("the busy bucket was dropped: %+v", d)
	}
	if n := l.len(); n != 2 {
		t.Errorf("%d buckets, want 2 (new, y)", n)
	}
}

func TestRateLimitConfig(t *testing.T) {
	s := newTestServer(t)
	for _, l := range []RateLimit{{Rate: 1}, {Burst: 1}, {Rate: -1, Burst: 1}, {Rate: 1e9, Burst: 1}} {
		if _, err := NewServer(Config{Store: s.store, Authenticate: testAuthenticate, RateLimit: l}); err == nil {
			t.Errorf("RateLimit %+v accepted", l)
		}
		if _, err := NewServer(Config{Store: s.store, Authenticate: testAuthenticate, AuthFailureLimit: l}); err == nil {
			t.Errorf("AuthFailureLimit %+v accepted", l)
		}
	}
}
