package interop

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/bearer"
)

// Recorded provider token shapes. The claims are those each provider
// documents for its access tokens (and, for Google, its ID tokens), with
// made-up identifiers; they are signed here by a local RS256 key served as
// the provider's JWKS, behind a discovery document with the provider's
// issuer string. Nothing in this file talks to a real provider.

const (
	entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	entraAPI    = "5a4f2c1e-3b6d-4e8f-9a0b-1c2d3e4f5a6b" // the API's application (client) id
)

// shapeKey is generated once: RSA generation is slow.
var shapeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeProvider serves a discovery document naming issuer and the JWKS of
// shapeKey, and signs tokens with it.
type fakeProvider struct {
	URL    string
	issuer string
}

func newFakeProvider(t *testing.T, issuer string) *fakeProvider {
	t.Helper()
	fp := &fakeProvider{issuer: issuer}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fp.URL = srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                issuer,
			"jwks_uri":                              srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &shapeKey().PublicKey, KeyID: "shape-key", Algorithm: "RS256", Use: "sig"}}})
	})
	return fp
}

// sign returns claims as an RS256 JWT with header typ, iat and exp set
// around now.
func (fp *fakeProvider) sign(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	c := map[string]any{"iat": now, "exp": now + 3600}
	if _, ok := claims["nbf"]; !ok {
		c["nbf"] = now
	}
	for k, v := range claims {
		c[k] = v
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", "shape-key")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: shapeKey()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// envService starts the service configured, as taskapi serve is, from
// environment variables: ISSUER_BASE_URL points at fp, the rest is env.
func envService(t *testing.T, fp *fakeProvider, env map[string]string) *service {
	t.Helper()
	getenv := func(k string) string {
		if k == "ISSUER_BASE_URL" {
			return fp.URL
		}
		return env[k]
	}
	cfg := bearer.ConfigFromEnv(getenv)
	// fp stands in, on loopback, for a provider whose metadata names its
	// real issuer.
	cfg.DiscoveryIssuer = fp.issuer
	profile, err := bearer.ProfileFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	return startService(t, fp.URL, cfg, profile, env["REQUIRE_SCOPES"] == "true")
}

// shapeCase is one request with a provider-shaped token.
type shapeCase struct {
	name    string
	env     map[string]string // the service's configuration
	claims  map[string]any
	typ     string
	method  string
	status  int
	message string // the "error" of the body, when refused
}

func runShapes(t *testing.T, issuer string, cases []shapeCase) {
	t.Helper()
	fp := newFakeProvider(t, issuer)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REQUIRE_SCOPES": "true"}
			for k, v := range tc.env {
				env[k] = v
			}
			svc := envService(t, fp, env)
			typ := tc.typ
			if typ == "" {
				typ = "JWT"
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			path, body := "/tasks", ""
			if method == http.MethodPost {
				body = `{"name":"shape test"}`
			}
			r := svc.do(t, method, path, fp.sign(t, typ, tc.claims), body)
			if r.Status != tc.status {
				t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, tc.status, r.Raw)
			}
			if tc.message != "" && r.Body["error"] != tc.message {
				t.Errorf("error %q, want %q (%s)", r.Body["error"], tc.message, r.Raw)
			}
		})
	}
}

