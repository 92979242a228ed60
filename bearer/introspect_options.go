package bearer

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// IntrospectionMode chooses which tokens are verified by OAuth 2.0 Token
// Introspection (RFC 7662) rather than as JWTs.
type IntrospectionMode int

const (
	// JWTOnly verifies every token as a JWT; introspection is off (the
	// default).
	JWTOnly IntrospectionMode = iota
	// JWTAndIntrospection verifies a token shaped like a JWT (three or
	// five dot-separated segments) as a JWT and introspects any other
	// (an opaque, reference token).
	JWTAndIntrospection
	// IntrospectionOnly introspects every token, JWTs included.
	IntrospectionOnly
)

// Client authentication methods at the introspection endpoint (RFC 6749
// §2.3.1).
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
)

// Defaults of the IntrospectionOptions fields that are left zero.
const (
	DefaultIntrospectionCacheMaxAge = time.Minute
	DefaultInactiveCacheMaxAge      = 5 * time.Second
	DefaultMaxIntrospectionBytes    = 64 << 10
)

// Messages of introspection failures.
const (
	msgInactive        = "Token is not active"
	msgNotAccessToken  = "Token is not an access token"
	msgIntrospectFails = "Unable to introspect the token"
)

// IntrospectionOptions configures Token Introspection (RFC 7662) for
// tokens that are not JWTs. It needs a single issuer (not Issuers). An
// introspected token goes through the same checks as a JWT ("iss", "aud",
// "exp", "nbf", "iat", the Validators; the header checks "alg" and "typ"
// do not apply) and its response reaches the handler as Claims.Payload.
type IntrospectionOptions struct {
	// Mode chooses which tokens are introspected (JWTOnly: none).
	Mode IntrospectionMode
	// Endpoint is the introspection endpoint; "" means the
	// "introspection_endpoint" of the discovery metadata (IssuerBaseURL).
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server at the
	// endpoint. The secret never appears in errors, logs or Stats.
	ClientID     string
	ClientSecret string
	// AuthMethod is ClientSecretBasic (the default) or ClientSecretPost.
	AuthMethod string
	// CacheMaxAge bounds how long an active answer is reused
	// (DefaultIntrospectionCacheMaxAge); never beyond the token's "exp".
	// A revoked token is accepted until then.
	CacheMaxAge time.Duration
	// InactiveCacheMaxAge is how long an inactive answer is reused
	// (DefaultInactiveCacheMaxAge).
	InactiveCacheMaxAge time.Duration
	// CacheSize bounds the number of cached answers (0:
	// DefaultTokenCacheSize). Config.NoTokenCache turns the cache off.
	CacheSize int
	// MaxResponseBytes bounds an introspection response
	// (DefaultMaxIntrospectionBytes).
	MaxResponseBytes int64
}

// String describes o without its ClientSecret, so that printing a Config
// does not leak it.
func (o IntrospectionOptions) String() string {
	secret := ""
	if o.ClientSecret != "" {
		secret = "[redacted]"
	}
	return fmt.Sprintf("{Mode:%d Endpoint:%s ClientID:%s ClientSecret:%s AuthMethod:%s}", o.Mode, o.Endpoint, o.ClientID, secret, o.AuthMethod)
}

// GoString is String, for %#v.
func (o IntrospectionOptions) GoString() string { return o.String() }

// introspectsAll reports whether every token is introspected with a
// configured endpoint, so that no key source is needed.
func (c *Config) introspectsAll() bool {
	return c.Introspection.Mode == IntrospectionOnly && c.Introspection.Endpoint != ""
}

// checkIntrospection validates c.Introspection.
func (c *Config) checkIntrospection() error {
	o := &c.Introspection
	if o.Mode == JWTOnly {
		return nil
	}
	if msg := firstBroken(
		rule{o.Mode != JWTAndIntrospection && o.Mode != IntrospectionOnly, "Introspection.Mode is unknown"},
		rule{c.Issuers.configured(), "Introspection and Issuers exclude each other"},
		rule{o.ClientID == "" || o.ClientSecret == "", "Introspection needs a ClientID and a ClientSecret"},
		rule{o.AuthMethod != "" && o.AuthMethod != ClientSecretBasic && o.AuthMethod != ClientSecretPost, "Introspection.AuthMethod must be client_secret_basic or client_secret_post"},
		rule{o.Endpoint == "" && c.IssuerBaseURL == "", "Introspection needs an Endpoint or an IssuerBaseURL to discover it"},
		rule{o.CacheMaxAge < 0 || o.InactiveCacheMaxAge < 0 || o.CacheSize < 0 || o.MaxResponseBytes < 0, "Introspection durations and sizes must not be negative"},
	); msg != "" {
		return errors.New(msg)
	}
	if o.Endpoint != "" {
		return checkEndpoint(o.Endpoint, c.allowInsecureHTTP())
	}
	return nil
}

// checkEndpoint accepts an absolute http(s) URL, plain http only on
// loopback unless allowHTTP.
func checkEndpoint(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("introspection endpoint must be an absolute http or https URL")
	}
	if u.Scheme == "http" && !allowHTTP && !keyset.Loopback(u.Hostname()) {
		return errors.New("introspection endpoint uses plain http off loopback: use https, or set AllowInsecureHTTP for development")
	}
	return nil
}
