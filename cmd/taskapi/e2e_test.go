package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/internal/contract"
)

// apiContract checks the exchanges of the end-to-end tests against the
// API's OpenAPI document.
var apiContract = func() *contract.Checker {
	c, err := contract.New(httpapi.OpenAPI())
	if err != nil {
		panic(err)
	}
	return c
}()

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// do sends req to the API and decodes the JSON answer; the exchange is
// held to the OpenAPI document (internal/contract), failing t on a
// departure.
func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := apiContract.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %q", req.Method, req.URL, res.StatusCode, b)
	}
	return a
}

// taskNames returns the names in a {"tasks": [...]} body, sorted.
func taskNames(t *testing.T, body map[string]any) []string {
	t.Helper()
	list, ok := body["tasks"].([]any)
	if !ok {
		t.Fatalf("no tasks list in %v", body)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.(map[string]any)["name"].(string))
	}
	slices.Sort(names)
	return names
}

// tamper changes one character of the token's signature (not the last:
// its low bits are base64 padding that some decoders ignore).
func tamper(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

var seededNames = []string{"Plant tomatoes", "Renew passport"}

var listeningRE = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

func TestServeEndToEnd(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) { testServeEndToEnd(t, newDB(t)) })
	}
}

func testServeEndToEnd(t *testing.T, databaseURL string) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	const user = "google-oauth2|100541667735869923759"
	env := map[string]string{
		"ISSUER_BASE_URL": iss.URL(),
		"AUDIENCE":        "task-manager-api",
		"DATABASE_URL":    databaseURL,
	}
	if r := runCmd(t, env, "seed", "-user", user); r.err != nil {
		t.Fatalf("seed: %v", r.err)
	}
	_, stderr, done, stop := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]

	tok, err := iss.Token(devissuer.TokenRequest{Subject: user, Scope: "openid email"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := iss.Token(devissuer.TokenRequest{Subject: "auth0|someone-else"})
	wrongAud, _ := iss.Token(devissuer.TokenRequest{Subject: user, Audience: []string{"another-api"}})

	a := get(t, base+"/tasks", tok)
	if a.status != http.StatusOK || !slices.Equal(taskNames(t, a.body), seededNames) {
		t.Errorf("GET /tasks: %d %v, want 200 with the seeded tasks", a.status, a.body)
	}
	a = get(t, base+"/tasks", other)
	if a.status != http.StatusOK || len(taskNames(t, a.body)) != 0 {
		t.Errorf("GET /tasks as another user: %d %v, want 200 and no tasks", a.status, a.body)
	}

	rejections := []struct {
		name, token, wantMsg, wantCode string
	}{
		{"tampered", tamper(tok), "signature verification failed", "invalid_token"},
		{"wrong audience", wrongAud, "Unexpected 'aud' value", "invalid_token"},
		{"no token", "", "Unauthorized", "ERR_AUTH"},
	}
	for _, tt := range rejections {
		a := get(t, base+"/tasks", tt.token)
		if a.status != http.StatusUnauthorized || a.body["error"] != tt.wantMsg || a.body["code"] != tt.wantCode {
			t.Errorf("%s: %d %v, want 401 {error: %q, code: %q}", tt.name, a.status, a.body, tt.wantMsg, tt.wantCode)
		}
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), `Bearer realm="api"`) {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, a.header.Get("WWW-Authenticate"))
		}
	}
	if a := get(t, base+"/health", ""); a.status != http.StatusOK {
		t.Errorf("GET /health: %d %v", a.status, a.body)
	}

	stop()
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", stderr.String())
	}
}

