package bearer

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestProfileFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Profile
		wantErr string
	}{
		{name: "defaults", env: nil, want: Profile{}},
		{name: "all", env: map[string]string{"AUDIENCE_CLAIM": "client_id", "SCOPE_CLAIMS": "scope, scp realm_access.roles", "SCOPE_PREFIX": "api/"},
			want: Profile{AudienceClaim: "client_id", ScopeClaims: []string{"scope", "scp", "realm_access.roles"}, ScopePrefix: "api/"}},
		{name: "clients", env: map[string]string{"ALLOWED_CLIENT_IDS": "a,b"}, want: Profile{ClientIDs: []string{"a", "b"}}},
		{name: "dotted audience claim", env: map[string]string{"AUDIENCE_CLAIM": "a.b"}, wantErr: "AUDIENCE_CLAIM"},
		{name: "quoted scope claim", env: map[string]string{"SCOPE_CLAIMS": `scope,"scp"`}, wantErr: "SCOPE_CLAIMS"},
		{name: "empty path segment", env: map[string]string{"SCOPE_CLAIMS": "realm_access..roles"}, wantErr: "SCOPE_CLAIMS"},
		{name: "prefix with a quote", env: map[string]string{"SCOPE_PREFIX": `a"`}, wantErr: "SCOPE_PREFIX"},
		{name: "client_id twice", env: map[string]string{"AUDIENCE_CLAIM": "client_id", "ALLOWED_CLIENT_IDS": "x"}, wantErr: "ALLOWED_CLIENT_IDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProfileFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.AudienceClaim != tt.want.AudienceClaim || !slices.Equal(p.ScopeClaims, tt.want.ScopeClaims) ||
				p.ScopePrefix != tt.want.ScopePrefix || !slices.Equal(p.ClientIDs, tt.want.ClientIDs) {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestProfileApply(t *testing.T) {
	mine := map[string]Validator{"jti": Equals("x")}
	cfg := Config{Audience: []string{"app-client"}, Validators: mine}
	if err := (Profile{AudienceClaim: "client_id"}).Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 {
		t.Errorf("Apply changed the caller's map: %v", mine)
	}
	if _, ok := cfg.Validators["aud"]; ok || !cfg.SkipAudienceCheck {
		t.Errorf("aud check not skipped by SkipAudienceCheck")
	}
	check := cfg.Validators["client_id"]
	for _, tc := range []struct {
		value any
		want  bool
	}{{"app-client", true}, {[]any{"x", "app-client"}, true}, {"other", false}, {nil, false}, {42.0, false}} {
		if got := check(t.Context(), tc.value, nil) == nil; got != tc.want {
			t.Errorf("client_id %v: %v, want %v", tc.value, got, tc.want)
		}
	}
	if err := (Profile{ClientIDs: []string{"a"}}).Apply(&Config{Validators: map[string]Validator{"client_id": Equals("x")}}); err == nil {
		t.Error("Apply over an existing client_id Validator: no error")
	}
	clients := Config{}
	if err := (Profile{ClientIDs: []string{"cli"}}).Apply(&clients); err != nil {
		t.Fatal(err)
	}
	for claim, want := range map[string]bool{"client_id": true, "azp": true, "appid": true, "cid": true, "sub": false} {
		if got := clients.Validators["client_id"](t.Context(), nil, &Claims{Payload: map[string]any{claim: "cli"}}) == nil; got != want {
			t.Errorf("client in %s: %v, want %v", claim, got, want)
		}
	}
	none := Config{}
	if err := (Profile{}).Apply(&none); err != nil || none.Validators != nil {
		t.Errorf("zero Profile: %v, validators %v", err, none.Validators)
	}
}

func TestProfileScopes(t *testing.T) {
	c := &Claims{Payload: map[string]any{
		"scope":        "openid read:tasks",
		"scp":          []any{"read:tasks", "write:tasks", 7.0},
		"roles":        "api/delete:tasks",
		"realm_access": map[string]any{"roles": []any{"admin"}},
		"a.b":          "literal",
	}}
	tests := []struct {
		p    Profile
		want []string
	}{
		{Profile{}, []string{"openid", "read:tasks"}},
		{Profile{ScopeClaims: []string{"scope", "scp"}}, []string{"openid", "read:tasks", "write:tasks"}},
		{Profile{ScopeClaims: []string{"roles"}, ScopePrefix: "api/"}, []string{"delete:tasks"}},
		{Profile{ScopeClaims: []string{"realm_access.roles", "a.b", "missing", "realm_access.nope", "scope.x"}}, []string{"admin", "literal"}},
	}
	for _, tt := range tests {
		if got := tt.p.Scopes(c); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestProfileMapScopes(t *testing.T) {
	orig := &Claims{Payload: map[string]any{"sub": "u", "scp": "read:tasks"}}
	var seen *Claims
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen, _ = FromContext(r.Context()) })

	// Default profile: next itself, claims untouched.
	(Profile{}).MapScopes(next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(NewContext(t.Context(), orig)))
	if seen != orig {
		t.Error("default profile replaced the claims")
	}

	p := Profile{ScopeClaims: []string{"scope", "scp"}}
	h := p.MapScopes(Must(RequiredScopes("read:tasks"))(next))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(NewContext(t.Context(), orig)))
	if rec.Code != http.StatusOK || seen == orig || seen.String("scope") != "read:tasks" {
		t.Fatalf("status %d, claims %+v", rec.Code, seen)
	}
	if _, ok := orig.Payload["scope"]; ok {
		t.Error("the shared verified claims were modified")
	}

	// No scope anywhere: no scope claim, so the helper says it is missing.
	rec = httptest.NewRecorder()
	bare := &Claims{Payload: map[string]any{"sub": "u", "scope": "x"}}
	(Profile{ScopeClaims: []string{"scp"}}).MapScopes(Must(RequiredScopes("read:tasks"))(next)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(NewContext(t.Context(), bare)))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Missing 'scope' claim") {
		t.Errorf("no scopes: %d %s", rec.Code, rec.Body)
	}

	// No claims (optional authentication): passed through.
	seen = nil
	rec = httptest.NewRecorder()
	p.MapScopes(next).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || seen != nil {
		t.Errorf("no claims: %d %+v", rec.Code, seen)
	}
}
