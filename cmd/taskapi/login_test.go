package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeAS is a scripted authorization server: discovery, device
// authorization, authorize (the test plays the browser) and token.
type fakeAS struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values // token endpoint forms, in order
	basic    []string     // their Basic auth user, "" when none
	polls    []time.Time
	// tokenAnswers are answered in turn by the token endpoint; the last
	// one repeats. An answer with "error" is sent as 400.
	tokenAnswers []map[string]any
	deviceForm   url.Values
	challenge    string // code_challenge of the last authorize
	noDevice     bool
	// md overrides fields of the discovery document; tokenRedirect, when
	// set, is where the token endpoint redirects (307) requests that are
	// not already addressed to it.
	md            map[string]any
	tokenRedirect string
}

func newFakeAS(t *testing.T, answers ...map[string]any) *fakeAS {
	t.Helper()
	as := &fakeAS{tokenAnswers: answers}
	mux := http.NewServeMux()
	as.Server = httptest.NewServer(mux)
	t.Cleanup(as.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		md := map[string]any{
			"issuer":                                as.URL,
			"authorization_endpoint":                as.URL + "/authorize",
			"token_endpoint":                        as.URL + "/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		}
		if !as.noDevice {
			md["device_authorization_endpoint"] = as.URL + "/device"
		}
		maps.Copy(md, as.md)
		json.NewEncoder(w).Encode(md)
	})
	mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		as.mu.Lock()
		as.deviceForm = r.PostForm
		as.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{
			"device_code": "dev-code", "user_code": "WDJB-MJHT", "verification_uri": as.URL + "/activate",
			"verification_uri_complete": as.URL + "/activate?user_code=WDJB-MJHT", "expires_in": 600, "interval": 1,
		})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if as.tokenRedirect != "" && !strings.HasPrefix(as.tokenRedirect, "http://"+r.Host+"/") {
			http.Redirect(w, r, as.tokenRedirect, http.StatusTemporaryRedirect)
			return
		}
		r.ParseForm()
		user, _, _ := r.BasicAuth()
		as.mu.Lock()
		n := len(as.requests)
		as.requests = append(as.requests, r.PostForm)
		as.basic = append(as.basic, user)
		as.polls = append(as.polls, time.Now())
		ans := as.tokenAnswers[min(n, len(as.tokenAnswers)-1)]
		challenge := as.challenge
		as.mu.Unlock()
		if v := r.PostForm.Get("code_verifier"); v != "" {
			sum := sha256.Sum256([]byte(v))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				ans = map[string]any{"error": "invalid_grant", "error_description": "PKCE verification failed"}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if _, ok := ans["error"]; ok {
			w.WriteHeader(http.StatusBadRequest)
		}
		json.NewEncoder(w).Encode(ans)
	})
	return as
}

func (as *fakeAS) tokenRequests() ([]url.Values, []string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]url.Values(nil), as.requests...), append([]string(nil), as.basic...)
}

func okToken(access string) map[string]any {
	return map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-" + access, "scope": "read:tasks"}
}

func loginTestEnv(as *fakeAS, dir string) map[string]string {
	return map[string]string{
		"ISSUER_BASE_URL": as.URL,
		"AUDIENCE":        "task-manager-api",
		"CLIENT_ID":       "cli",
		"TOKEN_FILE":      filepath.Join(dir, "taskapi", "token.json"),
	}
}

func TestLoginConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	full := map[string]string{"ISSUER_BASE_URL": "https://tenant.example.com", "AUDIENCE": "api", "CLIENT_ID": "c", "TOKEN_FILE": "t.json"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no issuer", with("ISSUER_BASE_URL", ""), nil, "ISSUER_BASE_URL is not set"},
		{"bad issuer", with("ISSUER_BASE_URL", "tenant.example.com"), nil, "ISSUER_BASE_URL must be an http(s) URL"},
		{"no client", with("CLIENT_ID", ""), nil, "CLIENT_ID is not set"},
		{"no audience", with("AUDIENCE", ""), nil, "AUDIENCE is not set"},
		{"bad audience param", with("LOGIN_AUDIENCE_PARAM", "aud"), nil, "LOGIN_AUDIENCE_PARAM"},
		{"machine without secret", full, []string{"-client-credentials"}, "CLIENT_SECRET is not set"},
		{"two grants", full, []string{"-device", "-client-credentials"}, "choose one grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.env, append([]string{"login"}, tt.args...)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", r.err, tt.want)
			}
		})
	}
	// The secret is never a flag.
	r := runCmd(t, full, "login", "-client-secret", "s3cret")
	if !errors.Is(r.err, errUsage) || !strings.Contains(r.stderr, "flag provided but not defined: -client-secret") {
		t.Errorf("-client-secret: err = %v, stderr %s", r.err, r.stderr)
	}
}

func TestLoginClientCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("m2m-1"))
	env := loginTestEnv(as, dir)
	env["CLIENT_SECRET"] = "s3cret"
	env["LOGIN_SCOPES"] = "read:tasks"

	r := runCmd(t, env, "login", "-client-credentials")
	if r.err != nil || r.stdout != "" || !strings.Contains(r.stderr, "Access token saved to") {
		t.Fatalf("login: %v\nstdout %q\nstderr %s", r.err, r.stdout, r.stderr)
	}
	forms, basic := as.tokenRequests()
	if len(forms) != 1 || forms[0].Get("grant_type") != "client_credentials" || forms[0].Get("audience") != "task-manager-api" ||
		forms[0].Get("scope") != "read:tasks" || forms[0].Has("client_secret") || basic[0] != "cli" {
		t.Errorf("token request %v basic %q", forms, basic)
	}
	fi, err := os.Stat(env["TOKEN_FILE"])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	var saved savedToken
	b, _ := os.ReadFile(env["TOKEN_FILE"])
	json.Unmarshal(b, &saved)
	if saved.AccessToken != "m2m-1" || saved.Audience != "task-manager-api" || saved.Issuer != as.URL || time.Until(saved.Expiry) < 50*time.Minute {
		t.Errorf("saved %+v", saved)
	}

	// Reused while valid: no second request.
	r = runCmd(t, env, "login", "-client-credentials", "-print")
	if r.err != nil || r.stdout != "m2m-1\n" {
		t.Fatalf("reuse: %v %q %s", r.err, r.stdout, r.stderr)
	}
	if forms, _ := as.tokenRequests(); len(forms) != 1 {
		t.Errorf("a valid saved token was not reused: %d requests", len(forms))
	}

	// RFC 8707 resource instead of audience; -force ignores the file.
	env["LOGIN_AUDIENCE_PARAM"] = "resource"
	env["LOGIN_AUDIENCE"] = "https://api.example.com"
	if r = runCmd(t, env, "login", "-client-credentials", "-print", "-force"); r.err != nil {
		t.Fatal(r.err)
	}
	forms, _ = as.tokenRequests()
	if last := forms[len(forms)-1]; last.Get("resource") != "https://api.example.com" || last.Has("audience") {
		t.Errorf("resource request %v", last)
	}
}

