// Package interop tests taskapi against a real, independently written
// OpenID provider: panva's certified oidc-provider, run by Node.js from
// interop/provider (server.js; install with `npm ci --prefix
// interop/provider`).
//
// The tests start the provider themselves on 127.0.0.1, get tokens over
// HTTP from its token endpoint, drive its login and consent pages like a
// browser, and check what the service (the real bearer middleware and
// httpapi on SQLite, or the built taskapi binary for `taskapi login`)
// makes of them. Without node or the installed provider they skip, loudly;
// with CI set in the environment they fail instead.
//
// The introspection tests verify the provider's opaque access tokens at
// its introspection endpoint (RFC 7662): accepted with either client
// authentication method, refused right after the cache bound once revoked,
// a wrong client secret reported by Warm and Ready, a stopped provider 503.
//
// TestDifferentialExpress compares package bearer with the library it
// follows: express-oauth2-jwt-bearer 1.10 behind Express, run by Node.js
// from interop/nodebearer (server.js; install with `npm ci --prefix
// interop/nodebearer`), both verifying tokens of one identity provider, with
// ES256K tokens and DPoP proofs signed by npm jose as well as by Go.
package interop
