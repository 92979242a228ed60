package httpapi

import (
	"strings"
	"testing"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
)

// TestWithBearerVerifier runs the API behind the real bearer middleware,
// with RS256 tokens from the development issuer: the sub of a verified
// token scopes the data, and the sub and scope checks see real claims.
func TestWithBearerVerifier(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	v, err := bearer.New(bearer.Config{IssuerBaseURL: iss.URL(), Audience: []string{"task-manager-api"}, ErrorHandler: WriteAuthError})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(c *Config) { c.Authenticate, c.RequireScopes = v.Authenticate, true })
	token := func(tr devissuer.TokenRequest) map[string]string {
		tok, err := iss.Token(tr)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	rw := "read:tasks write:tasks delete:tasks"
	alice := token(devissuer.TokenRequest{Subject: "google-oauth2|100541667735869923759", Scope: "openid email " + rw})
	bob := token(devissuer.TokenRequest{Subject: "auth0|bob", Permissions: []string{"read:tasks"}})

	res := s.do(req{method: "GET", path: "/me", header: alice}).want(t, 200, "")
	if res.body["sub"] != "google-oauth2|100541667735869923759" || res.body["expires_at"] == nil {
		t.Fatalf("me: %s", res.raw)
	}
	res = s.do(req{method: "POST", path: "/tasks", header: alice, body: map[string]any{"name": "x"}}).want(t, 201, "")
	task := res.obj("task")
	if task["user_id"] != "google-oauth2|100541667735869923759" {
		t.Fatalf("user_id %v", task["user_id"])
	}
	id := task["id"].(string)
	s.do(req{method: "GET", path: "/tasks/" + id, header: bob}).want(t, 404, "ERR_NF")
	s.do(req{method: "GET", path: "/tasks", header: bob}).want(t, 200, "")
	res = s.do(req{method: "POST", path: "/tasks", header: bob, body: map[string]any{"name": "x"}}).want(t, 403, "insufficient_scope")
	if !strings.Contains(res.header.Get("WWW-Authenticate"), `scope="write:tasks"`) {
		t.Errorf("WWW-Authenticate %q", res.header.Get("WWW-Authenticate"))
	}

	for _, tt := range []struct {
		name   string
		header map[string]string
		code   string
		msg    string
	}{
		{"no token", nil, "ERR_AUTH", "Unauthorized"},
		{"no sub", token(devissuer.TokenRequest{Scope: rw}), "invalid_token", "Missing 'sub' claim"},
		{"numeric sub", token(devissuer.TokenRequest{Scope: rw, Extra: map[string]any{"sub": 42}}), "invalid_token", "Unexpected 'sub' value"},
		{"tampered", map[string]string{"Authorization": tamper(alice["Authorization"])}, "invalid_token", "signature verification failed"},
	} {
		res := s.do(req{method: "GET", path: "/tasks", header: tt.header}).want(t, 401, tt.code)
		if res.body["error"] != tt.msg || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %s %q", tt.name, res.raw, res.header.Get("WWW-Authenticate"))
		}
	}
}

// tamper changes one character in the middle of a token's signature.
func tamper(auth string) string {
	b := []byte(auth)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
