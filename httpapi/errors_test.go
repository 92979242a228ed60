package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskapi/taskapi"
)

// TestRequestErrors covers the answers to bad requests: all in the one
// error shape.
func TestRequestErrors(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 1 << 10 })
	const alice = "auth0|alice"
	id := s.createTask(alice, map[string]any{"name": "x"})["id"].(string)
	big := `{"name":"` + strings.Repeat("x", 1<<10) + `"}`
	tests := []struct {
		name     string
		rq       req
		status   int
		code     string
		contains string
	}{
		{"no content type", req{method: "POST", path: "/tasks", body: `{"name":"x"}`, header: map[string]string{"Content-Type": ""}}, 415, "ERR_MEDIA_TYPE", "application/json"},
		{"text/plain", req{method: "POST", path: "/tasks", body: `{"name":"x"}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, "ERR_MEDIA_TYPE", ""},
		{"latin-1", req{method: "POST", path: "/tasks", body: `{"name":"x"}`, header: map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}}, 415, "ERR_MEDIA_TYPE", "utf-8"},
		{"merge patch on PUT", req{method: "PUT", path: "/tasks/" + id, body: `{"name":"x"}`, header: map[string]string{"Content-Type": "application/merge-patch+json"}}, 415, "ERR_MEDIA_TYPE", ""},
		{"form on PATCH", req{method: "PATCH", path: "/tasks/" + id, body: `name=x`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "ERR_MEDIA_TYPE", "merge-patch"},
		{"project form", req{method: "POST", path: "/projects", body: `name=x`, header: map[string]string{"Content-Type": "multipart/form-data"}}, 415, "ERR_MEDIA_TYPE", ""},
		{"charset upper case", req{method: "POST", path: "/tasks", body: `{"name":"x"}`, header: map[string]string{"Content-Type": "application/json; charset=UTF-8"}}, 201, "", ""},
		{"too large", req{method: "POST", path: "/tasks", body: big}, 413, "ERR_TOO_LARGE", "1024 bytes"},
		{"too large patch", req{method: "PATCH", path: "/tasks/" + id, body: big}, 413, "ERR_TOO_LARGE", ""},
		{"too large project", req{method: "POST", path: "/projects", body: big}, 413, "ERR_TOO_LARGE", ""},
		{"empty body", req{method: "POST", path: "/tasks", body: ""}, 400, "ERR_BAD_REQUEST", "empty"},
		{"malformed", req{method: "POST", path: "/tasks", body: `{"name":`}, 400, "ERR_BAD_REQUEST", "Malformed JSON"},
		{"syntax error", req{method: "POST", path: "/tasks", body: `{"name" "x"}`}, 400, "ERR_BAD_REQUEST", "Malformed JSON"},
		{"array", req{method: "POST", path: "/tasks", body: `[{"name":"x"}]`}, 400, "ERR_BAD_REQUEST", "JSON object"},
		{"string", req{method: "PUT", path: "/tasks/" + id, body: `"x"`}, 400, "ERR_BAD_REQUEST", "JSON object"},
		{"trailing data", req{method: "POST", path: "/tasks", body: `{"name":"x"} {}`}, 400, "ERR_BAD_REQUEST", "after the object"},
		{"trailing garbage", req{method: "PATCH", path: "/tasks/" + id, body: `{"name":"x"}x`}, 400, "ERR_BAD_REQUEST", ""},
		{"repeated member", req{method: "POST", path: "/tasks", body: `{"name":"x","name":"y"}`}, 400, "ERR_BAD_REQUEST", "repeated"},
		{"unknown route", req{method: "GET", path: "/tasks/" + id + "/subtasks"}, 404, "ERR_NF", "Not found"},
		{"unknown route, no token", req{method: "GET", path: "/v1/tasks"}, 404, "ERR_NF", "Not found"},
		{"method not allowed", req{method: "DELETE", path: "/tasks"}, 405, "ERR_METHOD_NOT_ALLOWED", "DELETE"},
		{"method not allowed on id", req{method: "POST", path: "/tasks/" + id}, 405, "ERR_METHOD_NOT_ALLOWED", ""},
		{"method not allowed on health", req{method: "POST", path: "/health"}, 405, "ERR_METHOD_NOT_ALLOWED", ""},
		{"no token", req{method: "GET", path: "/tasks", header: map[string]string{hdrSub: ""}}, 401, "ERR_AUTH", "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := tt.rq
			if rq.user == "" && !strings.Contains(tt.name, "no token") {
				rq.user = alice
			}
			res := s.do(rq).want(t, tt.status, tt.code)
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q does not contain %q", msg, tt.contains)
			}
			if tt.status == 405 && res.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	res := s.do(req{method: "DELETE", path: "/tasks", user: alice})
	if allow := res.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q", allow)
	}
}

// faultyStore fails the way a broken or unreachable database does.
type faultyStore struct {
	taskapi.Store
	err   error
	panic bool
}

// ForIssuer keeps the faults for every issuer's users.
func (f *faultyStore) ForIssuer(string) taskapi.IssuerStore { return f }

func (f *faultyStore) Task(ctx context.Context, userID, id string) (*taskapi.Task, error) {
	if f.panic {
		panic("boom in the store")
	}
	return nil, f.err
}

func (f *faultyStore) Tasks(ctx context.Context, filter taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	return nil, f.err
}

// TestInternalErrors checks that internal failures reach the log, with the
// request id, and never the client.
func TestInternalErrors(t *testing.T) {
	secret := "dial tcp 10.0.0.7:5432: password authentication failed for user admin"
	tests := []struct {
		name   string
		store  faultyStore
		path   string
		status int
		code   string
		logged string
	}{
		{"internal", faultyStore{err: errors.New(secret)}, "/tasks/abc", 500, "ERR_INTERNAL", secret},
		{"internal on a list", faultyStore{err: errors.New(secret)}, "/tasks", 500, "ERR_INTERNAL", secret},
		{"unavailable", faultyStore{err: taskapi.Errorf(taskapi.EUNAVAILABLE, "The database is busy; retry")}, "/tasks/abc", 503, "ERR_UNAVAILABLE", "busy"},
		{"panic", faultyStore{panic: true}, "/tasks/abc", 500, "ERR_INTERNAL", "boom in the store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			fs := tt.store
			fs.Store = s.store
			h, err := NewServer(Config{Store: &fs, Authenticate: testAuthenticate, Logger: logger(s.logs)})
			if err != nil {
				t.Fatal(err)
			}
			s.handler = h
			res := s.do(req{method: "GET", path: tt.path, user: "auth0|alice", header: map[string]string{"X-Request-Id": "req-42"}}).want(t, tt.status, tt.code)
			if strings.Contains(string(res.raw), "password") || strings.Contains(string(res.raw), "boom") {
				t.Errorf("internal text reaches the client: %s", res.raw)
			}
			if tt.status == 500 && res.body["request_id"] != "req-42" {
				t.Errorf("500 without the request id: %s", res.raw)
			}
			if tt.status == 503 && res.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			logs := s.logs.String()
			if !strings.Contains(logs, tt.logged) || !strings.Contains(logs, `"request_id":"req-42"`) {
				t.Errorf("the log lacks the error or the request id:\n%s", logs)
			}
		})
	}
}

// TestRequestID checks that a sane X-Request-Id is kept and echoed, and
// any other replaced.
func TestRequestID(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_x.y:z", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"has space", false},
		{"<script>", false},
		{"", false},
	} {
		res := s.do(req{method: "GET", path: "/health", header: map[string]string{"X-Request-Id": tt.in}})
		got := res.header.Get("X-Request-Id")
		if tt.keep && got != tt.in || !tt.keep && (got == tt.in || !saneRequestID(got)) {
			t.Errorf("X-Request-Id %q → %q", tt.in, got)
		}
	}
	a := s.do(req{method: "GET", path: "/health"}).header.Get("X-Request-Id")
	b := s.do(req{method: "GET", path: "/health"}).header.Get("X-Request-Id")
	if a == b {
		t.Errorf("two requests got the same id %q", a)
	}
}

// TestTokenNeverLogged sends a token in every place a client may put it and
// checks that the log never shows it.
func TestTokenNeverLogged(t *testing.T) {
	s := newTestServer(t)
	const token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"
	s.do(req{method: "GET", path: "/tasks", user: "auth0|alice", header: map[string]string{"Authorization": "Bearer " + token}}).want(t, 200, "")
	s.do(req{method: "GET", path: "/tasks/x", user: "auth0|alice", header: map[string]string{"Authorization": "Bearer " + token}}).want(t, 404, "")
	s.do(req{method: "GET", path: "/tasks", header: map[string]string{"Authorization": "Bearer " + token}}).want(t, 401, "")
	if logs := s.logs.String(); strings.Contains(logs, token) || strings.Contains(logs, "c2VjcmV0") || !strings.Contains(logs, `"status":404`) {
		t.Errorf("log:\n%s", logs)
	}
}

// TestSubject checks the sub claim: the user id every query is scoped by.
func TestSubject(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		claims string
		status int
		msg    string
	}{
		{`{"scope":"openid"}`, 401, "Missing 'sub' claim"},
		{`{"sub":""}`, 401, "Missing 'sub' claim"},
		{`{"sub":42}`, 401, "Unexpected 'sub' value"},
		{`{"sub":null}`, 401, "Unexpected 'sub' value"},
		{`{"sub":["a"]}`, 401, "Unexpected 'sub' value"},
		{`{"sub":"` + strings.Repeat("é", 256) + `"}`, 401, "Unexpected 'sub' value"},
		{`{"sub":"` + strings.Repeat("é", 255) + `"}`, 200, ""},
	}
	for _, tt := range tests {
		for _, path := range []string{"/me", "/tasks", "/projects"} {
			res := s.do(req{method: "GET", path: path, header: map[string]string{hdrClaims: tt.claims}}).want(t, tt.status, "")
			if tt.status == 401 {
				res.want(t, 401, "invalid_token")
				if res.body["error"] != tt.msg || !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("%s %s: %s %v", path, tt.claims[:min(len(tt.claims), 20)], res.raw, res.header)
				}
			}
		}
	}
}

// TestRequireScopes checks the scopes of every route when REQUIRE_SCOPES
// is on, from scope or permissions.
func TestRequireScopes(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.RequireScopes = true })
	const all = `"read:tasks write:tasks delete:tasks"`
	task := func() string {
		res := s.do(req{method: "POST", path: "/tasks", body: map[string]any{"name": "x"}, header: map[string]string{hdrClaims: `{"sub":"a","scope":` + all + `}`}})
		return res.want(t, 201, "").obj("task")["id"].(string)
	}
	id := task()
	routes := []struct {
		rq    req
		scope string
	}{
		{req{method: "GET", path: "/tasks"}, "read:tasks"},
		{req{method: "GET", path: "/tasks/" + id}, "read:tasks"},
		{req{method: "POST", path: "/tasks", body: map[string]any{"name": "x"}}, "write:tasks"},
		{req{method: "PUT", path: "/tasks/" + id, body: map[string]any{"name": "y"}}, "write:tasks"},
		{req{method: "PATCH", path: "/tasks/" + id, body: map[string]any{"name": "z"}}, "write:tasks"},
		{req{method: "POST", path: "/tasks/" + id + "/complete"}, "write:tasks"},
		{req{method: "POST", path: "/tasks/" + id + "/reopen"}, "write:tasks"},
		{req{method: "GET", path: "/projects"}, "read:tasks"},
		{req{method: "POST", path: "/projects", body: map[string]any{"name": "p"}}, "write:tasks"},
		{req{method: "DELETE", path: "/tasks/" + id}, "delete:tasks"},
	}
	for _, rt := range routes {
		t.Run(rt.rq.method+" "+rt.rq.path, func(t *testing.T) {
			for _, tt := range []struct {
				claims string
				status int
				msg    string
			}{
				{`{"sub":"a","scope":"openid email"}`, 403, "Insufficient Scope"},
				{`{"sub":"a"}`, 403, "Missing 'scope' or 'permissions' claim"},
				{`{"sub":"a","permissions":["read:tasks","write:tasks"],"scope":"openid"}`, 403, "Insufficient Scope"},
			} {
				if strings.Contains(tt.claims, rt.scope) {
					continue
				}
				rq := rt.rq
				rq.header = map[string]string{hdrClaims: tt.claims}
				res := s.do(rq).want(t, tt.status, "insufficient_scope")
				ch := res.header.Get("WWW-Authenticate")
				if res.body["error"] != tt.msg || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="`+rt.scope+`"`) {
					t.Errorf("%s: %s; WWW-Authenticate %q", tt.claims, res.raw, ch)
				}
			}
			rq := rt.rq
			rq.header = map[string]string{hdrClaims: `{"sub":"a","permissions":["` + rt.scope + `"]}`}
			if res := s.do(rq); res.status >= 400 {
				t.Errorf("with the permission: %d %s", res.status, res.raw)
			}
			if rt.rq.method == "DELETE" { // the task is gone: make another for the next runs
				id = task()
			}
		})
	}
	// /me and /health need no scope.
	s.do(req{method: "GET", path: "/me", header: map[string]string{hdrClaims: `{"sub":"a"}`}}).want(t, 200, "")
	s.do(req{method: "GET", path: "/health"}).want(t, 200, "")
	// Off by default: the tutorial's tokens carry only openid email.
	plain := newTestServer(t)
	plain.do(req{method: "GET", path: "/tasks", header: map[string]string{hdrClaims: `{"sub":"a","scope":"openid email"}`}}).want(t, 200, "")
	_ = http.StatusOK
}

