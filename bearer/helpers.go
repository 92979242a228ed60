package bearer

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Authorization helpers. Each returns a wrapper to place after
// Verifier.Authenticate: it answers through the Verifier's ErrorHandler (or
// WriteError), and with 401 "Unauthorized" when the request carries no
// verified claims. Invalid arguments are an error when the helper is built,
// with the TypeError messages of express-oauth2-jwt-bearer 1.10; each
// helper has a Must form that panics instead, for route tables.

// RequiredScopes passes requests whose "scope" claim (a space-separated
// string or an array) holds every one of scopes. Otherwise it answers 403
// insufficient_scope, "Missing 'scope' claim" or "Insufficient Scope", with
// scope="<scopes>" in the challenge. An argument with spaces counts as
// several scopes; none at all is an error.
func RequiredScopes(scopes ...string) (func(http.Handler) http.Handler, error) {
	return listCheck(scopes, true, "Insufficient Scope", "scope")
}

// ScopeIncludesAny is RequiredScopes with any one of scopes sufficing.
func ScopeIncludesAny(scopes ...string) (func(http.Handler) http.Handler, error) {
	return listCheck(scopes, false, "Insufficient Scope", "scope")
}

// RequiredPermissions is RequiredScopes for the "permissions" claim of
// Auth0 RBAC: 403 insufficient_scope, "Missing 'permissions' claim" or
// "Insufficient Permissions".
func RequiredPermissions(permissions ...string) (func(http.Handler) http.Handler, error) {
	return listCheck(permissions, true, "Insufficient Permissions", "permissions")
}

// PermissionsIncludeAny is RequiredPermissions with any one sufficing.
func PermissionsIncludeAny(permissions ...string) (func(http.Handler) http.Handler, error) {
	return listCheck(permissions, false, "Insufficient Permissions", "permissions")
}

// RequiredScopesOrPermissions passes requests where every one of values is
// in the "scope" claim or in the "permissions" claim. Otherwise 403
// insufficient_scope: "Missing 'scope' or 'permissions' claim" when the
// token has neither, else "Insufficient Scope".
func RequiredScopesOrPermissions(values ...string) (func(http.Handler) http.Handler, error) {
	return listCheck(values, true, "Insufficient Scope", "scope", "permissions")
}

// ClaimEquals passes requests whose claim equals want. Otherwise 401
// invalid_token "Missing '<claim>' claim" or "Unexpected '<claim>' value".
func ClaimEquals[T Primitive](claim string, want T) (func(http.Handler) http.Handler, error) {
	if claim == "" {
		return nil, errClaimArg
	}
	w, _ := primitive(want)
	return claimTest(claim, func(got any) bool {
		g, ok := primitive(got)
		return ok && g == w
	}), nil
}

// ClaimIncludes passes requests whose claim (a space-separated string or
// an array) includes every one of values (strings, numbers, bools or nil;
// anything else is an error). Otherwise 401 invalid_token "Missing
// '<claim>' claim" or "Unexpected '<claim>' value".
func ClaimIncludes(claim string, values ...any) (func(http.Handler) http.Handler, error) {
	if claim == "" {
		return nil, errClaimArg
	}
	want := make([]any, len(values))
	for i, v := range values {
		p, ok := primitive(v)
		if !ok {
			return nil, errors.New("bearer: 'expected' must be a string, number, boolean or null")
		}
		want[i] = p
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
	}), nil
}

// ClaimCheck passes requests whose verified claims fn accepts, with the
// request's context: the claimCheck of express-oauth2-jwt-bearer 1.10,
// with a context and an error. fn's error refuses the request: an *Error
// as it is, ErrUnexpectedValue as 401 invalid_token "Invalid Token", any
// other error as 401 invalid_token with its text as the message.
func ClaimCheck(fn func(ctx context.Context, c *Claims) error) (func(http.Handler) http.Handler, error) {
	if fn == nil {
		return nil, errors.New("bearer: 'claimCheck' expects a function")
	}
	return checkCtx(func(ctx context.Context, c *Claims) *Error {
		if err := fn(ctx, c); err != nil {
			return validatorError("Invalid Token", err)
		}
		return nil
	}), nil
}

// Must returns the wrapper a helper built, and panics with its error:
//
//	mux.Handle("GET /tasks", bearer.Must(bearer.RequiredScopes("read:tasks"))(list))
func Must(wrap func(http.Handler) http.Handler, err error) func(http.Handler) http.Handler {
	if err != nil {
		panic(err)
	}
	return wrap
}

var errClaimArg = errors.New("bearer: 'claim' must be a string")

// check builds a helper from a test of the verified claims.
func check(test func(*Claims) *Error) func(http.Handler) http.Handler {
	return checkCtx(func(_ context.Context, c *Claims) *Error { return test(c) })
}

// checkCtx builds a helper from a test of the verified claims.
func checkCtx(test func(context.Context, *Claims) *Error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := FromContext(r.Context())
			var e *Error
			if !ok {
				e = Unauthorized()
			} else {
				e = test(r.Context(), c)
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
func listCheck(args []string, all bool, insufficient string, claims ...string) (func(http.Handler) http.Handler, error) {
	want, err := scopeArgs(args)
	if err != nil {
		return nil, err
	}
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
	}), nil
}

// claimTest passes requests whose claim is present and passes test.
// Otherwise 401 invalid_token "Missing '<claim>' claim" or
// "Unexpected '<claim>' value".
func claimTest(claim string, test func(value any) bool) func(http.Handler) http.Handler {
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

// scopeArgs splits the arguments as token scopes are (splitScopes); none
// left is an error.
func scopeArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		out = append(out, splitScopes(a)...)
	}
	if len(out) == 0 {
		return nil, errors.New("bearer: 'scopes' must be a string or array of strings")
	}
	return out, nil
}
