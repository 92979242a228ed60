package bearer

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// Defaults of the Config fields that are left zero.
const (
	DefaultClockTolerance = 5 * time.Second
	DefaultTimeout        = 5 * time.Second
	DefaultCooldown       = 30 * time.Second
	DefaultCacheMaxAge    = 10 * time.Minute
	DefaultStaleIfError   = time.Hour
	DefaultRetryInterval  = time.Second
	DefaultTokenCacheSize = 10000
	DefaultMaxTokenBytes  = 16 << 10
	DefaultMaxBodyBytes   = 64 << 10
	DefaultMaxJWKSBytes   = 1 << 20
)

// Bounds within which a discovery or JWKS response's Cache-Control
// max-age is honoured (no-store and no-cache count as the lower one).
const (
	MinCacheControlMaxAge = keyset.MinHeaderMaxAge
	MaxCacheControlMaxAge = keyset.MaxHeaderMaxAge
)

// Config configures a Verifier. It mirrors the options of
// express-oauth2-jwt-bearer 1.10's auth(); New reports the Node library's
// startup messages for invalid combinations. New never reads the
// environment: use ConfigFromEnv for the Node library's environment
// fallbacks.
type Config struct {
	// Audience lists the accepted audiences; a token's "aud" (a string or
	// an array) must contain at least one of them. Required.
	Audience []string
	// IssuerBaseURL is the authorization server's base URL, used for
	// OpenID Connect discovery and then the RFC 8414 fallback; a URL whose
	// path contains "/.well-known/" is fetched as is. The metadata must
	// announce the issuer it names (or Issuer, or DiscoveryIssuer).
	IssuerBaseURL string
	// Issuer is the exact "iss" value to accept. It overrides the
	// discovered issuer.
	Issuer string
	// JWKSURI is the JSON Web Key Set URL. It overrides the discovered one.
	JWKSURI string
	// DiscoveryIssuer is an issuer the discovery metadata may announce
	// besides the one IssuerBaseURL names and Issuer, e.g.
	// "https://login.microsoftonline.com/{tenantid}/v2.0" for Entra ID's
	// multi-tenant endpoints. Any other announced issuer makes the
	// metadata unusable.
	DiscoveryIssuer string
	// Secret is the shared secret of HS256/HS384/HS512 tokens. It needs
	// TokenSigningAlg and excludes JWKSURI and PublicKey, and must be at
	// least as long as the algorithm's hash (MinSecretBytes).
	Secret string
	// PublicKey is a static verification key: a PEM public key (SPKI or
	// PKCS #1, which needs TokenSigningAlg), a JWK or a JWKS. No network is
	// used. Symmetric ("oct") and private keys are rejected.
	PublicKey []byte
	// TokenSigningAlg pins the accepted "alg".
	TokenSigningAlg string
	// ClockTolerance is the leeway for "exp", "nbf" and "iat" checks; zero
	// means DefaultClockTolerance. It must not be negative.
	ClockTolerance time.Duration
	// NoClockTolerance checks "exp", "nbf" and "iat" with no leeway at
	// all. It excludes a ClockTolerance.
	NoClockTolerance bool
	// MaxTokenAge, when positive, requires a numeric "iat" no older than
	// this (and not in the future beyond the tolerance).
	MaxTokenAge time.Duration
	// Strict enforces the RFC 9068 profile: "typ" at+jwt, numeric "iat",
	// string "sub", "client_id" and "jti".
	Strict bool
	// Validators adds claim checks, by claim name ("alg" and "typ" read
	// the protected header): Equals and Matches for the simple ones, any
	// function of a context and the claims for the others. A Validator
	// named like a default check ("iss", "aud", "exp", "iat", "typ",
	// "sub", "client_id", "jti") replaces it; an "alg" Validator is asked
	// besides the default algorithm check. A nil Validator is refused by
	// New: a default check is skipped only by the Skip fields below.
	Validators map[string]Validator
	// SkipIssuerCheck accepts any "iss" (go-oidc's field of the same
	// name). Only for a key set that one issuer alone signs with.
	SkipIssuerCheck bool
	// SkipAudienceCheck accepts any "aud": a Validator must then check
	// what the token is for (Profile.Apply sets it to check another claim).
	SkipAudienceCheck bool
	// AllowNoExpiry accepts tokens without "exp". An expired token is
	// still refused.
	AllowNoExpiry bool
	// AuthOptional lets requests without any token through with no claims.
	// A request with an invalid token is still rejected.
	AuthOptional bool
	// Timeout bounds each discovery and JWKS request (DefaultTimeout).
	Timeout time.Duration
	// Cooldown is the minimum time between two JWKS fetches caused by an
	// unknown "kid" (DefaultCooldown). It is also the Retry-After of a 503.
	Cooldown time.Duration
	// CacheMaxAge is how long discovery metadata and the key set are used
	// before they are fetched again (DefaultCacheMaxAge), when their
	// response has no Cache-Control max-age; a max-age is honoured within
	// MinCacheControlMaxAge and MaxCacheControlMaxAge.
	CacheMaxAge time.Duration
	// StaleIfError is how long past CacheMaxAge the last good key set keeps
	// being used while the provider cannot be reached (DefaultStaleIfError).
	// It must not be negative.
	StaleIfError time.Duration
	// NoStaleKeys never uses a key set past its age: while the provider
	// cannot be reached, requests are answered 503. It excludes
	// StaleIfError.
	NoStaleKeys bool
	// RetryInterval is the least time between two fetch attempts after a
	// failed one (DefaultRetryInterval): failures are not cached longer.
	RetryInterval time.Duration
	// RefreshAhead refreshes the key set in the background before it
	// expires.
	RefreshAhead bool
	// HTTPClient makes the discovery and JWKS requests
	// (default: a client with no other settings than Timeout).
	HTTPClient *http.Client
	// ErrorHandler answers failures of the middleware and of the
	// authorization helpers (default WriteError).
	ErrorHandler ErrorHandler
	// TokenCacheSize bounds the cache of verified tokens (0:
	// DefaultTokenCacheSize). It must not be negative.
	TokenCacheSize int
	// NoTokenCache verifies every token in full, every time. It excludes
	// TokenCacheSize.
	NoTokenCache bool
	// TokenCookie names a cookie that may carry the token, for browser
	// clients (set it HttpOnly, Secure and SameSite=Strict or Lax: a
	// cookie is sent on cross-site requests otherwise). It is one more
	// place the token may be: a request with a token in two places is
	// refused "More than one method used for authentication".
	TokenCookie string
	// TokenExtractor, when set, is asked for the token of each request
	// besides the other places (a custom header, say): "" and a nil error
	// means none. Its *Error is answered as is, any other error 400
	// invalid_request with the error's text. The "more than one method"
	// rule applies to it too.
	TokenExtractor func(r *http.Request) (token string, err error)
	// SkipCORSPreflight lets a CORS preflight request (OPTIONS with an
	// Origin and an Access-Control-Request-Method header) reach the next
	// handler without a token and without claims, as go-jwt-middleware's
	// WithValidateOnOptions(false) does, so that a CORS handler behind it
	// can answer it. Any other OPTIONS request needs a token.
	SkipCORSPreflight bool
	// Keys supplies the verification keys (a static set, a shared cache,
	// a KMS) instead of IssuerBaseURL, JWKSURI, Secret and PublicKey; it
	// needs Issuer. The algorithm rules still hold: the allow-list and
	// TokenSigningAlg come first, and a key that cannot verify the
	// token's "alg" is refused.
	Keys KeySet
	// MaxTokenBytes bounds the length of a token (DefaultMaxTokenBytes).
	MaxTokenBytes int
	// MaxBodyBytes bounds how much of a form-urlencoded body is read to find
	// an access_token field (DefaultMaxBodyBytes). A larger body is not
	// searched (and reaches the handler intact).
	MaxBodyBytes int64
	// MaxJWKSBytes bounds discovery and JWKS responses (DefaultMaxJWKSBytes).
	MaxJWKSBytes int64
	// Now returns the current time (default time.Now); tests inject clocks.
	Now func() time.Time
	// Issuers accepts tokens from several issuers (the "mcd" option of
	// express-oauth2-jwt-bearer 1.10), instead of IssuerBaseURL, Issuer,
	// JWKSURI, Secret, PublicKey and Keys.
	Issuers IssuersOptions
	// MTLS checks certificate-bound tokens (RFC 8705).
	MTLS MTLSOptions
	// DPoP configures DPoP-bound tokens and proofs (RFC 9449); the zero
	// value is the default of express-oauth2-jwt-bearer 1.10: enabled, not
	// required.
	DPoP DPoPOptions
	// TrustedProxies lists the addresses of the reverse proxies whose
	// Forwarded (RFC 7239; its first element's host and proto), else
	// X-Forwarded-Host and X-Forwarded-Proto, and X-Forwarded-Prefix
	// headers give the URL a DPoP proof must name; from any other peer
	// they are ignored.
	TrustedProxies []netip.Prefix
	// AllowInsecureHTTP accepts plain-http IssuerBaseURL and JWKSURI
	// (configured or discovered) off loopback, and http issuers with
	// Issuers (as IssuersOptions.AllowInsecureHTTP). For development only:
	// without it, http is accepted only on loopback (127.0.0.0/8, ::1,
	// "localhost"), and never for Issuers.
	AllowInsecureHTTP bool
}