func TestLoginOAuthErrors(t *testing.T) {
	tests := []struct {
		code, want string
	}{
		{"invalid_client", "check CLIENT_ID and CLIENT_SECRET"},
		{"unauthorized_client", "enable it for the application"},
		{"invalid_scope", "check LOGIN_SCOPES"},
		{"access_denied", "the sign-in was refused"},
		{"invalid_target", "check LOGIN_AUDIENCE"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			as := newFakeAS(t, map[string]any{"error": tt.code, "error_description": "said \x1b[31mthe provider"})
			env := loginTestEnv(as, dir)
			env["CLIENT_SECRET"] = "s"
			r := runCmd(t, env, "login", "-client-credentials", "-print")
			if r.err == nil || !strings.Contains(r.err.Error(), tt.code+" (said [31mthe provider)") || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("err = %v, want the code, the description without control characters, and %q", r.err, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
	// A response that is not an OAuth error.
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, map[string]any{})
	as.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	env := loginTestEnv(as, dir)
	env["CLIENT_SECRET"] = "s"
	if r := runCmd(t, env, "login", "-client-credentials"); r.err == nil || !strings.Contains(r.err.Error(), "discovery at ISSUER_BASE_URL failed") {
		t.Errorf("provider down: %v", r.err)
	}
}

// TestLoginDeviceGrant: pending, then slow_down (the next poll waits 5 s
// more, RFC 8628 §3.5), then a token. Slow by nature (about 7 s).
func TestLoginDeviceGrant(t *testing.T) {
	if testing.Short() {
		t.Skip("the slow_down back-off takes about 7 s")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t,
		map[string]any{"error": "authorization_pending"},
		map[string]any{"error": "slow_down"},
		okToken("device-1"))
	r := runCmd(t, loginTestEnv(as, dir), "login", "-device", "-print")
	if r.err != nil || r.stdout != "device-1\n" {
		t.Fatalf("login -device: %v %q\n%s", r.err, r.stdout, r.stderr)
	}
	for _, want := range []string{"enter the code WDJB-MJHT", "/activate?user_code=WDJB-MJHT"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if as.deviceForm.Get("audience") != "task-manager-api" || as.deviceForm.Get("client_id") != "cli" || !strings.Contains(as.deviceForm.Get("scope"), "offline_access") {
		t.Errorf("device authorization form %v", as.deviceForm)
	}
	forms, _ := as.tokenRequests()
	if len(forms) != 3 || forms[0].Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || forms[0].Get("device_code") != "dev-code" {
		t.Fatalf("polls %v", forms)
	}
	// After slow_down the interval grew from 1 s to 6 s: a lower bound,
	// which no scheduling delay can break.
	if gap := as.polls[2].Sub(as.polls[1]); gap < 6*time.Second-100*time.Millisecond {
		t.Errorf("poll after slow_down came %v after the previous one, want at least 6s", gap)
	}
}

func TestLoginDeviceErrors(t *testing.T) {
	for code, want := range map[string]string{
		"expired_token": "the device code expired",
		"access_denied": "the sign-in was refused",
	} {
		t.Run(code, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			as := newFakeAS(t, map[string]any{"error": code})
			r := runCmd(t, loginTestEnv(as, dir), "login", "-device")
			if r.err == nil || !strings.Contains(r.err.Error(), want) {
				t.Errorf("err = %v, want %q", r.err, want)
			}
		})
	}
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("x"))
	as.noDevice = true
	if r := runCmd(t, loginTestEnv(as, dir), "login", "-device"); r.err == nil || !strings.Contains(r.err.Error(), "no device_authorization_endpoint") {
		t.Errorf("no device endpoint: %v", r.err)
	}
}

// playBrowser replaces openBrowser for one test with fn.
func playBrowser(t *testing.T, fn func(authURL *url.URL) error) {
	t.Helper()
	old := openBrowser
	openBrowser = func(u string) error {
		parsed, err := url.Parse(u)
		if err != nil {
			return err
		}
		go func() {
			if err := fn(parsed); err != nil {
				t.Error(err)
			}
		}()
		return nil
	}
	t.Cleanup(func() { openBrowser = old })
}

// redirect calls the loopback redirect_uri of authURL with query and
// returns the status.
func redirect(authURL *url.URL, query url.Values) (int, string, error) {
	resp, err := http.Get(authURL.Query().Get("redirect_uri") + "?" + query.Encode())
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestLoginAuthorizationCode(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("code-1"))
	var strayStatus int
	playBrowser(t, func(u *url.URL) error {
		q := u.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" || q.Get("audience") != "task-manager-api" ||
			!strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
			return fmt.Errorf("authorization URL %s", u)
		}
		as.mu.Lock()
		as.challenge = q.Get("code_challenge")
		as.mu.Unlock()
		// A redirect with another state is refused, and the login waits on.
		status, _, err := redirect(u, url.Values{"code": {"forged"}, "state": {"other"}})
		if err != nil {
			return err
		}
		strayStatus = status
		_, _, err = redirect(u, url.Values{"code": {"good"}, "state": {q.Get("state")}, "iss": {as.URL}})
		return err
	})
	r := runCmd(t, loginTestEnv(as, dir), "login", "-print")
	if r.err != nil || r.stdout != "code-1\n" {
		t.Fatalf("login: %v %q\n%s", r.err, r.stdout, r.stderr)
	}
	if strayStatus != http.StatusBadRequest {
		t.Errorf("redirect with a wrong state: %d, want 400", strayStatus)
	}
	forms, basic := as.tokenRequests()
	if len(forms) != 1 || forms[0].Get("code") != "good" || forms[0].Get("code_verifier") == "" || forms[0].Get("client_id") != "cli" || basic[0] != "" {
		t.Errorf("code exchange %v basic %q", forms, basic)
	}
	if !strings.Contains(r.stderr, "/authorize?") {
		t.Errorf("the URL was not printed:\n%s", r.stderr)
	}
}

func TestLoginAuthorizationCodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		query func(state, issuer string) url.Values
		want  string
	}{
		{"declined", func(s, _ string) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"User cancelled"}, "state": {s}}
		}, "access_denied (User cancelled): the sign-in was refused"},
		{"other issuer", func(s, _ string) url.Values {
			return url.Values{"code": {"c"}, "state": {s}, "iss": {"https://evil.example"}}
		}, "mix-up"},
		{"no code", func(s, _ string) url.Values { return url.Values{"state": {s}} }, "neither a code nor an error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			as := newFakeAS(t, okToken("never"))
			playBrowser(t, func(u *url.URL) error {
				_, _, err := redirect(u, tt.query(u.Query().Get("state"), as.URL))
				return err
			})
			r := runCmd(t, loginTestEnv(as, dir), "login")
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", r.err, tt.want)
			}
			if forms, _ := as.tokenRequests(); len(forms) != 0 {
				t.Errorf("the code was exchanged: %v", forms)
			}
		})
	}
}

