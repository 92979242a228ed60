package devissuer_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/devissuer"
)

const (
	appOrigin   = "http://localhost:5000"
	appCallback = appOrigin + "/app/callback"
	verifier    = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-longer-than-43"
)

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// flowIssuer is a test issuer with the app's client and a native client.
func flowIssuer(t *testing.T) *devissuer.Issuer {
	return devissuer.NewTestServer(t,
		devissuer.WithClient(devissuer.Client{ID: "app", RedirectURIs: []string{appCallback},
			PostLogoutRedirectURIs: []string{appOrigin + "/"}, TokenTTL: time.Minute}),
		devissuer.WithClient(devissuer.Client{ID: "cli", LoopbackRedirectPath: "/callback"}))
}

// browser is a client that keeps cookies and does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func authorizeURL(iss *devissuer.Issuer, mutate func(url.Values)) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {appCallback},
		"scope": {"openid profile read:tasks admin:all"}, "state": {"st"}, "nonce": {"n0"}, "audience": {"task-manager-api"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
	if mutate != nil {
		mutate(q)
	}
	return iss.URL() + devissuer.AuthorizePath + "?" + q.Encode()
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, header map[string]string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, c, req)
}

var requestField = regexp.MustCompile(`name="request" value="([^"]+)"`)

// signIn walks the page as user and returns the redirect's query.
func signIn(t *testing.T, iss *devissuer.Issuer, c *http.Client, user string) url.Values {
	t.Helper()
	res, body := get(t, c, authorizeURL(iss, nil))
	m := requestField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("authorize page: %d %s", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+appOrigin) || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("page CSP %q", csp)
	}
	res, body = postForm(t, c, iss.URL()+devissuer.AuthorizePath, url.Values{"request": {m[1]}, "user": {user}, "action": {"signin"}}, nil)
	return redirectQuery(t, res, body)
}

func redirectQuery(t *testing.T, res *http.Response, body string) url.Values {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("want 303 to the app, got %d %s", res.StatusCode, body)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), appCallback+"?") {
		t.Fatalf("redirect to %q", res.Header.Get("Location"))
	}
	return u.Query()
}

func exchange(t *testing.T, iss *devissuer.Issuer, form url.Values, origin string) (*http.Response, map[string]any) {
	t.Helper()
	base := url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"}, "redirect_uri": {appCallback}, "code_verifier": {verifier}}
	for k, v := range form {
		base[k] = v
	}
	res, body := postForm(t, http.DefaultClient, iss.URL()+devissuer.TokenPath, base, map[string]string{"Origin": origin})
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("token endpoint: %d %s", res.StatusCode, body)
	}
	return res, m
}

func TestCodeFlow(t *testing.T) {
	iss := flowIssuer(t)
	c := browser(t)
	q := signIn(t, iss, c, "dev|alice")
	if q.Get("state") != "st" || q.Get("iss") != iss.Issuer() || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	res, tok := exchange(t, iss, url.Values{"code": {q.Get("code")}}, appOrigin)
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != appOrigin || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange: %d %v %v", res.StatusCode, res.Header, tok)
	}
	if tok["scope"] != "openid profile read:tasks" || tok["expires_in"] != float64(60) {
		t.Errorf("scope/expires_in: %v", tok)
	}
	kid, pub := publishedKey(t, iss)
	keyFunc := func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != kid {
			t.Errorf("kid %v", tk.Header["kid"])
		}
		return pub, nil
	}
	access := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok["access_token"].(string), access, keyFunc); err != nil {
		t.Fatal(err)
	}
	if access["sub"] != "dev|alice" || access["azp"] != "app" || toStrings(access["aud"])[0] != "task-manager-api" {
		t.Errorf("access token claims %v", access)
	}
	id := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok["id_token"].(string), id, keyFunc); err != nil {
		t.Fatal(err)
	}
	if id["nonce"] != "n0" || id["aud"] != "app" || id["iss"] != iss.Issuer() || id["sub"] != "dev|alice" {
		t.Errorf("id token claims %v", id)
	}
	// A code is good once.
	if res, m := exchange(t, iss, url.Values{"code": {q.Get("code")}}, appOrigin); res.StatusCode != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("reused code: %d %v", res.StatusCode, m)
	}

	// The session signs in again without the page; prompt=login asks.
	res, body := get(t, c, authorizeURL(iss, nil))
	if q := redirectQuery(t, res, body); q.Get("code") == "" {
		t.Errorf("silent sign-in: %v", q)
	}
	if res, body := get(t, c, authorizeURL(iss, func(q url.Values) { q.Set("prompt", "login") })); res.StatusCode != http.StatusOK || !requestField.MatchString(body) {
		t.Errorf("prompt=login: %d", res.StatusCode)
	}
	// Logout ends the session and goes back to a registered URI only.
	res, _ = get(t, c, iss.URL()+devissuer.EndSessionPath+"?client_id=app&post_logout_redirect_uri="+url.QueryEscape(appOrigin+"/"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != appOrigin+"/" {
		t.Errorf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := get(t, c, authorizeURL(iss, func(q url.Values) { q.Set("prompt", "none") })); redirectQuery(t, res, "").Get("error") != "login_required" {
		t.Error("signed out, prompt=none should answer login_required")
	}
	if res, _ := get(t, c, iss.URL()+devissuer.EndSessionPath+"?post_logout_redirect_uri="+url.QueryEscape("https://evil.example/")); res.StatusCode != http.StatusBadRequest {
		t.Errorf("logout to an unregistered URI: %d", res.StatusCode)
	}
}

// TestAuthorizeRefuses: requests that must not yield a code, shown on the
// page (bad client or redirect) or returned as an error.
func TestAuthorizeRefuses(t *testing.T) {
	iss := flowIssuer(t)
	for _, tc := range []struct {
		name      string
		mutate    func(url.Values)
		wantError string // "" : a 400 page, no redirect
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "evil") }, ""},
		{"no client", func(q url.Values) { q.Del("client_id") }, ""},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, ""},
		{"redirect of another port", func(q url.Values) { q.Set("redirect_uri", "http://localhost:5999/app/callback") }, ""},
		{"app client with a loopback redirect", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/callback") }, ""},
		{"cli client elsewhere", func(q url.Values) {
			q.Set("client_id", "cli")
			q.Set("redirect_uri", "http://evil.example:80/callback")
		}, ""},
		{"cli client other path", func(q url.Values) { q.Set("client_id", "cli"); q.Set("redirect_uri", "http://127.0.0.1:8765/steal") }, ""},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		{"other audience", func(q url.Values) { q.Set("audience", "other-api") }, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, browser(t), authorizeURL(iss, tc.mutate))
			if tc.wantError == "" {
				if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || requestField.MatchString(body) {
					t.Fatalf("want a 400 page without a form: %d %q", res.StatusCode, res.Header.Get("Location"))
				}
				return
			}
			if q := redirectQuery(t, res, body); q.Get("error") != tc.wantError || q.Get("code") != "" || q.Get("state") != "st" {
				t.Fatalf("redirect query %v, want error %s", q, tc.wantError)
			}
		})
	}
	// The CLI's loopback redirect, any port.
	res, _ := get(t, browser(t), authorizeURL(iss, func(q url.Values) {
		q.Set("client_id", "cli")
		q.Set("redirect_uri", "http://127.0.0.1:43123/callback")
	}))
	if res.StatusCode != http.StatusOK {
		t.Errorf("cli loopback redirect: %d", res.StatusCode)
	}
}