// allowInsecureHTTP reports whether either field allowing plain http is
// set.
func (c *Config) allowInsecureHTTP() bool {
	return c.AllowInsecureHTTP || c.Issuers.AllowInsecureHTTP
}

// ConfigFromEnv returns a Config filled from the environment variables of
// express-oauth2-jwt-bearer 1.10: ISSUER_BASE_URL, AUDIENCE (one or more
// audiences separated by commas or spaces), ISSUER, JWKS_URI, SECRET and
// TOKEN_SIGNING_ALG. Set other fields on the result before calling New;
// pass os.Getenv in production.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		IssuerBaseURL:   strings.TrimSpace(getenv("ISSUER_BASE_URL")),
		Audience:        splitList(getenv("AUDIENCE")),
		Issuer:          strings.TrimSpace(getenv("ISSUER")),
		JWKSURI:         strings.TrimSpace(getenv("JWKS_URI")),
		Secret:          getenv("SECRET"),
		TokenSigningAlg: strings.TrimSpace(getenv("TOKEN_SIGNING_ALG")),
	}
}

// splitList splits a comma- or space-separated list, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// Startup messages, those of express-oauth2-jwt-bearer 1.10 where it has
// one.
const (
	msgNeedSource      = "You must provide 'mcd', 'issuerBaseURL', or both 'issuer' and ('jwksUri', 'secret', or 'publicKey')"
	msgNeedAudience    = "An 'audience' is required to validate the 'aud' claim"
	msgSecretAndJWKS   = "You must not provide both a 'secret' and 'jwksUri'"
	msgSecretNeedsAlg  = "You must provide a 'tokenSigningAlg' for validating symmetric algorithms"
	msgAsymmetricAlg   = "You must supply one of " + asymmetricList + " for 'tokenSigningAlg' to validate asymmetrically signed tokens"
	msgSymmetricAlg    = "You must supply one of " + symmetricList + " for 'tokenSigningAlg' to validate symmetrically signed tokens"
	msgPublicKeyBase   = "You must not provide both a 'publicKey' and 'issuerBaseURL'"
	msgPublicKeyJWKS   = "You must not provide both a 'publicKey' and 'jwksUri'"
	msgPublicKeySecret = "You must not provide both a 'publicKey' and 'secret'"
)