func TestShapeAuth0(t *testing.T) {
	const iss = "https://taskapi-dev.us.auth0.com/"
	user := map[string]any{
		"iss": iss, "sub": "google-oauth2|104857395736209876543",
		"aud":   []any{"task-manager-api", "https://taskapi-dev.us.auth0.com/userinfo"},
		"azp":   "Xk3bP9sL2mQ7vR1tY8uW4eZ6aC0dF5gH",
		"scope": "openid profile email read:tasks write:tasks",
	}
	rbac := map[string]any{
		"iss": iss, "sub": "auth0|6543f1e2d3c4b5a697887766", "aud": "task-manager-api",
		"azp": "Xk3bP9sL2mQ7vR1tY8uW4eZ6aC0dF5gH", "scope": "openid",
		"permissions": []any{"read:tasks", "write:tasks", "delete:tasks"},
	}
	customDomain := map[string]any{"iss": "https://login.example.com/", "sub": "auth0|1", "aud": "task-manager-api", "scope": "read:tasks"}
	env := map[string]string{"AUDIENCE": "task-manager-api"}
	runShapes(t, iss, []shapeCase{
		{name: "aud array with userinfo", env: env, claims: user, status: http.StatusOK},
		{name: "scope string, POST", env: env, claims: user, method: http.MethodPost, status: http.StatusCreated},
		{name: "RBAC permissions without the scope", env: env, claims: rbac, method: http.MethodPost, status: http.StatusCreated},
		{name: "M2M client credentials (gty)", env: env, claims: map[string]any{"iss": iss, "sub": "Xk3bP9sL2mQ7vR1tY8uW4eZ6aC0dF5gH@clients", "aud": "task-manager-api", "azp": "Xk3bP9sL2mQ7vR1tY8uW4eZ6aC0dF5gH", "gty": "client-credentials", "scope": "read:tasks"}, status: http.StatusOK},
		{name: "token of the custom domain, tenant domain configured", env: env, claims: customDomain, status: http.StatusUnauthorized, message: "Unexpected 'iss' value"},
		{name: "token of the custom domain, ISSUER set to it", env: map[string]string{"AUDIENCE": "task-manager-api", "ISSUER": "https://login.example.com/"}, claims: customDomain, status: http.StatusOK},
	})
}

func TestShapeOkta(t *testing.T) {
	const iss = "https://dev-12345678.okta.com/oauth2/default"
	tok := map[string]any{
		"ver": 1, "jti": "AT.lZ8pI2Kx0wQ", "iss": iss, "aud": "api://task-manager",
		"cid": "0oa9x8y7z6w5v4u3t2s1", "uid": "00u1a2b3c4d5e6f7g8h9",
		"scp": []any{"openid", "read:tasks", "write:tasks"}, "sub": "alice@example.com",
	}
	runShapes(t, iss, []shapeCase{
		{name: "scp array ignored by default", env: map[string]string{"AUDIENCE": "api://task-manager"}, claims: tok, status: http.StatusForbidden, message: "Missing 'scope' or 'permissions' claim"},
		{name: "SCOPE_CLAIMS=scope,scp", env: map[string]string{"AUDIENCE": "api://task-manager", "SCOPE_CLAIMS": "scope,scp"}, claims: tok, method: http.MethodPost, status: http.StatusCreated},
		{name: "ALLOWED_CLIENT_IDS reads cid", env: map[string]string{"AUDIENCE": "api://task-manager", "SCOPE_CLAIMS": "scp", "ALLOWED_CLIENT_IDS": "0oa-other"}, claims: tok, status: http.StatusUnauthorized, message: "Unexpected 'client_id' value"},
	})
}

