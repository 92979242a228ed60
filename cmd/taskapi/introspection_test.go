package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

func TestIntrospectionVariables(t *testing.T) {
	base := map[string]string{"ISSUER": "https://idp.example/", "AUDIENCE": "api",
		"INTROSPECTION_MODE": "introspection", "INTROSPECTION_ENDPOINT": "https://idp.example/introspect",
		"INTROSPECTION_CLIENT_ID": "rs", "INTROSPECTION_CLIENT_SECRET": "hush-hush-secret"}
	c, err := loadConfig(mapEnv(base))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Bearer.Introspection
	if o.Mode != bearer.IntrospectionOnly || o.Endpoint != "https://idp.example/introspect" || o.ClientID != "rs" ||
		o.ClientSecret != "hush-hush-secret" || o.AuthMethod != bearer.ClientSecretBasic || o.CacheMaxAge != time.Minute {
		t.Errorf("introspection = %+v", o)
	}
	if err := c.checkAuth(); err != nil {
		t.Errorf("checkAuth with ISSUER and INTROSPECTION_ENDPOINT: %v", err)
	}
	if c, err := loadConfig(mapEnv(nil)); err != nil || c.Bearer.Introspection.Mode != bearer.JWTOnly {
		t.Errorf("default mode %v, %v; want jwt", c.Bearer.Introspection.Mode, err)
	}
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"INTROSPECTION_MODE": "opaque"}, `INTROSPECTION_MODE="opaque": want jwt, both or introspection`},
		{map[string]string{"INTROSPECTION_MODE": "jwt"}, "INTROSPECTION_MODE is jwt"},
		{map[string]string{"INTROSPECTION_CLIENT_SECRET": ""}, "INTROSPECTION_CLIENT_SECRET is not set"},
		{map[string]string{"INTROSPECTION_CLIENT_ID": ""}, "INTROSPECTION_CLIENT_ID is not set"},
		{map[string]string{"INTROSPECTION_ENDPOINT": ""}, "INTROSPECTION_ENDPOINT is not set"},
		{map[string]string{"INTROSPECTION_AUTH_METHOD": "private_key_jwt"}, "want client_secret_basic or client_secret_post"},
		{map[string]string{"INTROSPECTION_CACHE_MAX_AGE": "2h"}, "INTROSPECTION_CACHE_MAX_AGE"},
		{map[string]string{"INTROSPECTION_CACHE_MAX_AGE": "0s"}, "INTROSPECTION_CACHE_MAX_AGE"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tc.set {
			env[k] = v
		}
		_, err := loadConfig(mapEnv(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.set, err, tc.want)
		} else if strings.Contains(err.Error(), "hush-hush-secret") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

// TestServeIntrospection runs serve against an introspection endpoint: an
// active opaque token reaches the API, an inactive one is 401, refused
// client credentials make /ready 503, and the secret is never logged.
func TestServeIntrospection(t *testing.T) {
	t.Chdir(t.TempDir())
	const secret = "introspection-secret-value"
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, pw, _ := r.BasicAuth()
		if id != "taskapi" || pw != secret {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		r.ParseForm()
		if r.PostForm.Get("token") != "good-opaque-token" {
			w.Write([]byte(`{"active":false}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"active": true, "iss": "https://idp.example/", "aud": "task-manager-api",
			"sub": "auth0|opaque", "scope": "read:tasks", "exp": time.Now().Add(time.Hour).Unix()})
	}))
	defer idp.Close()
	start := func(pw, db string) (string, *syncBuffer) {
		env := map[string]string{"ISSUER": "https://idp.example/", "AUDIENCE": "task-manager-api", "DATABASE_URL": "sqlite:" + db,
			"INTROSPECTION_MODE": "introspection", "INTROSPECTION_ENDPOINT": idp.URL + "/introspect",
			"INTROSPECTION_CLIENT_ID": "taskapi", "INTROSPECTION_CLIENT_SECRET": pw}
		_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
		return "http://" + stderr.waitFor(t, listeningRE, done)[1], stderr
	}
	base, logs := start(secret, "a.db")
	if a := getWith(t, base+"/tasks", "Bearer good-opaque-token", ""); a.status != http.StatusOK {
		t.Errorf("active opaque token: %d %v", a.status, a.body)
	}
	if a := getWith(t, base+"/tasks", "Bearer revoked-opaque-token", ""); a.status != http.StatusUnauthorized || a.body["code"] != "invalid_token" {
		t.Errorf("inactive opaque token: %d %v", a.status, a.body)
	}
	if a := get(t, base+"/ready", ""); a.status != http.StatusOK {
		t.Errorf("/ready: %d %v", a.status, a.body)
	}
	wrong := "wrong-" + secret
	base2, logs2 := start(wrong, "b.db")
	if a := get(t, base2+"/ready", ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("/ready with refused client credentials: %d %v", a.status, a.body)
	}
	if a := getWith(t, base2+"/tasks", "Bearer good-opaque-token", ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("refused client credentials: %d %v", a.status, a.body)
	}
	if !strings.Contains(logs2.String(), "refused the client credentials") {
		t.Errorf("log does not explain the refusal:\n%s", logs2)
	}
	for _, l := range []string{logs.String(), logs2.String()} {
		if strings.Contains(l, secret) {
			t.Errorf("log shows the client secret:\n%s", l)
		}
	}
}
