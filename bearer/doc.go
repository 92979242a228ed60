// Package bearer validates OAuth 2.0 JWT access tokens (RFC 6750, RFC 9068)
// for net/http servers, the way Auth0's express-oauth2-jwt-bearer 1.10 does
// for Express, in its Bearer and DPoP modes: the same options, the same status codes,
// error codes, messages and WWW-Authenticate challenges, with a
// framework-free core (Verifier.Verify) under the middleware.
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
//
// Signatures are checked by golang-jwt v5 (chosen by measurement: see the
// package benchmarks), told to accept exactly the algorithms this
// configuration allows; static JWK and JWKS keys are read with go-jose v4.
// Discovery and the key set are fetched and cached by the internal keyset
// package.
//
// # Deliberate differences from express-oauth2-jwt-bearer 1.10
//
//   - DPoP is on by default, as in the Node library, so the middleware's
//     challenges end with `, DPoP algs="..."` (see "DPoP" below);
//     DPoPOptions.Disabled gives the plain RFC 6750 form. The
//     authorization helpers' challenges never carry the DPoP part (as in
//     the Node library), and Verifier.Verify, which sees no request, returns
//     errors whose Challenge is the plain form.
//   - ES256K is not accepted (Go's maintained JOSE libraries lack
//     secp256k1), and is left out of the algorithm lists in the messages.
//   - An unusable Authorization header is a 400 with no error attribute in
//     the challenge, as in the Node library, but with a helpful message
//     ("Authorization header must be 'Bearer <token>'") instead of "".
//     Two Authorization fields are a 400 too; a repeated access_token
//     parameter is "More than one method used for authentication"; a token
//     in a JSON body is a 400 with a message saying the body must be
//     form-urlencoded.
//   - The form body is searched only up to MaxBodyBytes (64 KiB) and is
//     always handed to the handler intact; a larger body is not searched.
//     Tokens over MaxTokenBytes (16 KiB) are 401 "Token is too large".
//   - With AuthOptional, only a request without any token passes; an
//     invalid token is still rejected (the Node library lets it through).
//   - When no usable key set or metadata can be had, the answer is 503
//     temporarily_unavailable with Retry-After (the cooldown), not 401: an
//     outage is not a bad token. The messages are the Node library's.
//   - Discovery has the same timeout as the key set (the Node library's discovery
//     can hang). Beyond the Node library: Warm, RefreshAhead, StaleIfError, and a
//     failed fetch is retried after RetryInterval (1 s) rather than on every
//     request.
//   - The discovery-path messages are used in every mode (a malformed token
//     is "Invalid Token or Protected Header formatting", alg none or HS256
//     is `Unsupported algorithm "none" for JWKS-based verification...`),
//     where the Node library's issuer+jwksUri mode shows jose's own strings.
//   - The algorithm is checked before the signature, so a token with a
//     disallowed alg and a bad signature reads "Unexpected 'alg' value"; no
//     cryptography runs for an algorithm that is not accepted. The payload
//     is decoded before the signature is checked, so an undecodable or
//     non-object payload reads "Invalid Token or Protected Header
//     formatting".
//   - Segments are decoded strictly (canonical base64url). A signature
//     segment that does not decode, such as the tutorial's "change a letter
//     at the end" usually gives, reads "signature verification failed"; the
//     Node library's lenient decoder ignores the spare low bits of the last
//     character, so some such edits are accepted there.
//   - A "crit" header is rejected (no JWS extension is understood).
//     Duplicate JSON members: the last one wins, like JSON.parse, and the
//     signature check and the claim checks read the same decoded value.
//   - Validators are synchronous. Those for claims the Node library does not
//     check run after the defaults in name order. An "alg" Validator can
//     only add to the algorithm allow-list, never widen it.
//   - Verified tokens are cached (TokenCacheSize, 10 000 by default). A hit
//     re-checks exp, nbf, the max token age and that the key is still in
//     the key set, but not custom Validators: turn the cache off
//     (TokenCacheSize < 0) when a Validator depends on time or outside state.
//   - New never reads the environment: ConfigFromEnv returns the Node library's
//     environment fallbacks as a Config, and AUDIENCE may list several
//     audiences.
//   - Beyond the Node library: RequiredPermissions, PermissionsIncludeAny and
//     RequiredScopesOrPermissions answer 403 insufficient_scope for Auth0
//     RBAC's "permissions" claim.
//   - The Host header is checked on every request, as in the Node library (400
//     invalid_request "Invalid Host header", without the DPoP challenge),
//     but also with AuthOptional (the Node library lets such a request through).
//
// # DPoP (Config.DPoP, RFC 9449) and the request URL: differences
//
//   - The proof is parsed and verified by go-jose v4 (compact form only,
//     the embedded jwk as key; the access token itself is still checked by
//     golang-jwt). JOSE-level failures read as jose's messages where they
//     map: "Invalid Compact JWS", `"alg" (Algorithm) Header Parameter not
//     allowed`, the two `"jwk" (JSON Web Key) Header Parameter ...`
//     messages, "signature verification failed" (also for a jwk that does
//     not fit the alg), `unexpected "typ" JWT header value`; any other
//     go-jose parse failure reads "Invalid Compact JWS".
//   - The 400s the Node library answers with an empty message and code (the DPoP
//     scheme without a proof, a proof without Authorization, a DPoP-bound
//     token sent without the DPoP scheme) keep a challenge without error
//     attributes but say what is wrong.
//   - A proof "jti" must be a string (`Invalid "jti" claim`); proofs over
//     MaxTokenBytes are "DPoP proof is too large". As in the Node library, "htm"
//     is compared without regard to case and the token is verified before
//     the proof, so a Bearer token with a proof header reads as an invalid
//     token when it is one.
//   - Beyond the Node library: a proof is accepted once. Its key thumbprint and
//     jti are remembered for IATOffset (the "iat" window), and a replay is
//     400 invalid_dpop_proof `DPoP proof "jti" has already been used`. The
//     cache is per Verifier and bounded (ReplayCacheSize, 100 000): past
//     that many proofs in one window, the oldest are forgotten first.
//     Servers behind one load balancer share a DPoPOptions.ReplayStore,
//     asked after the cache for proofs that passed every other check; its
//     replay is the same 400, its failure a 503 temporarily_unavailable
//     with Retry-After, as for an unavailable key set. Optional server
//     nonces (RFC 9449 §9, DPoPOptions.Nonce, NewHMACNonces): a proof
//     without a valid "nonce" is 401 use_dpop_nonce, and DPoP answers
//     carry DPoP-Nonce.
//   - The URL a proof names ("htu") is built from the Host header and the
//     connection (https over TLS), or from the first X-Forwarded-Host and
//     X-Forwarded-Proto values only when the peer address is inside
//     TrustedProxies (the Node library follows Express's "trust proxy"). That
//     first value is trimmed on both sides (the Node library refuses trailing
//     spaces without a comma; Go's server trims them anyway), and an
//     X-Forwarded-Proto other than http or https is 400 "Invalid
//     X-Forwarded-Proto header".
//   - Normalisation of both URLs follows the Node library's (lower-case scheme
//     and host, default port dropped, query and fragment dropped,
//     percent-encodings normalised, dot segments removed, IPv6 literals
//     canonical) except that Unicode host names are not converted to
//     punycode (such an "htu" cannot match) and IPv4 addresses in unusual
//     forms (hex, octal, short) are not rewritten.
//   - The request context carries the verified proof (ProofFromContext).
//     Verify, which sees no request, checks no proof: other frameworks call
//     CheckProof with the request and the claims after it.
//
// # Multiple issuers (Config.Issuers, the Node library's mcd): differences
//
//   - The Go shape: URLs and/or Configs, or Resolve, which returns
//     []IssuerConfig (IssuerURLs turns plain URLs into that) and is told
//     the unverified and normalised "iss" and the *http.Request
//     (IssuerRequest) instead of the Node library's {url, headers}. Verify called
//     outside the middleware passes no request unless the context carries
//     one (WithRequest).
//   - http:// issuers are refused unless AllowInsecureHTTP (the Node library
//     refuses them only when NODE_ENV is "production"), with a message
//     naming that option.
//   - Stricter startup checks: a top-level TokenSigningAlg (the Node library
//     ignores it in this mode), an issuer that cannot be parsed (the Node library
//     keeps it, matching nothing), the same issuer twice after
//     normalisation, an unknown per-issuer algorithm, and a secret beside a
//     JWKSURI or IssuerBaseURL are errors.
//   - Discovery starts from the configured issuer (or its IssuerBaseURL, a
//     field the Node library does not have), not from the token's spelling of
//     it, so each issuer has exactly one key set. The key set is fetched
//     with the discovery document: when the document's issuer does not
//     match, one key set request may already have been made (none is ever
//     made for an issuer that is not allowed).
//   - A Resolve error that is an *Error is answered as is, any other is
//     503 temporarily_unavailable "Unable to resolve the token issuer"
//     (the Node library: 401 with the error's text); a resolved configuration
//     that cannot be built (a bad key or URL) is a 500. The Node library's
//     runtime consistency messages read "Issuer <problem>". An "iss" that
//     is not a string is "Token issuer is not allowed".
//   - Resolved issuers keep their key sets in an LRU of MaxResolved (100);
//     a request still using an evicted issuer may get a 503. In Resolve
//     mode the resolver runs on every request, cache hits included, and the
//     verified-token cache is keyed by issuer and token, so that a token is
//     only served from the cache to requests whose resolver accepts its
//     issuer.
//
// # Certificate-bound tokens (Config.MTLS, RFC 8705): differences
//
//   - The certificate comes from GetCertificate (an *x509.Certificate; the
//     Node library's getCertificate returns PEM or DER), else from
//     CertificateHeader on requests from TrustedProxies (URL-encoded or
//     plain PEM, or base64 DER), else from the TLS connection (the Node library
//     never reads the socket). A header from any other address is ignored.
//   - A certificate source enables mTLS; there is no way to keep it off
//     while a source is set (the Node library's enabled:false with
//     getCertificate).
//   - An unreadable forwarded certificate is a 400 with no error code, as
//     the Node library's "Client certificate is not valid PEM", and also when it
//     is armoured but not X.509, repeated or over 16 KiB.
//   - With AuthOptional, a bound token without the right certificate is
//     still refused (the Node library lets the request through without claims).
//   - CheckCertificate exposes the check to other frameworks; as in the
//     Node library, requests handled by DPoP are not checked again.
package bearer