// The accepted "alg" values: asymmetric ones with keys, symmetric ones
// with a Secret, in the order and spelling of express-oauth2-jwt-bearer
// 1.10's messages and challenges.
const (
	asymmetricList = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA"
	symmetricList  = "HS256, HS384, HS512"
)

var (
	asymmetricAlgs = strings.Split(asymmetricList, ", ")
	symmetricAlgs  = strings.Split(symmetricList, ", ")
)

// MinSecretBytes returns the least length of a Secret for alg: the size
// of the algorithm's hash, 32 bytes for HS256, 48 for HS384 and 64 for
// HS512, as RFC 7518 §3.2 requires; 32 for any other alg, including "".
func MinSecretBytes(alg string) int {
	switch alg {
	case "HS384":
		return 48
	case "HS512":
		return 64
	}
	return 32
}

// check validates the combination of options, in the order of
// express-oauth2-jwt-bearer 1.10.
func (c *Config) check() error {
	if c.Issuers.configured() {
		if err := c.checkIssuers(); err != nil {
			return err
		}
	} else if c.IssuerBaseURL == "" && (c.Issuer == "" || (c.JWKSURI == "" && c.Secret == "" && len(c.PublicKey) == 0 && c.Keys == nil)) {
		return errors.New(msgNeedSource)
	}
	hasKey, alg := len(c.PublicKey) > 0, c.TokenSigningAlg
	if msg := firstBroken(
		rule{c.Secret != "" && c.JWKSURI != "", msgSecretAndJWKS},
		rule{hasKey && c.IssuerBaseURL != "", msgPublicKeyBase},
		rule{hasKey && c.JWKSURI != "", msgPublicKeyJWKS},
		rule{hasKey && c.Secret != "", msgPublicKeySecret},
		rule{len(c.Audience) == 0 || slices.Contains(c.Audience, ""), msgNeedAudience},
		rule{c.Secret != "" && alg == "", msgSecretNeedsAlg},
		rule{c.Secret == "" && alg != "" && !slices.Contains(asymmetricAlgs, alg), msgAsymmetricAlg},
		rule{c.Secret != "" && !slices.Contains(symmetricAlgs, alg), msgSymmetricAlg},
	); msg != "" {
		return errors.New(msg)
	}
	if n := MinSecretBytes(alg); c.Secret != "" && len(c.Secret) < n {
		// The Node library accepts any length.
		return fmt.Errorf("'secret' is %d bytes: %s needs at least %d (RFC 7518 §3.2)", len(c.Secret), alg, n)
	}
	for _, raw := range []struct{ name, u string }{{"issuerBaseURL", c.IssuerBaseURL}, {"jwksUri", c.JWKSURI}} {
		if raw.u == "" {
			continue
		}
		u, err := url.Parse(raw.u)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errors.New("'" + raw.name + "' must be an absolute http or https URL")
		}
		if u.Scheme == "http" && !c.allowInsecureHTTP() && !keyset.Loopback(u.Hostname()) {
			return errors.New("'" + raw.name + "' uses plain http off loopback: use https, or set AllowInsecureHTTP for development")
		}
	}
	if _, err := c.discoveryIssuers(); err != nil {
		return err
	}
	if msg := firstBroken(
		rule{c.MaxTokenAge < 0, "'maxTokenAge' must not be negative"},
		rule{c.ClockTolerance < 0, "ClockTolerance must not be negative: set NoClockTolerance for none"},
		rule{c.NoClockTolerance && c.ClockTolerance != 0, "NoClockTolerance and ClockTolerance exclude each other"},
		rule{c.TokenCacheSize < 0, "TokenCacheSize must not be negative: set NoTokenCache for none"},
		rule{c.NoTokenCache && c.TokenCacheSize != 0, "NoTokenCache and TokenCacheSize exclude each other"},
		rule{c.StaleIfError < 0, "StaleIfError must not be negative: set NoStaleKeys for none"},
		rule{c.NoStaleKeys && c.StaleIfError != 0, "NoStaleKeys and StaleIfError exclude each other"},
		rule{c.SkipAudienceCheck && c.Validators["aud"] != nil, "SkipAudienceCheck and Validators[\"aud\"] exclude each other"},
		rule{c.SkipIssuerCheck && c.Validators["iss"] != nil, "SkipIssuerCheck and Validators[\"iss\"] exclude each other"},
		rule{c.AllowNoExpiry && c.Validators["exp"] != nil, "AllowNoExpiry and Validators[\"exp\"] exclude each other"},
		rule{c.TokenCookie != "" && !validCookieName(c.TokenCookie), "TokenCookie must be a cookie name (RFC 6265 token characters)"},
	); msg != "" {
		return errors.New(msg)
	}
	for name, fn := range c.Validators {
		if fn == nil {
			return fmt.Errorf("Validators[%q] is nil: to skip a default check, use SkipIssuerCheck, SkipAudienceCheck or AllowNoExpiry", name)
		}
	}
	if err := c.checkKeys(); err != nil {
		return err
	}
	return c.MTLS.check()
}

// rule is one check of a configuration: when broken, msg is the error.
type rule struct {
	broken bool
	msg    string
}

// firstBroken returns the message of the first broken rule, or "".
func firstBroken(rules ...rule) string {
	for _, r := range rules {
		if r.broken {
			return r.msg
		}
	}
	return ""
}