func TestShapeEntraID(t *testing.T) {
	v1 := map[string]any{
		"aud": "api://task-manager-api", "iss": "https://sts.windows.net/" + entraTenant + "/",
		"appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appidacr": "0", "idp": "https://sts.windows.net/" + entraTenant + "/",
		"oid": "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f", "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
		"scp": "read:tasks write:tasks", "tid": entraTenant, "ver": "1.0",
	}
	v2 := map[string]any{
		"aud": entraAPI, "iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
		"azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "azpacr": "0",
		"oid": "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
		"scp": "read:tasks", "tid": entraTenant, "ver": "2.0",
	}
	app := map[string]any{ // application permission (client credentials): roles, no scp
		"aud": entraAPI, "iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
		"azp": "9b8a7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4", "oid": "11111111-2222-3333-4444-555555555555",
		"sub": "11111111-2222-3333-4444-555555555555", "roles": []any{"read:tasks", "write:tasks", "delete:tasks"},
		"tid": entraTenant, "ver": "2.0",
	}
	scopes := "scope,scp,roles"
	t.Run("v1 issuer", func(t *testing.T) {
		// The v1 discovery document (login.microsoftonline.com/<tenant>)
		// names the sts.windows.net issuer.
		runShapes(t, "https://sts.windows.net/"+entraTenant+"/", []shapeCase{
			{name: "scp string", env: map[string]string{"AUDIENCE": "api://task-manager-api", "SCOPE_CLAIMS": scopes}, claims: v1, method: http.MethodPost, status: http.StatusCreated},
			{name: "v2 token against the v1 issuer", env: map[string]string{"AUDIENCE": entraAPI, "SCOPE_CLAIMS": scopes}, claims: v2, status: http.StatusUnauthorized, message: "Unexpected 'iss' value"},
			{name: "ALLOWED_CLIENT_IDS reads appid", env: map[string]string{"AUDIENCE": "api://task-manager-api", "SCOPE_CLAIMS": scopes, "ALLOWED_CLIENT_IDS": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}, claims: v1, status: http.StatusOK},
		})
	})
	t.Run("v2 issuer", func(t *testing.T) {
		runShapes(t, "https://login.microsoftonline.com/"+entraTenant+"/v2.0", []shapeCase{
			{name: "scp string", env: map[string]string{"AUDIENCE": entraAPI, "SCOPE_CLAIMS": scopes}, claims: v2, status: http.StatusOK},
			{name: "scp without write", env: map[string]string{"AUDIENCE": entraAPI, "SCOPE_CLAIMS": scopes}, claims: v2, method: http.MethodPost, status: http.StatusForbidden, message: "Insufficient Scope"},
			{name: "app roles", env: map[string]string{"AUDIENCE": entraAPI, "SCOPE_CLAIMS": scopes}, claims: app, method: http.MethodPost, status: http.StatusCreated},
			{name: "app roles without SCOPE_CLAIMS", env: map[string]string{"AUDIENCE": entraAPI}, claims: app, status: http.StatusForbidden, message: "Missing 'scope' or 'permissions' claim"},
			{name: "v1 token against the v2 issuer", env: map[string]string{"AUDIENCE": "api://task-manager-api", "SCOPE_CLAIMS": scopes}, claims: v1, status: http.StatusUnauthorized, message: "Unexpected 'iss' value"},
			{name: "v1 token with ISSUER set to the v1 issuer", env: map[string]string{"AUDIENCE": "api://task-manager-api", "SCOPE_CLAIMS": scopes, "ISSUER": "https://sts.windows.net/" + entraTenant + "/"}, claims: v1, status: http.StatusOK},
		})
	})
}

func TestShapeKeycloak(t *testing.T) {
	const iss = "https://keycloak.example.com/realms/taskapi"
	tok := map[string]any{
		"iss": iss, "aud": []any{"task-manager-api", "account"}, "sub": "8d2f9a61-2c4b-4e7a-9f1d-3b5c7e9a1d2f",
		"typ": "Bearer", "azp": "taskapi-cli", "session_state": "a1b2c3", "acr": "1",
		"realm_access":    map[string]any{"roles": []any{"offline_access", "uma_authorization", "delete:tasks"}},
		"resource_access": map[string]any{"account": map[string]any{"roles": []any{"manage-account"}}},
		"scope":           "openid profile email read:tasks write:tasks", "preferred_username": "alice",
	}
	base := map[string]string{"AUDIENCE": "task-manager-api", "SCOPE_CLAIMS": "scope,realm_access.roles"}
	withClient := map[string]string{"AUDIENCE": "task-manager-api", "SCOPE_CLAIMS": "scope,realm_access.roles", "ALLOWED_CLIENT_IDS": "taskapi-cli"}
	otherClient := map[string]any{}
	for k, v := range tok {
		otherClient[k] = v
	}
	otherClient["azp"] = "some-other-app"
	runShapes(t, iss, []shapeCase{
		{name: "aud array with account", env: base, claims: tok, status: http.StatusOK},
		{name: "realm role grants delete", env: base, claims: tok, method: http.MethodPost, status: http.StatusCreated},
		{name: "azp allowed", env: withClient, claims: tok, status: http.StatusOK},
		{name: "azp of another client", env: withClient, claims: otherClient, status: http.StatusUnauthorized, message: "Unexpected 'client_id' value"},
		{name: "default audience mapper only (aud account)", env: base, claims: map[string]any{"iss": iss, "aud": "account", "sub": "x", "azp": "taskapi-cli", "scope": "read:tasks"}, status: http.StatusUnauthorized, message: "Unexpected 'aud' value"},
	})
}