var curlRE = regexp.MustCompile(`(?m)^curl -H "Authorization: Bearer ([A-Za-z0-9_.-]+)" (http://\S+)$`)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func TestDevPrintsWorkingCurlLine(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	issuerAddr := "127.0.0.1:" + freePort(t)
	env := map[string]string{"PORT": "0"}

	stdout, _, done, stop := startCmd(t, env, "dev", "-issuer-addr", issuerAddr)
	m := stdout.waitFor(t, curlRE, done)
	token, url := m[1], m[2]
	if !strings.HasPrefix(url, "http://localhost:") || !strings.HasSuffix(url, "/tasks") {
		t.Errorf("curl URL %q, want http://localhost:PORT/tasks", url)
	}
	// The request exactly as printed.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	a := do(t, req)
	if a.status != http.StatusOK || !slices.Equal(taskNames(t, a.body), seededNames) {
		t.Fatalf("printed curl request: %d %v, want 200 with the demo user's tasks", a.status, a.body)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != devDemoUser || claims["scope"] != devScopes || claims["iss"] != "http://"+issuerAddr+"/" {
		t.Errorf("printed token claims %v", claims)
	}
	fi, err := os.Stat(filepath.Join(dir, devKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev key beside the database: %v, %v; want a 0600 file", fi, err)
	}
	stop()

	// Restart on the same database and issuer address: the old token and
	// one minted by `taskapi token` both work, and seeding did not repeat.
	stdout, _, done, _ = startCmd(t, env, "dev", "-issuer-addr", issuerAddr)
	url = stdout.waitFor(t, curlRE, done)[2]
	r := runCmd(t, env, "token", "-sub", devDemoUser, "-scope", "read:tasks", "-ttl", "5m", "-issuer-addr", issuerAddr)
	if r.err != nil {
		t.Fatalf("token: %v", r.err)
	}
	minted := strings.TrimSpace(r.stdout)
	for name, tok := range map[string]string{"token from before the restart": token, "taskapi token": minted} {
		a := get(t, url, tok)
		if a.status != http.StatusOK || !slices.Equal(taskNames(t, a.body), seededNames) {
			t.Errorf("%s: %d %v, want 200 with the 2 seeded tasks", name, a.status, a.body)
		}
	}
}

func TestDevRefusesNetworkAddress(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, addr := range []string{"0.0.0.0:5000", ":5000"} {
		r := runCmd(t, nil, "dev", "-addr", addr)
		if r.err == nil || !strings.Contains(r.err.Error(), "loopback only") {
			t.Errorf("dev -addr %s: err = %v, want a refusal", addr, r.err)
		}
	}
	r := runCmd(t, nil, "dev", "-issuer-addr", "0.0.0.0:5001", "-addr", "127.0.0.1:0")
	if r.err == nil || !strings.Contains(r.err.Error(), "loopback only") {
		t.Errorf("dev -issuer-addr 0.0.0.0:5001: err = %v, want a refusal", r.err)
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := runCmd(t, nil, "token")
	if r.err == nil || !strings.Contains(r.err.Error(), "no development signing key at "+devKeyFile) {
		t.Fatalf("token without a key: err = %v", r.err)
	}
	key, err := devissuer.LoadOrCreateKey(filepath.Join(dir, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	r = runCmd(t, nil, "token", "-sub", "auth0|42", "-scope", "read:tasks", "-ttl", "90s", "-aud", "task-manager-api,other")
	if r.err != nil {
		t.Fatal(r.err)
	}
	tok := strings.TrimSuffix(r.stdout, "\n")
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatalf("minted token %q does not verify with the dev key: %v", tok, err)
	}
	aud, _ := claims.GetAudience()
	if claims["sub"] != "auth0|42" || claims["scope"] != "read:tasks" || claims["iss"] != "http://127.0.0.1:5001/" ||
		!slices.Equal(aud, []string{"task-manager-api", "other", "http://127.0.0.1:5001/userinfo"}) ||
		claims["exp"].(float64)-claims["iat"].(float64) != 90 {
		t.Errorf("claims %v", claims)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-ttl", "0s"}, "-ttl 0s: want a duration above 0"},
		{[]string{"-aud", " , "}, "-aud: no audience"},
		{[]string{"-sub", ""}, `-sub "": empty`},
		{[]string{"-issuer-addr", "0.0.0.0:5001"}, "loopback only"},
	} {
		r := runCmd(t, nil, append([]string{"token"}, tt.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("token %v: err = %v, want %q", tt.args, r.err, tt.want)
		}
	}
}

func TestServeWiresSettings(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	const user = "auth0|carol"
	env := map[string]string{
		"ISSUER_BASE_URL":   iss.URL(),
		"AUDIENCE":          "task-manager-api",
		"REQUIRE_SCOPES":    "true",
		"DEFAULT_PAGE_SIZE": "1",
		"METRICS":           "true",
		"CORS_ORIGINS":      "https://app.example",
		"RATE_LIMIT":        "0.001", // one request per 1000 s: no refill during the test
		"RATE_LIMIT_BURST":  "2",
	}
	if r := runCmd(t, env, "seed", "-user", user); r.err != nil {
		t.Fatalf("seed: %v", r.err)
	}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]

	noScope, _ := iss.Token(devissuer.TokenRequest{Subject: user, Scope: "openid email"})
	a := get(t, base+"/tasks", noScope)
	if a.status != http.StatusForbidden || a.body["code"] != "insufficient_scope" {
		t.Errorf("REQUIRE_SCOPES=true, token without read:tasks: %d %v, want 403 insufficient_scope", a.status, a.body)
	}
	reader, _ := iss.Token(devissuer.TokenRequest{Subject: user, Scope: "read:tasks"})
	a = get(t, base+"/tasks", reader)
	if a.status != http.StatusOK || len(taskNames(t, a.body)) != 1 || a.body["next_page_token"] == nil {
		t.Errorf("DEFAULT_PAGE_SIZE=1: %d %v, want one task and a next page", a.status, a.body)
	}

	limited, _ := iss.Token(devissuer.TokenRequest{Subject: "auth0|dave", Scope: "read:tasks"})
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if a := get(t, base+"/tasks", limited); a.status != want {
			t.Errorf("RATE_LIMIT_BURST=2, request %d: %d %v, want %d", i+1, a.status, a.body, want)
		}
	}

	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "# TYPE") {
		t.Errorf("METRICS=true: GET /metrics %d %.200s", res.StatusCode, body)
	}

	req, _ := http.NewRequest("OPTIONS", base+"/tasks", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Access-Control-Allow-Origin"); res.StatusCode >= 300 || got != "https://app.example" {
		t.Errorf("CORS_ORIGINS: preflight %d, Access-Control-Allow-Origin %q", res.StatusCode, got)
	}
}
