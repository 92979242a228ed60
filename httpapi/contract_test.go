package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/internal/contract"
)

// TestContractChecker shows the validator fails what it must, on the
// document's own schemas (OpenAPI 3.1: type arrays for nullable fields,
// format assertions): a checker that cannot fail checks nothing.
func TestContractChecker(t *testing.T) {
	task := func(mutate func(m map[string]any)) string {
		m := map[string]any{"id": "a", "user_id": "u", "project_id": nil, "name": "n", "description": nil,
			"due_date": "2030-01-02", "completed": false, "completed_on": nil,
			"created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"}
		if mutate != nil {
			mutate(m)
		}
		b, _ := json.Marshal(map[string]any{"task": m})
		return string(b)
	}
	answer := func(status int, header ...string) *http.Response {
		h := http.Header{}
		for name, v := range contract.SecurityHeaders {
			h.Set(name, v)
		}
		h.Set("Cache-Control", "no-store")
		h.Set("X-Request-Id", "r1")
		h.Set("ETag", `"a.1"`)
		h.Set("Content-Type", "application/json; charset=utf-8")
		for i := 0; i+1 < len(header); i += 2 {
			if header[i+1] == "" {
				h.Del(header[i])
			} else {
				h.Set(header[i], header[i+1])
			}
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	get := httptest.NewRequest("GET", "/tasks/a", nil)
	get.Header.Set("Authorization", "Bearer t")
	post := func(body string) *http.Request {
		r := httptest.NewRequest("POST", "/tasks", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	for _, tc := range []struct {
		name    string
		r       *http.Request
		reqBody string
		res     *http.Response
		resBody string
		fails   bool
	}{
		{"a valid task", get, "", answer(200), task(nil), false},
		{"a description set", get, "", answer(200), task(func(m map[string]any) { m["description"] = "d" }), false},
		{"a null name", get, "", answer(200), task(func(m map[string]any) { m["name"] = nil }), true},
		{"a missing member", get, "", answer(200), task(func(m map[string]any) { delete(m, "name") }), true},
		{"a wrong type", get, "", answer(200), task(func(m map[string]any) { m["completed"] = "no" }), true},
		{"a description array", get, "", answer(200), task(func(m map[string]any) { m["description"] = []any{} }), true},
		{"a timestamp as due_date", get, "", answer(200), task(func(m map[string]any) { m["due_date"] = "2030-01-02T10:00:00Z" }), true},
		{"a bad date-time", get, "", answer(200), task(func(m map[string]any) { m["created_at"] = "yesterday" }), true},
		{"an undocumented member", get, "", answer(200), task(func(m map[string]any) { m["priority"] = 1 }), true},
		{"a name too long", get, "", answer(200), task(func(m map[string]any) { m["name"] = strings.Repeat("x", 256) }), true},
		{"an undocumented status", get, "", answer(418), `{"error":"x","code":"ERR_TEAPOT"}`, true},
		{"a 200 without its ETag", get, "", answer(200, "ETag", ""), task(nil), true},
		{"no security headers", get, "", answer(200, "X-Frame-Options", ""), task(nil), true},
		{"a 422 without errors", post(`{"name":""}`), `{"name":""}`, answer(422), `{"error":"Validation error","code":"ERR_VALID"}`, true},
		{"an undocumented path answered 200", httptest.NewRequest("GET", "/secret", nil), "", answer(200), `{}`, true},
		{"an undocumented path answered 404", httptest.NewRequest("GET", "/secret", nil), "", answer(404), `{"error":"Not found","code":"ERR_NF"}`, false},
		{"a created task", post(`{"name":"x"}`), `{"name":"x"}`, answer(201, "Location", "/tasks/a"), task(nil), false},
		{"a created task without Location", post(`{"name":"x"}`), `{"name":"x"}`, answer(201), task(nil), true},
		{"an undocumented member accepted", post(`{"name":"x","priority":1}`), `{"name":"x","priority":1}`, answer(201, "Location", "/tasks/a"), task(nil), true},
		{"an undocumented member refused", post(`{"name":"x","priority":1}`), `{"name":"x","priority":1}`, answer(422),
			`{"error":"Validation error","code":"ERR_VALID","errors":[{"field":"priority","message":"unknown field"}]}`, false},
		{"no token accepted", httptest.NewRequest("GET", "/tasks", nil), "", answer(200), `{"tasks":[],"next_page_token":null}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := apiContract.Problems(contract.Exchange{Request: tc.r, RequestBody: []byte(tc.reqBody), Response: tc.res, ResponseBody: []byte(tc.resBody)})
			if tc.fails != (len(problems) > 0) {
				t.Errorf("fails = %v, want %v: %q", len(problems) > 0, tc.fails, problems)
			}
		})
	}
}

// TestEveryAnswerDocumented sends every documented operation the answers
// a hostile or careless client can draw, through the real bearer
// middleware: testServer.do holds each exchange to the document, and the
// test checks the statuses.
func TestEveryAnswerDocumented(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	v, err := bearer.New(bearer.Config{IssuerBaseURL: iss.URL(), Audience: []string{"task-manager-api"}, ErrorHandler: WriteAuthError})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(c *Config) { c.Authenticate, c.RequireScopes, c.Metrics = v.Authenticate, true, true })
	token := func(scope string) string {
		tok, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|probe", Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	all := token("read:tasks write:tasks delete:tasks")
	none := token("openid")
	bearerOf := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	project := s.do(req{method: "POST", path: "/projects", header: bearerOf(all), body: map[string]any{"name": "p"}}).want(t, 201, "").obj("project")
	task := s.do(req{method: "POST", path: "/tasks", header: bearerOf(all), body: map[string]any{"name": "t"}}).want(t, 201, "").obj("task")
	fill := func(path string) string {
		id := task["id"].(string)
		if strings.HasPrefix(path, "/projects/") {
			id = project["id"].(string)
		}
		return strings.ReplaceAll(path, "{id}", id)
	}
	protected := func(op string) bool {
		for _, public := range []string{" /health", " /ready", " /metrics", " /openapi.json"} {
			if strings.HasSuffix(op, public) {
				return false
			}
		}
		return true
	}
	withBody := func(op string) bool {
		return strings.HasPrefix(op, "POST /tasks") && !strings.HasSuffix(op, "}/complete") && !strings.HasSuffix(op, "/reopen") ||
			strings.HasPrefix(op, "POST /projects") || strings.HasPrefix(op, "PUT ") ||
			(strings.HasPrefix(op, "PATCH ") && !strings.HasSuffix(op, "/complete"))
	}
	for _, op := range apiContract.Operations(contract.OwnConventions) {
		method, path, _ := strings.Cut(op, " ")
		target := fill(path)
		t.Run(op, func(t *testing.T) {
			if !protected(op) {
				s.do(req{method: method, path: target}).want(t, 200, "")
				return
			}
			// None of these succeeds, so a DELETE leaves the ids in place
			// for the other operations.
			hostile := []struct {
				name   string
				header map[string]string
				status int
				code   string
			}{
				{"no token", nil, 401, "ERR_AUTH"},
				{"Basic credentials", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 400, "ERR_AUTH"},
				{"an empty Bearer", map[string]string{"Authorization": "Bearer "}, 400, "ERR_AUTH"},
				{"DPoP without a proof", map[string]string{"Authorization": "DPoP " + all}, 400, "ERR_AUTH"},
				{"two tokens", map[string]string{"Authorization": "Bearer " + all, "X-Probe-Query": "access_token=" + all}, 400, "invalid_request"},
				{"a tampered token", bearerOf(tamper("Bearer " + all)[len("Bearer "):]), 401, "invalid_token"},
				{"no scope", bearerOf(none), 403, "insufficient_scope"},
			}
			for _, h := range hostile {
				if h.status == 403 && strings.HasSuffix(op, " /me") {
					continue // GET /me needs no scope
				}
				rq := req{method: method, path: target, header: h.header}
				if q, ok := h.header["X-Probe-Query"]; ok {
					rq.path += "?" + q
					delete(h.header, "X-Probe-Query")
				}
				if withBody(op) {
					rq.body = map[string]any{"name": "x"}
				}
				res := s.do(rq)
				if res.status != h.status {
					t.Errorf("%s: %d, want %d: %s", h.name, res.status, h.status, res.raw)
				}
				if method != "HEAD" && h.code != "" && res.body["code"] != h.code {
					t.Errorf("%s: code %v, want %s", h.name, res.body["code"], h.code)
				}
			}
			if withBody(op) {
				for _, b := range []struct {
					name, contentType, body string
					status                  int
				}{
					{"a form", "application/x-www-form-urlencoded", "name=x", 415},
					{"malformed JSON", "application/json", `{"name":`, 400},
					{"an array", "application/json", `[]`, 400},
					{"too large", "application/json", `{"name":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`, 413},
					{"an unknown member", "application/json", `{"name":"x","priority":"high"}`, 422},
				} {
					res := s.do(req{method: method, path: target, body: b.body,
						header: map[string]string{"Authorization": "Bearer " + all, "Content-Type": b.contentType}})
					if res.status != b.status {
						t.Errorf("%s: %d, want %d: %s", b.name, res.status, b.status, res.raw)
					}
				}
			}
			if method == "GET" || method == "HEAD" {
				s.do(req{method: method, path: target, header: bearerOf(all)}).want(t, 200, "")
			}
		})
	}
	// The deletes, last.
	s.do(req{method: "DELETE", path: fill("/tasks/{id}"), header: bearerOf(all)}).want(t, 204, "")
	s.do(req{method: "DELETE", path: fill("/projects/{id}"), header: bearerOf(all)}).want(t, 204, "")
	s.do(req{method: "DELETE", path: fill("/projects/{id}"), header: bearerOf(all)}).want(t, 404, "ERR_NF")
}
