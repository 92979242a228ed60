package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/devissuer"
)

// fetch GETs u from the API (the exchange held to the OpenAPI document).
func fetch(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	return fetchWith(t, apiContract.Client(t), u)
}

func fetchWith(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestServeApp: serve has the browser application only with
// APP_CLIENT_ID, and its settings expose nothing secret.
func TestServeApp(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api",
		"CLIENT_SECRET": "a-login-secret-that-must-not-leak", "SECRET": ""}

	_, stderr, done, stop := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]
	if res, body := fetch(t, base+"/"); res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"ERR_NF"`) {
		t.Errorf("GET / without APP_CLIENT_ID: %d %s, want the API's 404", res.StatusCode, body)
	}
	if res, _ := fetch(t, base+"/app/config.json"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /app/config.json without APP_CLIENT_ID: %d", res.StatusCode)
	}
	stop()

	env["APP_CLIENT_ID"] = "spa-client-id"
	_, stderr, done, stop = startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	defer stop()
	base = "http://" + stderr.waitFor(t, listeningRE, done)[1]
	res, body := fetch(t, base+"/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<script type="module" src="/app/main.js">`) {
		t.Fatalf("GET /: %d %.80s", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+iss.URL()+";") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	_, body = fetch(t, base+"/app/config.json")
	var cfg map[string]string
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["client_id"] != "spa-client-id" || cfg["issuer"] != iss.URL() || cfg["audience"] != "task-manager-api" || len(cfg) != 4 {
		t.Errorf("config %v", cfg)
	}
	if strings.Contains(body, "must-not-leak") {
		t.Error("the configuration shows CLIENT_SECRET")
	}
	if res, _ := fetch(t, base+"/health"); res.StatusCode != http.StatusOK {
		t.Errorf("GET /health beside the application: %d", res.StatusCode)
	}
}

func TestAppSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"several issuers, no app issuer", map[string]string{"ISSUERS": "https://a.example/ https://b.example/", "APP_CLIENT_ID": "c"}, "APP_ISSUER_BASE_URL"},
		{"plain http off loopback", map[string]string{"ISSUER_BASE_URL": "https://a.example", "APP_ISSUER_BASE_URL": "http://devbox.example", "APP_CLIENT_ID": "c"}, "https"},
		{"not a URL", map[string]string{"ISSUER_BASE_URL": "https://a.example", "APP_ISSUER_BASE_URL": "a.example", "APP_CLIENT_ID": "c"}, "APP_ISSUER_BASE_URL"},
		{"scope without openid", map[string]string{"ISSUER_BASE_URL": "https://a.example", "APP_CLIENT_ID": "c", "APP_SCOPE": "read:tasks"}, "openid"},
	} {
		_, err := loadConfig(mapEnv(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	c, err := loadConfig(mapEnv(map[string]string{"ISSUER_BASE_URL": "https://a.example", "AUDIENCE": "api1,api2", "APP_CLIENT_ID": "c"}))
	if err != nil || c.App.Issuer != "https://a.example" || c.App.Audience != "api1" {
		t.Errorf("defaults: %+v, %v", c.App, err)
	}
}

var devAPIRE = regexp.MustCompile(`development mode\) on (http://\S+)`)

// TestDevServesApp: dev serves the application, signed in by its own
// issuer, which accepts the application's callback only.
func TestDevServesApp(t *testing.T) {
	t.Chdir(t.TempDir())
	issuerAddr := "127.0.0.1:" + freePort(t)
	stdout, _, done, stop := startCmd(t, map[string]string{"PORT": "0"}, "dev", "-issuer-addr", issuerAddr)
	defer stop()
	base := stdout.waitFor(t, devAPIRE, done)[1]
	_, body := fetch(t, base+"/app/config.json")
	var cfg map[string]string
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["client_id"] != devAppClientID || cfg["issuer"] != "http://"+issuerAddr {
		t.Fatalf("dev config %v", cfg)
	}
	authorize := func(clientID, redirect string) int {
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		res, _ := fetchWith(t, http.DefaultClient, "http://"+issuerAddr+devissuer.AuthorizePath+"?"+q.Encode()) // the issuer, not the API
		return res.StatusCode
	}
	for _, tc := range []struct {
		client, redirect string
		want             int
	}{
		{devAppClientID, base + "/app/callback", http.StatusOK},
		{devAppClientID, strings.Replace(base, "localhost", "127.0.0.1", 1) + "/app/callback", http.StatusOK},
		{devAppClientID, "http://localhost:1/app/callback", http.StatusBadRequest},
		{devAppClientID, "http://127.0.0.1:4567/callback", http.StatusBadRequest},
		{devCLIClientID, "http://127.0.0.1:4567/callback", http.StatusOK},
		{"someone-else", base + "/app/callback", http.StatusBadRequest},
	} {
		if got := authorize(tc.client, tc.redirect); got != tc.want {
			t.Errorf("authorize %s → %s: %d, want %d", tc.client, tc.redirect, got, tc.want)
		}
	}
}
