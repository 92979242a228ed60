// Package bearer validates OAuth 2.0 JWT access tokens (RFC 6750, RFC 9068)
// for net/http servers, the way Auth0's express-oauth2-jwt-bearer does for
// Express: the same options, the same status codes, error codes, messages
// and WWW-Authenticate challenges, with a framework-free core
// (Verifier.Verify) under the middleware.
//
// The package knows nothing of the application that uses it.
package bearer
