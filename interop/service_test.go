package interop

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
)

// TestClientCredentialsAccepted gets tokens from the provider's token
// endpoint and uses them on the service, scopes enforced.
func TestClientCredentialsAccepted(t *testing.T) {
	p := sharedProvider(t)
	svc := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{}, true)

	// Without a resource parameter the provider's default resource is the
	// API (like an Auth0 "audience"); with it, RFC 8707.
	for name, extra := range map[string]url.Values{
		"default audience": {"scope": {"read:tasks write:tasks"}},
		"resource":         {"scope": {"read:tasks write:tasks"}, "resource": {apiResource}},
	} {
		t.Run(name, func(t *testing.T) {
			tok := p.clientCredentials(t, m2mClient, m2mSecret, extra)
			created := svc.do(t, http.MethodPost, "/tasks", tok, `{"name":"From a real provider","due_date":"2099-01-01"}`)
			if created.Status != http.StatusCreated {
				t.Fatalf("POST /tasks: %d %s", created.Status, created.Raw)
			}
			list := svc.do(t, http.MethodGet, "/tasks", tok, "")
			if list.Status != http.StatusOK || !strings.Contains(list.Raw, "From a real provider") {
				t.Fatalf("GET /tasks: %d %s", list.Status, list.Raw)
			}
			me := svc.do(t, http.MethodGet, "/me", tok, "")
			if me.Status != http.StatusOK || me.Body["sub"] != m2mClient {
				t.Errorf("GET /me: %d %s, want sub %q", me.Status, me.Raw, m2mClient)
			}
			// delete:tasks was not asked for.
			id := taskID(t, created)
			del := svc.do(t, http.MethodDelete, "/tasks/"+id, tok, "")
			if del.Status != http.StatusForbidden || del.Body["code"] != "insufficient_scope" || !strings.Contains(del.Challenge, `scope="delete:tasks"`) {
				t.Errorf("DELETE without delete:tasks: %d %q %s", del.Status, del.Challenge, del.Raw)
			}
		})
	}
}

func taskID(t *testing.T, r response) string {
	t.Helper()
	if data, ok := r.Body["task"].(map[string]any); ok {
		if id, ok := data["id"].(string); ok {
			return id
		}
	}
	t.Fatalf("no task id in %s", r.Raw)
	return ""
}

// TestRefused: tokens the provider issued, but not for this API or not to
// an accepted client, and tokens of another provider, are refused with the
// messages of express-oauth2-jwt-bearer 1.10.
func TestRefused(t *testing.T) {
	p := sharedProvider(t)
	// Another provider: other issuer, other key.
	other := devissuer.NewTestServer(t)
	svc := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{}, false)
	// A service that accepts only taskapi-m2m among the provider's clients.
	onlyM2M := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{ClientIDs: []string{m2mClient}}, false)

	good := p.clientCredentials(t, m2mClient, m2mSecret, nil)
	otherAudience := p.clientCredentials(t, m2mClient, m2mSecret, url.Values{"resource": {otherResource}})
	otherClientTok := p.clientCredentials(t, otherClient, otherSecret, nil)
	otherProvider, err := other.Token(devissuer.TokenRequest{Subject: m2mClient, Scope: "read:tasks"})
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.LastIndexByte(good, '.') + 1
	tampered := good[:sig] + flip(good[sig:sig+8]) + good[sig+8:]

	tests := []struct {
		name    string
		svc     *service
		token   string
		status  int
		message string
	}{
		{"accepted", svc, good, http.StatusOK, ""},
		{"another audience", svc, otherAudience, http.StatusUnauthorized, "Unexpected 'aud' value"},
		{"another provider", svc, otherProvider, http.StatusUnauthorized, "no applicable key found in the JSON Web Key Set"},
		{"tampered", svc, tampered, http.StatusUnauthorized, "signature verification failed"},
		{"another client, any client accepted", svc, otherClientTok, http.StatusOK, ""},
		{"another client, only taskapi-m2m accepted", onlyM2M, otherClientTok, http.StatusUnauthorized, "Unexpected 'client_id' value"},
		{"the accepted client", onlyM2M, good, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.svc.do(t, http.MethodGet, "/tasks", tt.token, "")
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
			}
			if tt.message == "" {
				return
			}
			if r.Body["error"] != tt.message || r.Body["code"] != "invalid_token" {
				t.Errorf("body %s, want error %q code invalid_token", r.Raw, tt.message)
			}
			if !strings.Contains(r.Challenge, `error="invalid_token"`) || !strings.Contains(r.Challenge, strings.ReplaceAll(tt.message, `"`, `'`)) {
				t.Errorf("WWW-Authenticate %q does not name the error", r.Challenge)
			}
		})
	}
}

// flip changes the base64url characters of s.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// TestKeyRotation rotates the provider's signing key while the service
// runs: the provider restarts on the same address with a new key (a new
// kid), and its new tokens are accepted by the same service, which fetches
// the key set again on the unknown kid once the cooldown has passed.
func TestKeyRotation(t *testing.T) {
	p := startProvider(t, 0)
	// A cooldown far below the provider's restart time, so the refetch on
	// the unknown kid is allowed when the new token arrives.
	svc := startService(t, p.Issuer, bearer.Config{Cooldown: time.Millisecond}, bearer.Profile{}, false)

	before := p.clientCredentials(t, m2mClient, m2mSecret, nil)
	if r := svc.do(t, http.MethodGet, "/tasks", before, ""); r.Status != http.StatusOK {
		t.Fatalf("before rotation: %d %s", r.Status, r.Raw)
	}
	oldKID := kidOf(t, before)

	p.stop()
	rotated := startProvider(t, p.Port)
	if rotated.Issuer != p.Issuer {
		t.Fatalf("restarted provider has issuer %s, want %s", rotated.Issuer, p.Issuer)
	}
	after := rotated.clientCredentials(t, m2mClient, m2mSecret, nil)
	if kidOf(t, after) == oldKID {
		t.Fatalf("the restarted provider signs with the same kid %s", oldKID)
	}
	if r := svc.do(t, http.MethodGet, "/tasks", after, ""); r.Status != http.StatusOK {
		t.Fatalf("after rotation, token of the new key: %d %s", r.Status, r.Raw)
	}
	// The retired key is gone from the key set the service now holds.
	if r := svc.do(t, http.MethodGet, "/tasks", before, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("after rotation, token of the retired key: %d %s, want 401", r.Status, r.Raw)
	}
}
