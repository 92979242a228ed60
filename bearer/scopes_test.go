package bearer

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// Scope strings are split on U+0020 SPACE alone (RFC 6749 §3.3, and
// scope.split(' ') in express-oauth2-jwt-bearer 1.10): any other white
// space is part of a scope, so "read:tasks<NBSP>write:tasks" grants neither
// read:tasks nor write:tasks. Empty parts (repeated, leading or trailing
// spaces) are dropped; they can never match a scope anyway.
func TestScopesSplitOnSpaceOnly(t *testing.T) {
	others := map[string]string{
		"TAB": "\t", "LF": "\n", "VT": "\v", "FF": "\f", "CR": "\r",
		"NBSP": "\u00a0", "NEL": "\u0085", "EM SPACE": "\u2003", "IDEOGRAPHIC SPACE": "\u3000",
	}
	for name, sep := range others {
		joined := "read:tasks" + sep + "write:tasks"
		c := &Claims{Payload: map[string]any{"scope": joined, "permissions": joined}}
		if got := c.Scopes(); !slices.Equal(got, []string{joined}) {
			t.Errorf("%s: Scopes() = %q, want one scope", name, got)
		}
		if got := c.Permissions(); !slices.Equal(got, []string{joined}) {
			t.Errorf("%s: Permissions() = %q, want one permission", name, got)
		}
		if c.HasScope("write:tasks") || c.HasPermission("write:tasks") {
			t.Errorf("%s: HasScope/HasPermission(write:tasks) = true", name)
		}
		p := Profile{ScopeClaims: []string{"scp"}}
		pc := &Claims{Payload: map[string]any{"scp": joined}}
		if got := p.Scopes(pc); !slices.Equal(got, []string{joined}) {
			t.Errorf("%s: Profile.Scopes = %q, want one scope", name, got)
		}
		if got := p.Normalize(pc).Scopes(); !slices.Equal(got, []string{joined}) {
			t.Errorf("%s: Profile.Normalize(...).Scopes() = %q, want one scope", name, got)
		}
		for hname, h := range map[string]wrapper{
			"RequiredScopes":              Must(RequiredScopes("write:tasks")),
			"ScopeIncludesAny":            Must(ScopeIncludesAny("write:tasks")),
			"RequiredPermissions":         Must(RequiredPermissions("write:tasks")),
			"PermissionsIncludeAny":       Must(PermissionsIncludeAny("write:tasks")),
			"RequiredScopesOrPermissions": Must(RequiredScopesOrPermissions("write:tasks")),
		} {
			if code := runHelper(c, h); code != http.StatusForbidden {
				t.Errorf("%s: %s(write:tasks) on %q = %d, want 403", name, hname, joined, code)
			}
		}
		if code := runHelper(pc, p.MapScopes, Must(RequiredScopes("write:tasks"))); code != http.StatusForbidden {
			t.Errorf("%s: Profile scp %q with Must(RequiredScopes(write:tasks)) = %d, want 403", name, joined, code)
		}
	}

	// Repeated, leading and trailing spaces leave no empty scope.
	for _, s := range []string{"read:tasks write:tasks", "read:tasks  write:tasks", " read:tasks write:tasks ", "   read:tasks   write:tasks   "} {
		c := &Claims{Payload: map[string]any{"scope": s, "permissions": s}}
		if got := c.Scopes(); !slices.Equal(got, []string{"read:tasks", "write:tasks"}) {
			t.Errorf("Scopes() of %q = %q", s, got)
		}
		if code := runHelper(c, Must(RequiredScopes("read:tasks write:tasks"))); code != http.StatusOK {
			t.Errorf("RequiredScopes on %q = %d, want 200", s, code)
		}
		if code := runHelper(c, Must(RequiredScopesOrPermissions("read:tasks", "write:tasks"))); code != http.StatusOK {
			t.Errorf("RequiredScopesOrPermissions on %q = %d, want 200", s, code)
		}
	}
	if got := (&Claims{Payload: map[string]any{"scope": "  "}}).Scopes(); len(got) != 0 {
		t.Errorf(`Scopes() of "  " = %q, want none`, got)
	}

	// End to end: a signed token through the middleware.
	v, err := New(staticConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	tok := rs256(t, with(baseClaims(testIssuer), map[string]any{"scope": "read:tasks\u00a0write:tasks"}))
	checkResponse(t, serve(v, bearerReq(tok), Must(RequiredScopes("write:tasks"))), 403, body("Insufficient Scope", CodeInsufficientScope),
		`Bearer realm="api", error="insufficient_scope", error_description="Insufficient Scope", scope="write:tasks"`)

	// The helpers' arguments are split the same way.
	c := &Claims{Payload: map[string]any{"scope": "read:tasks write:tasks"}}
	if code := runHelper(c, Must(RequiredScopes("read:tasks\u00a0write:tasks"))); code != http.StatusForbidden {
		t.Errorf("RequiredScopes(read:tasks<NBSP>write:tasks) = %d, want 403", code)
	}
	if code := runHelper(c, Must(RequiredScopes(" read:tasks  write:tasks "))); code != http.StatusOK {
		t.Errorf("RequiredScopes(' read:tasks  write:tasks ') = %d, want 200", code)
	}
}

// runHelper runs the middlewares on a request carrying c and returns the
// status.
func runHelper(c *Claims, mws ...wrapper) int {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	rec := httptest.NewRecorder()
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	h.ServeHTTP(rec, r.WithContext(NewContext(r.Context(), c)))
	return rec.Code
}
