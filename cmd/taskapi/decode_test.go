package main

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi/devissuer"
)

func TestDecode(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	mint := func(req devissuer.TokenRequest) string {
		if req.Subject == "" {
			req.Subject = "auth0|alice"
		}
		tok, err := iss.Token(req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api"}
	good := mint(devissuer.TokenRequest{Scope: "read:tasks"})
	tampered := good[:len(good)-10] + strings.Repeat("A", 6) + good[len(good)-4:]

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		stdin   string
		wantErr error
		want    []string
		notWant []string
	}{
		{name: "accepted", env: env, args: []string{good}, want: []string{
			"Header (unverified):", `"alg": "RS256"`, "Claims (unverified):", `"sub": "auth0|alice"`, "exp: ",
			"ACCEPTED", `user id (sub): "auth0|alice"`, "scopes: read:tasks", "scopes are not enforced"}},
		{name: "Bearer prefix accepted", env: env, args: []string{"Bearer " + good}, want: []string{"ACCEPTED"}},
		{name: "scopes enforced", env: map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "REQUIRE_SCOPES": "true"}, args: []string{good},
			want: []string{"read:tasks    GET routes             allowed", "write:tasks   POST/PUT/PATCH routes  403 insufficient_scope"}},
		{name: "other audience", env: map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "other-api"}, args: []string{good}, wantErr: errRejected,
			want: []string{`REJECTED: the service would answer 401 invalid_token: Unexpected 'aud' value`, `the token's aud is ["task-manager-api",`, `AUDIENCE is ["other-api"]`}},
		{name: "expired", env: env, args: []string{mint(devissuer.TokenRequest{TTL: -time.Hour})}, wantErr: errRejected,
			want: []string{`"exp" claim timestamp check failed`, "the token has expired", "ago)"}},
		{name: "tampered", env: env, args: []string{tampered}, wantErr: errRejected, want: []string{"signature verification failed", "altered"}},
		{name: "from stdin", env: env, args: []string{"-"}, stdin: good + "\n", want: []string{"ACCEPTED"}},
		{name: "unverified", env: nil, args: []string{"-unverified", good}, want: []string{"Verification: not done (-unverified)"}, notWant: []string{"ACCEPTED"}},
		{name: "no configuration", env: nil, args: []string{good}, want: []string{"Verification: not done, the configuration is incomplete", "ISSUER_BASE_URL is not set"}},
		{name: "Cognito profile", env: map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "app-client", "AUDIENCE_CLAIM": "client_id"},
			args: []string{mint(devissuer.TokenRequest{Extra: map[string]any{"client_id": "other-client"}})}, wantErr: errRejected,
			want: []string{`AUDIENCE_CLAIM="client_id"`, `invalid_token: Unexpected 'client_id' value`, `the token's client_id is "other-client"`}},
		{name: "scp profile", env: map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "SCOPE_CLAIMS": "scope,scp"},
			args: []string{mint(devissuer.TokenRequest{Extra: map[string]any{"scp": []string{"write:tasks"}}, Scope: "read:tasks"})},
			want: []string{"scopes: read:tasks write:tasks (from scope, scp)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmdStdin(t, tt.env, tt.stdin, append([]string{"decode"}, tt.args...)...)
			if !errors.Is(r.err, tt.wantErr) && !(tt.wantErr == nil && r.err == nil) {
				t.Fatalf("err = %v, want %v\n%s", r.err, tt.wantErr, r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("output has %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Chdir(t.TempDir())
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name, token, want string
	}{
		{"opaque", "ya29.opaque", "2 dot-separated parts"},
		{"no dots", "8f14e45fceea167a5a36dedd4bea2543", "opaque access token"},
		{"encrypted", "a.b.c.d.e", "encrypted token (JWE)"},
		{"bad base64", "!!.e30.sig", "the header is not base64url"},
		{"header not an object", b64([]byte(`[1]`)) + ".e30.sig", "the header is not a JSON object"},
		{"claims not JSON", b64([]byte(`{}`)) + "." + b64([]byte("nope")) + ".sig", "the claims is not a JSON object"},
		{"too large", strings.Repeat("a", 20000) + ".e30.sig", "over"},
		{"empty", " ", "no token given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, nil, "decode", tt.token)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", r.err, tt.want)
			}
		})
	}
	if r := runCmd(t, nil, "decode"); !errors.Is(r.err, errUsage) {
		t.Errorf("no argument: %v", r.err)
	}
}
