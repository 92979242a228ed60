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
	want := scopeArgs(scopes)
	return listCheck("scope", want, true, "Insufficient Scope")
}

// ScopeIncludesAny is RequiredScopes with any one of scopes sufficing.
func ScopeIncludesAny(scopes ...string) Middleware {
	want := scopeArgs(scopes)
	return listCheck("scope", want, false, "Insufficient Scope")
}

// RequiredPermissions is RequiredScopes for the "permissions" claim of
// Auth0 RBAC: 403 insufficient_scope, "Missing 'permissions' claim" or
// "Insufficient Permissions".
func RequiredPermissions(permissions ...string) Middleware {
	want := scopeArgs(permissions)
	return listCheck("permissions", want, true, "Insufficient Permissions")
}

// PermissionsIncludeAny is RequiredPermissions with any one sufficing.
func PermissionsIncludeAny(permissions ...string) Middleware {
	want := scopeArgs(permissions)
	return listCheck("permissions", want, false, "Insufficient Permissions")
}

// RequiredScopesOrPermissions passes requests where every one of values is
// in the "scope" claim or in the "permissions" claim. Otherwise 403
// insufficient_scope: "Missing 'scope' or 'permissions' claim" when the
// token has neither, else "Insufficient Scope".
func RequiredScopesOrPermissions(values ...string) Middleware {
	want := scopeArgs(values)
	return check(func(c *Claims) *Error {
		_, hasScope := c.Payload["scope"]
		_, hasPerms := c.Payload["permissions"]
		if !hasScope && !hasPerms {
			return InsufficientScope("Missing 'scope' or 'permissions' claim", want)
		}
		scopes, perms := c.Scopes(), c.Permissions()
		for _, w := range want {
			if !slices.Contains(scopes, w) && !slices.Contains(perms, w) {
				return InsufficientScope("Insufficient Scope", want)
			}
		}
		return nil
	})
}

// ClaimEquals passes requests whose claim equals want (a string, number,
// bool or nil). Otherwise 401 invalid_token "Missing '<claim>' claim" or
// "Unexpected '<claim>' value".
func ClaimEquals(claim string, want any) Middleware {
	claimArg(claim)
	w, ok := primitive(want)
	if !ok {
		panic("bearer: 'expected' must be a string, number, boolean or null")
	}
	return check(func(c *Claims) *Error {
		got, present := c.Payload[claim]
		if !present {
			return InvalidToken("Missing '" + claim + "' claim")
		}
		if g, ok := primitive(got); !ok || g != w {
			return InvalidToken("Unexpected '" + claim + "' value")
		}
		return nil
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
		p, ok := primitive(v)
		if !ok {
			panic("bearer: 'expected' must be a string, number, boolean or null")
		}
		want[i] = p
	}
	return check(func(c *Claims) *Error {
		got, present := c.Payload[claim]
		if !present {
			return InvalidToken("Missing '" + claim + "' claim")
		}
		var have []any
		switch g := got.(type) {
		case string:
			for _, s := range strings.Split(g, " ") {
				have = append(have, s)
			}
		case []any:
			have = g
		default:
			return InvalidToken("Unexpected '" + claim + "' value")
		}
		for _, w := range want {
			if !slices.ContainsFunc(have, func(h any) bool { p, ok := primitive(h); return ok && p == w }) {
				return InvalidToken("Unexpected '" + claim + "' value")
			}
		}
		return nil
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

// listCheck checks a scope-like claim for all (or any) of want.
func listCheck(claim string, want []string, all bool, insufficient string) Middleware {
	missing := "Missing '" + claim + "' claim"
	return check(func(c *Claims) *Error {
		v, present := c.Payload[claim]
		if !present {
			return InsufficientScope(missing, want)
		}
		have := stringList(v, true)
		ok := all
		for _, w := range want {
			if slices.Contains(have, w) != all {
				ok = !all
				break
			}
		}
		if !ok {
			return InsufficientScope(insufficient, want)
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