func TestTokenEndpointRefuses(t *testing.T) {
	iss := flowIssuer(t)
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		status int
		error  string
	}{
		{"wrong verifier", url.Values{"code_verifier": {strings.Repeat("a", 43)}}, appOrigin, 400, "invalid_grant"},
		{"no verifier", url.Values{"code_verifier": {""}}, appOrigin, 400, "invalid_grant"},
		{"challenge as verifier", url.Values{"code_verifier": {challenge(verifier)}}, appOrigin, 400, "invalid_grant"},
		{"other redirect", url.Values{"redirect_uri": {appOrigin + "/other"}}, appOrigin, 400, "invalid_grant"},
		{"unknown client", url.Values{"client_id": {"evil"}}, appOrigin, 401, "invalid_client"},
		{"other client", url.Values{"client_id": {"cli"}}, appOrigin, 400, "invalid_grant"},
		{"other grant", url.Values{"grant_type": {"client_credentials"}}, appOrigin, 400, "unsupported_grant_type"},
		{"forged code", url.Values{"code": {"forged"}}, appOrigin, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"code": {signIn(t, iss, browser(t), "dev|demo-user").Get("code")}}
			for k, v := range tc.form {
				form[k] = v
			}
			res, m := exchange(t, iss, form, tc.origin)
			if res.StatusCode != tc.status || m["error"] != tc.error || m["access_token"] != nil {
				t.Fatalf("got %d %v, want %d %s", res.StatusCode, m, tc.status, tc.error)
			}
		})
	}
	// Another origin's script gets no CORS header, so it cannot read tokens.
	code := signIn(t, iss, browser(t), "dev|demo-user").Get("code")
	res, _ := exchange(t, iss, url.Values{"code": {code}}, "https://evil.example")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin for another origin: %q", got)
	}
}

func TestSignInPageRefuses(t *testing.T) {
	iss := flowIssuer(t)
	c := browser(t)
	_, body := get(t, c, authorizeURL(iss, nil))
	id := requestField.FindStringSubmatch(body)[1]
	page := iss.URL() + devissuer.AuthorizePath
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
		status int
	}{
		{"cross-site form", url.Values{"request": {id}, "user": {"dev|x"}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"unknown request", url.Values{"request": {"guess"}, "user": {"dev|x"}}, nil, http.StatusBadRequest},
		{"empty user", url.Values{"request": {id}, "user": {" "}}, nil, http.StatusUnprocessableEntity},
		{"control character", url.Values{"request": {id}, "user": {"a\x00b"}}, nil, http.StatusUnprocessableEntity},
		{"long user", url.Values{"request": {id}, "user": {strings.Repeat("u", 256)}}, nil, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := postForm(t, c, page, tc.form, tc.header)
			if res.StatusCode != tc.status || res.Header.Get("Location") != "" {
				t.Fatalf("got %d (Location %q), want %d", res.StatusCode, res.Header.Get("Location"), tc.status)
			}
		})
	}
	// A rebound name is refused.
	req, _ := http.NewRequest(http.MethodGet, authorizeURL(iss, nil), nil)
	req.Host = "evil.example"
	if res, _ := do(t, c, req); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: %d", res.StatusCode)
	}
	// Cancel goes back with access_denied.
	res, body := postForm(t, c, page, url.Values{"request": {id}, "action": {"cancel"}}, nil)
	if q := redirectQuery(t, res, body); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Errorf("cancel: %v", q)
	}
}

func TestNoFlowsWithoutClients(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	var doc map[string]any
	getJSON(t, iss.URL()+devissuer.DiscoveryPath, &doc)
	if doc["authorization_endpoint"] != nil || doc["token_endpoint"] != nil {
		t.Errorf("discovery without clients lists flows: %v", doc)
	}
	if res, _ := get(t, browser(t), authorizeURL(iss, nil)); res.StatusCode != http.StatusNotFound {
		t.Errorf("authorize without clients: %d", res.StatusCode)
	}
}
