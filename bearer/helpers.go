package bearer

import (
	"net/http"
	"slices"
	"strings"
)

// Authorization helpers. Each is a middleware to place after
// Verifier.Middleware; it answers through the Verifier's ErrorHandler (or
// WriteError), and with 401 "Unauthorized" when the request carries no
// verified claims. Invalid arguments panic when the helper is built, with
// the TypeError messages of express-oauth2-jwt-bearer 1.10.

// RequiredScopes passes requests whose "scope" claim (a space-separated
// string or an array) holds every one of scopes. Otherwise it answers 403
// insufficient_scope, "Missing 'scope' claim" or "Insufficient Scope", with
// scope="<scopes>" in the challenge. An argument with spaces counts as
// several scopes.
func RequiredScopes(scopes ...string) Middleware {
	return listCheck(scopes, true, "Insufficient Scope", "scope")
}

// ScopeIncludesAny is RequiredScopes with any one of scopes sufficing.
func ScopeIncludesAny(scopes ...string) Middleware {
	return listCheck(scopes, false, "Insufficient Scope", "scope")
}

// RequiredPermissions is RequiredScopes for the "permissions" claim of
// Auth0 RBAC: 403 insufficient_scope, "Missing 'permissions' claim" or
// "Insufficient Permissions".
func RequiredPermissions(permissions ...string) Middleware {
	return listCheck(permissions, true, "Insufficient Permissions", "permissions")
}

// PermissionsIncludeAny is RequiredPermissions with any one sufficing.
func PermissionsIncludeAny(permissions ...string) Middleware {
	return listCheck(permissions, false, "Insufficient Permissions", "permissions")
}

// RequiredScopesOrPermissions passes requests where every one of values is
// in the "scope" claim or in the "permissions" claim. Otherwise 403
// insufficient_scope: "Missing 'scope' or 'permissions' claim" when the
// token has neither, else "Insufficient Scope".
func RequiredScopesOrPermissions(values ...string) Middleware {
	return listCheck(values, true, "Insufficient Scope", "scope", "permissions")
}

// ClaimEquals passes requests whose claim equals want (a string, number,
// bool or nil). Otherwise 401 invalid_token "Missing '<claim>' claim" or
// "Unexpected '<claim>' value".
func ClaimEquals(claim string, want any) Middleware {
	claimArg(claim)
	w := mustPrimitive(want)
	return claimTest(claim, func(got any) bool {
		g, ok := primitive(got)
		return ok && g == w
	})
}

// ClaimIncludes passes requests whose claim (a space-separated string or an
// array) includes every one of values (strings, numbers, bools or nil).
// Otherwise 401 invalid_token "Missing '<claim>' claim" or
// "Unexpected '<claim>' value".
func ClaimIncludes(claim string, values ...any) Middleware {
	claimArg(claim)
	want := make([]any, len(values))
	for i, v := range values {
		want[i] = mustPrimitive(v)
	}
	return claimTest(claim, func(got any) bool {
		var have []any
		switch g := got.(type) {
		case string:
			for s := range strings.SplitSeq(g, " ") {
				have = append(have, s)
			}
		case []any:
			have = g
		default:
			return false
		}
		for _, w := range want {
			if !slices.ContainsFunc(have, func(h any) bool { p, ok := primitive(h); return ok && p == w }) {
				return false
			}
		}
		return true
	})
}

// ClaimCheck passes requests for which fn returns true. Otherwise 401
// invalid_token with msg ("Invalid Token" when msg is empty).
func ClaimCheck(fn func(payload map[string]any) bool, msg string) Middleware {
	if fn == nil {
		panic("bearer: 'claimCheck' expects a function")
	}
	if msg == "" {
		msg = "Invalid Token"
	}
	return check(func(c *Claims) *Error {
		if !fn(c.Payload) {
			return InvalidToken(msg)
		}
		return nil
	})
}

// check builds a helper from a test of the verified claims.
func check(test func(*Claims) *Error) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := FromContext(r.Context())
			var e *Error
			if !ok {
				e = Unauthorized()
			} else {
				e = test(c)
			}
			if e != nil {
				errorHandlerFrom(r.Context())(w, r, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// listCheck checks scope-like claims for all (or any) of the arguments
// (split as scopeArgs does), looking in every one of claims.
func listCheck(args []string, all bool, insufficient string, claims ...string) Middleware {
	want := scopeArgs(args)
	missing := "Missing '" + strings.Join(claims, "' or '") + "' claim"
	return check(func(c *Claims) *Error {
		var have []string
		present := false
		for _, name := range claims {
			v, ok := c.Payload[name]
			present = present || ok
			have = append(have, stringList(v, true)...)
		}
		if !present {
			return InsufficientScope(missing, want)
		}
		n := 0
		for _, w := range want {
			if slices.Contains(have, w) {
				n++
			}
		}
		if n == 0 || (all && n < len(want)) {
			return InsufficientScope(insufficient, want)
		}
		return nil
	})
}

// claimTest passes requests whose claim is present and passes test.
// Otherwise 401 invalid_token "Missing '<claim>' claim" or
// "Unexpected '<claim>' value".
func claimTest(claim string, test func(value any) bool) Middleware {
	return check(func(c *Claims) *Error {
		got, present := c.Payload[claim]
		if !present {
			return InvalidToken("Missing '" + claim + "' claim")
		}
		if !test(got) {
			return InvalidToken("Unexpected '" + claim + "' value")
		}
		return nil
	})
}

// scopeArgs splits the arguments as token scopes are (splitScopes) and
// panics when none is left.
func scopeArgs(args []string) []string {
	var out []string
	for _, a := range args {
		out = append(out, splitScopes(a)...)
	}
	if len(out) == 0 {
		panic("bearer: 'scopes' must be a string or array of strings")
	}
	return out
}

func claimArg(claim string) {
	if claim == "" {
		panic("bearer: 'claim' must be a string")
	}
}