// TestNewServerConfig checks the configuration errors and defaults.
func TestNewServerConfig(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no store", Config{Authenticate: testAuthenticate}, false},
		{"no authenticate", Config{Store: s.store}, false},
		{"default above max", Config{Store: s.store, Authenticate: testAuthenticate, DefaultPageSize: 50, MaxPageSize: 10}, false},
		{"negative max", Config{Store: s.store, Authenticate: testAuthenticate, MaxPageSize: -1}, false},
		{"negative body", Config{Store: s.store, Authenticate: testAuthenticate, MaxBodyBytes: -1}, false},
		{"defaults", Config{Store: s.store, Authenticate: testAuthenticate}, true},
		{"small max", Config{Store: s.store, Authenticate: testAuthenticate, MaxPageSize: 5}, true},
	} {
		if _, err := NewServer(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

// TestClientGone: a client that disconnected before its answer was ready
// is logged as 499, not as an internal error with a 500.
func TestClientGone(t *testing.T) {
	s := newTestServer(t)
	s.createTask("auth0|gone", map[string]any{"name": "x"})
	for _, path := range []string{"/tasks", "/tasks?search=x", "/projects"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := httptest.NewRequest("GET", path, nil).WithContext(ctx)
		r.Header.Set(hdrSub, "auth0|gone")
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, r)
		if w.Code != 499 {
			t.Errorf("GET %s with the client gone: %d %s, want 499", path, w.Code, w.Body)
		}
	}
	logs := s.logs.String()
	if strings.Contains(logs, "internal error") || strings.Contains(logs, `"status":500`) {
		t.Errorf("a client gone is logged as a failure:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":499`) {
		t.Errorf("no access log line with status 499:\n%s", logs)
	}
}
