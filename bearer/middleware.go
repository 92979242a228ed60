package bearer

import (
	"context"
	"net/http"
)

// Middleware wraps an http.Handler.
type Middleware = func(http.Handler) http.Handler

type handlerKey struct{}

// withErrorHandler returns ctx carrying h, for the authorization helpers.
func withErrorHandler(ctx context.Context, h ErrorHandler) context.Context {
	return context.WithValue(ctx, handlerKey{}, h)
}

// errorHandlerFrom returns the ErrorHandler the Verifier's middleware put
// in ctx, or WriteError.
func errorHandlerFrom(ctx context.Context) ErrorHandler {
	if h, ok := ctx.Value(handlerKey{}).(ErrorHandler); ok && h != nil {
		return h
	}
	return WriteError
}

// Middleware authenticates each request: it finds the token
// (TokenFromRequest), verifies it, and calls next with the claims in the
// request context (FromContext), or answers the failure through the
// ErrorHandler. With AuthOptional, a request without any token reaches next
// with no claims; a request with an invalid token is still rejected.
//
// Every answer's challenge is built in one place, Error.Challenge, so that
// another scheme (DPoP) can add its own challenge there later.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found, e := TokenFromRequest(r, v.maxBodyBytes)
		if e != nil {
			v.errorHandler(w, r, e)
			return
		}
		ctx := withErrorHandler(r.Context(), v.errorHandler)
		if !found {
			if v.authOptional {
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			v.errorHandler(w, r, Unauthorized())
			return
		}
		claims, err := v.Verify(r.Context(), token)
		if err != nil {
			v.errorHandler(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(ctx, claims)))
	})
}
