// Package bearer authenticates net/http requests with OAuth 2.0 JWT access
// tokens (RFC 6750, RFC 9068), answering exactly as Auth0's
// express-oauth2-jwt-bearer 1.10 does (statuses, error codes, messages,
// WWW-Authenticate challenges), with DPoP (RFC 9449), certificate-bound
// tokens (RFC 8705) and several issuers. It knows nothing of the
// application that uses it.
//
// # A guide in five steps
//
//  1. Configure: New(Config{IssuerBaseURL: "https://tenant.auth0.com/",
//     Audience: []string{"my-api"}}) finds the keys by OpenID Connect
//     discovery (Example_discovery). Issuer with JWKSURI, Secret, PublicKey
//     or a KeySet of your own (Config.Keys) replace discovery; Issuers
//     accepts several issuers. Options that go together are checked
//     together by New.
//  2. Protect: Verifier.Authenticate(next) finds the token (the
//     Authorization header, the access_token query or form field,
//     Config.TokenCookie, Config.TokenExtractor: one at a time), verifies it
//     and puts the claims in the request context. SkipCORSPreflight lets
//     preflights through to a CORS handler.
//  3. Authorize: RequiredScopes, RequiredPermissions, ClaimEquals,
//     ClaimIncludes and ClaimCheck wrap a handler (Must(...) in route
//     tables); Config.Validators check claims with the request's context
//     and an error whose text the client sees (Example_customClaimCheck).
//  4. Read: FromContext gives the *Claims; Claims.Decode or DecodeClaims
//     fill your own struct from the verified payload.
//  5. Operate: Warm before serving, Ready for a readiness probe, Stats for
//     metrics. An identity-provider outage is a 503 with Retry-After, not a
//     401; the key set follows its Cache-Control max-age within bounds and
//     stale keys serve while the provider is down.
//
// Without net/http, Verifier.Verify checks a bare token and returns an
// *Error carrying the status, code, message and challenge; CheckProof and
// CheckCertificate apply the DPoP and mTLS rules to a request.
//
// DPoP is on by default as in the Node library (Example_dPoP): proofs are
// checked against the request URL, which a trusted proxy may give with
// Forwarded (RFC 7239), X-Forwarded-Host/-Proto and X-Forwarded-Prefix;
// a proof is accepted once (an in-process cache, or a ReplayStore shared
// by several servers), and server nonces are optional (NewHMACNonces).
//
// A token is verified before it is parsed: the signature is checked with
// golang-jwt v5 over the raw "header.payload" bytes and only then is the
// payload decoded. README.md compares the package with
// express-oauth2-jwt-bearer 1.10, go-jwt-middleware v3 and go-oidc v3;
// DIFFERENCES.md lists where it deliberately differs from the Node library.
package bearer