func TestLoginRefresh(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("refreshed"))
	env := loginTestEnv(as, dir)
	l := &login{cfg: loginConfig{IssuerBaseURL: as.URL, Audience: "task-manager-api", ClientID: "cli", TokenFile: env["TOKEN_FILE"]}}
	if err := l.save(&oauth2.Token{AccessToken: "old", RefreshToken: "rt-old", Expiry: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, env, "login", "-print")
	if r.err != nil || r.stdout != "refreshed\n" {
		t.Fatalf("login: %v %q\n%s", r.err, r.stdout, r.stderr)
	}
	forms, _ := as.tokenRequests()
	if len(forms) != 1 || forms[0].Get("grant_type") != "refresh_token" || forms[0].Get("refresh_token") != "rt-old" {
		t.Errorf("refresh request %v", forms)
	}

	// A saved token of another audience is not used.
	other := *l
	other.cfg.Audience = "other-api"
	other.save(&oauth2.Token{AccessToken: "other", Expiry: time.Now().Add(time.Hour)})
	env["CLIENT_SECRET"] = "s"
	r = runCmd(t, env, "login", "-client-credentials", "-print")
	if r.err != nil || r.stdout == "other\n" {
		t.Errorf("token of another audience reused: %v %q", r.err, r.stdout)
	}
}

func TestLoginFixedRedirect(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	as := newFakeAS(t, okToken("fixed-1"))
	env := loginTestEnv(as, dir)
	env["LOGIN_REDIRECT_URI"] = fmt.Sprintf("http://localhost:%d/oauth/cb", port)
	playBrowser(t, func(u *url.URL) error {
		if got := u.Query().Get("redirect_uri"); got != env["LOGIN_REDIRECT_URI"] {
			return fmt.Errorf("redirect_uri %q, want %q", got, env["LOGIN_REDIRECT_URI"])
		}
		as.mu.Lock()
		as.challenge = u.Query().Get("code_challenge")
		as.mu.Unlock()
		_, _, err := redirect(u, url.Values{"code": {"c"}, "state": {u.Query().Get("state")}})
		return err
	})
	if r := runCmd(t, env, "login", "-print"); r.err != nil || r.stdout != "fixed-1\n" {
		t.Fatalf("login: %v %q\n%s", r.err, r.stdout, r.stderr)
	}
	if forms, _ := as.tokenRequests(); len(forms) != 1 || forms[0].Get("redirect_uri") != env["LOGIN_REDIRECT_URI"] {
		t.Errorf("exchange %v", forms)
	}

	for _, bad := range []string{"https://localhost:1/cb", "http://example.com:80/cb", "http://localhost/cb", "http://127.0.0.1:1/cb?x=1"} {
		env["LOGIN_REDIRECT_URI"] = bad
		if r := runCmd(t, env, "login"); r.err == nil || !strings.Contains(r.err.Error(), "LOGIN_REDIRECT_URI") {
			t.Errorf("%s: err = %v", bad, r.err)
		}
	}
}

func TestLoginDecodeHelp(t *testing.T) {
	t.Chdir(t.TempDir())
	for cmd, want := range map[string][]string{
		"login":  {"Usage: taskapi login", "-device", "-client-credentials", "-print", "CLIENT_SECRET", "LOGIN_AUDIENCE_PARAM", "LOGIN_REDIRECT_URI", "TOKEN_FILE"},
		"decode": {"Usage: taskapi decode", "-unverified", "AUDIENCE_CLAIM", "SCOPE_CLAIMS"},
	} {
		r := runCmd(t, nil, cmd, "-h")
		if !errors.Is(r.err, flag.ErrHelp) {
			t.Errorf("%s -h: err = %v", cmd, r.err)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, w, r.stderr)
			}
		}
	}
	r := runCmd(t, nil, "-h")
	if !strings.Contains(r.stdout, "login") || !strings.Contains(r.stdout, "decode") {
		t.Errorf("taskapi -h does not list login and decode:\n%s", r.stdout)
	}
}

