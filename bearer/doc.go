// Package bearer validates OAuth 2.0 JWT access tokens (RFC 6750, RFC 9068)
// for net/http servers, the way Auth0's express-oauth2-jwt-bearer 1.10 does
// for Express, in its Bearer and DPoP modes: the same options, the same
// status codes, error codes, messages and WWW-Authenticate challenges, with
// a framework-free core (Verifier.Verify) under the middleware.
//
// The package knows nothing of the application that uses it.
//
// # Use
//
//	v, err := bearer.New(bearer.Config{
//		IssuerBaseURL: "https://tenant.auth0.com/",
//		Audience:      []string{"task-manager-api"},
//	})
//	...
//	mux.Handle("GET /tasks", v.Middleware(bearer.RequiredScopes("read:tasks")(tasksHandler)))
//
// The handler reads the verified token with FromContext. Verify does the
// same work for any other framework: it takes the bare token and returns
// *Claims or an *Error carrying the status, code, message and challenge.
// Failures are answered by Config.ErrorHandler, WriteError by default.
// DPoP (Config.DPoP), certificate-bound tokens (Config.MTLS) and several
// issuers (Config.Issuers) are configured on the same Config.
//
// A token is taken apart by this package (compact.go): the protected header
// is decoded and checked, the signature is verified over the raw
// "header.payload" bytes with golang-jwt v5's SigningMethod.Verify, and
// only then is the payload decoded, as jose (beneath the Node library)
// does. All eleven asymmetric algorithms of the Node library are accepted,
// ES256K (secp256k1, RFC 8812) included: golang-jwt has no method for it,
// so SigningMethodES256K is one over github.com/decred/dcrd/dcrec/secp256k1/v4,
// and secp256k1 JWKs, which go-jose refuses, are read by this package;
// other JWKs are read with go-jose v4. Discovery and the key set are
// fetched and cached by the internal keyset package.
//
// # More
//
// README.md beside this file documents the Config fields next to the
// options of express-oauth2-jwt-bearer 1.10. DIFFERENCES.md lists every
// place where this package deliberately differs from the Node library
// (DPoP replay protection, a 503 on an identity-provider outage, stricter
// token decoding, the certificate sources of mTLS, and more).
package bearer
