package httpapi

import (
	"net/http"
	"testing"

	"github.com/taskapi/taskapi/bearer"
)

// TestUsersOfIssuersApart: the same sub in tokens of two issuers is two
// users, each with rows and a rate limit of its own; an issuer's URL with
// or without its trailing slash is one issuer.
func TestUsersOfIssuersApart(t *testing.T) {
	s := newTestServer(t)
	a, a2, b := asIssuer("https://a.example.com/"), asIssuer("https://a.example.com"), asIssuer("https://b.example.com/")

	project := s.do(req{method: "POST", path: "/projects", body: map[string]any{"name": "A's"}, header: a}).want(t, http.StatusCreated, "").obj("project")["id"].(string)
	task := s.do(req{method: "POST", path: "/tasks", body: map[string]any{"name": "A's", "project_id": project}, header: a}).want(t, http.StatusCreated, "").obj("task")["id"].(string)

	// B's user of the same sub sees, changes and uses none of it.
	if got := s.do(req{method: "GET", path: "/tasks", header: b}).want(t, http.StatusOK, "").body["tasks"]; len(got.([]any)) != 0 {
		t.Errorf("B's list holds A's tasks: %v", got)
	}
	s.do(req{method: "GET", path: "/tasks/" + task, header: b}).want(t, http.StatusNotFound, "ERR_NF")
	s.do(req{method: "GET", path: "/projects/" + project + "/tasks", header: b}).want(t, http.StatusNotFound, "ERR_NF")
	s.do(req{method: "PATCH", path: "/tasks/" + task, body: map[string]any{"name": "B's now"}, header: b}).want(t, http.StatusNotFound, "ERR_NF")
	s.do(req{method: "DELETE", path: "/projects/" + project, header: b}).want(t, http.StatusNotFound, "ERR_NF")
	s.do(req{method: "POST", path: "/tasks", body: map[string]any{"name": "B's", "project_id": project}, header: b}).want(t, http.StatusUnprocessableEntity, "ERR_VALID")

	// A's user, with or without the trailing slash, has it all unchanged.
	got := s.do(req{method: "GET", path: "/tasks/" + task, header: a2}).want(t, http.StatusOK, "").obj("task")
	if got["name"] != "A's" || got["project_id"] != project {
		t.Fatalf("A's task after B's requests: %v", got)
	}
}

// TestRateLimitPerIssuerUser: the same sub of two issuers has two buckets.
func TestRateLimitPerIssuerUser(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.RateLimit = RateLimit{Rate: 0.001, Burst: 1} })
	a, b := asIssuer("https://a.example.com/"), asIssuer("https://b.example.com/")
	s.do(req{method: "GET", path: "/tasks", header: a}).want(t, http.StatusOK, "")
	s.do(req{method: "GET", path: "/tasks", header: a}).want(t, http.StatusTooManyRequests, "ERR_RATE_LIMIT")
	s.do(req{method: "GET", path: "/tasks", header: b}).want(t, http.StatusOK, "")
}

// asIssuer is the header of a token of issuer for the sub auth0|same.
func asIssuer(iss string) map[string]string {
	return map[string]string{hdrClaims: `{"sub":"auth0|same","iss":"` + iss + `"}`}
}

// TestUserIssuer: Config.UserIssuer decides whose users a token's subjects
// are; one returning a constant makes the subjects of every issuer one
// user (a tenant behind several domains).
func TestUserIssuer(t *testing.T) {
	shared := newTestServer(t, func(c *Config) {
		c.UserIssuer = func(*bearer.Claims) string { return "https://tenant.example.com" }
	})
	task := shared.do(req{method: "POST", path: "/tasks", body: map[string]any{"name": "one"}, header: asIssuer("https://login.example.com/")}).want(t, http.StatusCreated, "").obj("task")["id"].(string)
	shared.do(req{method: "GET", path: "/tasks/" + task, header: asIssuer("https://auth.example.org/")}).want(t, http.StatusOK, "")
}
