package bearer

import (
	"context"
	"net/http"
)

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

// Authenticate returns next behind token authentication: for each request
// it checks the Host header
// (requestOrigin), finds the token (the rules of TokenFromRequest, plus the
// DPoP scheme when DPoP is enabled), verifies it, checks its DPoP binding
// and proof, and calls next with the claims in the request context
// (FromContext; ProofFromContext for a DPoP request), or answers the
// failure through the ErrorHandler. With AuthOptional, a request without
// any token reaches next with no claims; a request with an invalid token or
// an invalid Host header is still rejected.
//
// With DPoP enabled, the *Error handed to the ErrorHandler carries the
// combined Bearer and DPoP challenge of express-oauth2-jwt-bearer 1.10 in
// WWWAuthenticate. With SkipCORSPreflight, a CORS preflight reaches next
// at once, without claims.
func (v *Verifier) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v.skipPreflight && isPreflight(r) {
			next.ServeHTTP(w, r.WithContext(withErrorHandler(r.Context(), v.errorHandler)))
			return
		}
		q, e := v.inspect(r)
		if e != nil {
			v.fail(w, r, q, e)
			return
		}
		ctx := withErrorHandler(r.Context(), v.errorHandler)
		if !q.found {
			if v.authOptional {
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			v.fail(w, r, q, Unauthorized())
			return
		}
		claims, err := v.Verify(v.verifyContext(r), q.token)
		if err != nil {
			v.fail(w, r, q, err)
			return
		}
		if v.dpop != nil {
			if ctx, e = v.withProof(ctx, w, r, q, claims); e != nil {
				v.fail(w, r, q, e)
				return
			}
		}
		if e := v.certificateCheck(r, q, claims); e != nil {
			v.fail(w, r, q, e)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(ctx, claims)))
	})
}
