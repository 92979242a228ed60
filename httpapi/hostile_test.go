package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestMeFarExpiry: an exp past year 9999 is a valid NumericDate: /me
// answers it as the number, with expires_at null, never a 500.
func TestMeFarExpiry(t *testing.T) {
	s := newTestServer(t)
	for _, exp := range []string{"253402300800", "1e15", "1e300"} {
		res := s.do(req{method: "GET", path: "/me", header: map[string]string{hdrClaims: `{"sub":"auth0|far","exp":` + exp + `}`}}).want(t, http.StatusOK, "")
		if res.body["expires_at"] != nil || res.body["exp"] == nil {
			t.Errorf("exp %s: %s; want expires_at null and exp the number", exp, res.raw)
		}
	}
	res := s.do(req{method: "GET", path: "/me", header: map[string]string{hdrClaims: `{"sub":"auth0|near","exp":1900000000}`}}).want(t, http.StatusOK, "")
	if res.body["expires_at"] != "2030-03-17T17:46:40Z" || res.body["exp"] != 1900000000.0 {
		t.Errorf("an ordinary exp: %s", res.raw)
	}
}

// TestMalformedBodies: a body cut short is "unexpected end of input"; only
// a body with nothing in it is "empty".
func TestMalformedBodies(t *testing.T) {
	s := newTestServer(t)
	for body, want := range map[string]string{
		`{"name":`:     "Malformed JSON: unexpected end of input",
		`{"name":"a"`:  "Malformed JSON: unexpected end of input",
		`{"name":"a",`: "Malformed JSON: unexpected end of input",
		`{`:            "Malformed JSON: unexpected end of input",
		``:             "Malformed JSON: the body is empty",
		" \n\t ":       "Malformed JSON: the body is empty",
	} {
		res := s.do(req{method: "POST", path: "/tasks", user: "auth0|m", body: body, header: map[string]string{"Content-Type": "application/json"}}).want(t, http.StatusBadRequest, "ERR_BAD_REQUEST")
		if res.body["error"] != want {
			t.Errorf("body %q: %q, want %q", body, res.body["error"], want)
		}
	}
}

// TestAccessTokenInQuery: a token that authenticated as ?access_token=
// works on the list routes too, and is never echoed in the Link header
// or the page token.
func TestAccessTokenInQuery(t *testing.T) {
	s := newTestServer(t)
	for i := range 3 {
		s.createTask("auth0|query", map[string]any{"name": "task " + string(rune('a'+i))})
	}
	project := s.do(req{method: "POST", path: "/projects", user: "auth0|query", body: map[string]any{"name": "p"}}).want(t, http.StatusCreated, "").obj("project")["id"].(string)
	for _, path := range []string{"/tasks?limit=2&access_token=SECRET-TOKEN", "/projects?access_token=SECRET-TOKEN", "/projects/" + project + "/tasks?access_token=SECRET-TOKEN"} {
		res := s.do(req{method: "GET", path: path, user: "auth0|query"}).want(t, http.StatusOK, "")
		if link := res.header.Get("Link"); strings.Contains(link, "SECRET") || strings.Contains(link, "access_token") {
			t.Errorf("GET %s: Link %q echoes the token", path, link)
		}
		if strings.Contains(string(res.raw), "SECRET") {
			t.Errorf("GET %s: body echoes the token: %s", path, res.raw)
		}
	}
	// The page token of a list read with ?access_token= continues it.
	first := s.do(req{method: "GET", path: "/tasks?limit=2&access_token=SECRET-TOKEN", user: "auth0|query"}).want(t, http.StatusOK, "")
	next, _ := first.body["next_page_token"].(string)
	if next == "" {
		t.Fatalf("no next page: %s", first.raw)
	}
	s.do(req{method: "GET", path: "/tasks?limit=2&page_token=" + next, user: "auth0|query"}).want(t, http.StatusOK, "")
}