// TestLoginChecksIssuer: the discovered metadata must name the issuer of
// ISSUER_BASE_URL (RFC 8414 §3.3, trailing slash aside), or login stops
// before any token request: another document could name endpoints that
// collect the credentials.
func TestLoginChecksIssuer(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("t1"))
	env := loginTestEnv(as, dir)
	env["CLIENT_SECRET"] = "s3cret"
	for _, base := range []string{as.URL + "/", as.URL + "/.well-known/openid-configuration"} {
		env["ISSUER_BASE_URL"] = base
		if r := runCmd(t, env, "login", "-client-credentials", "-print", "-force"); r.err != nil || r.stdout != "t1\n" {
			t.Errorf("ISSUER_BASE_URL=%s: %v %q", base, r.err, r.stdout)
		}
	}
	sent, _ := as.tokenRequests()
	env["ISSUER_BASE_URL"] = as.URL
	for _, announced := range []string{"https://evil.example", as.URL + "/tenant"} {
		as.md = map[string]any{"issuer": announced}
		r := runCmd(t, env, "login", "-client-credentials", "-print", "-force")
		if r.err == nil || !strings.Contains(r.err.Error(), fmt.Sprintf("names the issuer %q, not %q", announced, as.URL)) ||
			!strings.Contains(r.err.Error(), "ISSUER_BASE_URL") {
			t.Errorf("metadata naming %s: err = %v, want the mismatch and ISSUER_BASE_URL named", announced, r.err)
		}
	}
	if forms, _ := as.tokenRequests(); len(forms) != len(sent) {
		t.Errorf("%d token requests after a metadata of another issuer", len(forms)-len(sent))
	}
	env["ISSUER_BASE_URL"] = as.URL + "/.well-known/custom-configuration"
	if r := runCmd(t, env, "login", "-client-credentials"); r.err == nil || !strings.Contains(r.err.Error(), "does not say which issuer") {
		t.Errorf("a metadata URL of no issuer: err = %v", r.err)
	}
}

// TestLoginSendsSecretOnlyOverHTTPS: CLIENT_SECRET goes to an https token
// or device endpoint, or to one on loopback, never over plain http across
// a network, not even after a redirect: login refuses before sending it.
// The provider is at http://idp.example, whose connections go to the fake.
func TestLoginSendsSecretOnlyOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	as := newFakeAS(t, okToken("t1"))
	client := newLoginClient(true)
	client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, as.Listener.Addr().String())
	}}
	env := loginTestEnv(as, dir)
	env["CLIENT_SECRET"] = "s3cret"
	obtain := func(device, machine bool) error {
		lc, err := loadLoginConfig(mapEnv(env), machine)
		if err != nil {
			return err
		}
		l := &login{cfg: lc, env: &environment{stdout: io.Discard, stderr: io.Discard}, client: client, noBrowser: true}
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, client), 20*time.Second)
		defer cancel()
		_, err = l.obtain(ctx, device, machine, true)
		return err
	}
	const idp = "http://idp.example"
	for _, tc := range []struct {
		name            string
		device, machine bool
		base            string
		md              map[string]any
		redirect        string
		want            string
	}{
		{"token endpoint", false, true, idp, map[string]any{"issuer": idp, "token_endpoint": idp + "/token"}, "",
			`token_endpoint "http://idp.example/token" is plain http`},
		{"device endpoint", true, false, idp, map[string]any{"issuer": idp, "token_endpoint": "https://idp.example/token", "device_authorization_endpoint": idp + "/device"}, "",
			`device_authorization_endpoint "http://idp.example/device" is plain http`},
		// The secret in the form, which a 307 sends again.
		{"redirect of the token request", false, true, as.URL, map[string]any{"token_endpoint_auth_methods_supported": []string{"client_secret_post"}}, idp + "/token",
			`the redirect to "http://idp.example/token" is plain http`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as.md, as.tokenRedirect, env["ISSUER_BASE_URL"] = tc.md, tc.redirect, tc.base
			err := obtain(tc.device, tc.machine)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "CLIENT_SECRET") {
				t.Errorf("err = %v, want %q and CLIENT_SECRET named", err, tc.want)
			}
			if forms, basic := as.tokenRequests(); len(forms) != 0 || as.deviceForm != nil {
				t.Errorf("sent over plain http: token requests %v (Basic %q), device request %v", forms, basic, as.deviceForm)
			}
		})
	}
	// On loopback, plain http is fine (the fake itself).
	as.md, as.tokenRedirect, env["ISSUER_BASE_URL"] = nil, "", as.URL
	if err := obtain(false, true); err != nil {
		t.Errorf("token endpoint on loopback: %v", err)
	}
}