func TestShapeCognito(t *testing.T) {
	const iss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
	const client = "1example23456789abcdefghij"
	access := map[string]any{
		"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": []any{"admin"},
		"iss": iss, "version": 2, "client_id": client, "origin_jti": "f1e2d3c4", "event_id": "e1d2c3b4",
		"token_use": "access", "scope": "task-manager-api/read:tasks task-manager-api/write:tasks",
		"auth_time": time.Now().Unix(), "jti": "a1b2c3d4", "username": "alice",
	}
	id := map[string]any{ // an ID token: aud is the client, no client_id, no scope
		"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "aud": client, "iss": iss, "token_use": "id",
		"auth_time": time.Now().Unix(), "cognito:username": "alice", "email": "alice@example.com",
	}
	cognito := map[string]string{"AUDIENCE": client, "AUDIENCE_CLAIM": "client_id", "SCOPE_PREFIX": "task-manager-api/"}
	runShapes(t, iss, []shapeCase{
		{name: "no aud: refused by default", env: map[string]string{"AUDIENCE": client}, claims: access, status: http.StatusUnauthorized, message: "Unexpected 'aud' value"},
		{name: "AUDIENCE_CLAIM=client_id, SCOPE_PREFIX", env: cognito, claims: access, method: http.MethodPost, status: http.StatusCreated},
		{name: "prefixed scopes without SCOPE_PREFIX", env: map[string]string{"AUDIENCE": client, "AUDIENCE_CLAIM": "client_id"}, claims: access, status: http.StatusForbidden, message: "Insufficient Scope"},
		{name: "another app client", env: map[string]string{"AUDIENCE": "other-client", "AUDIENCE_CLAIM": "client_id"}, claims: access, status: http.StatusUnauthorized, message: "Unexpected 'client_id' value"},
		{name: "ID token presented as access token", env: cognito, claims: id, status: http.StatusUnauthorized, message: "Unexpected 'client_id' value"},
	})
}

func TestShapeGoogle(t *testing.T) {
	// Google issues opaque access tokens for its own APIs; the only JWT
	// it gives a third party is the ID token, whose aud is the OAuth
	// client id and which has no scope.
	const iss = "https://accounts.google.com"
	const client = "1234567890-abc123def456.apps.googleusercontent.com"
	id := map[string]any{
		"iss": iss, "azp": client, "aud": client, "sub": "110169484474386276334",
		"email": "alice@example.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
	}
	legacyIss := map[string]any{}
	for k, v := range id {
		legacyIss[k] = v
	}
	legacyIss["iss"] = "accounts.google.com"
	runShapes(t, iss, []shapeCase{
		{name: "ID token, scopes not required", env: map[string]string{"AUDIENCE": client, "REQUIRE_SCOPES": "false"}, claims: id, status: http.StatusOK},
		{name: "ID token, scopes required", env: map[string]string{"AUDIENCE": client}, claims: id, status: http.StatusForbidden, message: "Missing 'scope' or 'permissions' claim"},
		{name: "ID token with the scheme-less issuer", env: map[string]string{"AUDIENCE": client, "REQUIRE_SCOPES": "false"}, claims: legacyIss, status: http.StatusUnauthorized, message: "Unexpected 'iss' value"},
	})
	t.Run("opaque access token", func(t *testing.T) {
		fp := newFakeProvider(t, iss)
		svc := envService(t, fp, map[string]string{"AUDIENCE": client})
		r := svc.do(t, http.MethodGet, "/tasks", "ya29.a0AfH6SMBx3kQ-opaque-google-access-token", "")
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, "Invalid Token or Protected Header formatting") {
			t.Errorf("opaque token: %d %s", r.Status, r.Raw)
		}
	})
}
