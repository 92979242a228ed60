// Package keyset fetches and caches an OAuth 2.0 / OpenID Connect provider's
// metadata (discovery) and its JSON Web Key Set, and selects the public key
// that verifies a given token.
package keyset

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"time"
)

// Config configures a Set. Zero values mean the defaults.
type Config struct {
	// IssuerBaseURL is the discovery base; a URL whose path contains
	// "/.well-known/" is fetched as is.
	IssuerBaseURL string
	// JWKSURI overrides the discovered jwks_uri; with IssuerBaseURL == ""
	// there is no discovery.
	JWKSURI string
	// Client performs the HTTP fetches. Default: a client like
	// http.DefaultClient; Timeout below is enforced per fetch regardless of
	// the client's own Timeout.
	Client *http.Client
	// Timeout bounds each HTTP fetch, discovery included. Default 5s.
	Timeout time.Duration
	// Cooldown is the time after a successful fetch during which an unknown
	// kid does not trigger a refetch. Default 30s.
	Cooldown time.Duration
	// MaxAge is the age after which metadata and key set are refetched.
	// Default 10m.
	MaxAge time.Duration
	// StaleIfError is how long after MaxAge the last good key set keeps
	// serving while refetches fail. Default 1h; negative turns it off.
	StaleIfError time.Duration
	// RefreshAhead refreshes in the background shortly before MaxAge so
	// requests never wait for a fetch.
	RefreshAhead bool
	// MaxBytes caps a response body; a larger body is an error. Default 1 MiB.
	MaxBytes int64
	// Now is the clock used for cache ages. Default time.Now.
	Now func() time.Time
}

// Metadata is what discovery found (empty when there is no discovery).
type Metadata struct {
	Issuer      string   // "issuer"
	JWKSURI     string   // "jwks_uri" (or Config.JWKSURI)
	SigningAlgs []string // "id_token_signing_alg_values_supported" (nil when absent / no discovery)
}

// Key is one public key of the set. Treat as read-only.
type Key struct {
	KID    string
	Alg    string           // the JWK's "alg", may be ""
	Public crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// Error is a failure to get metadata or a key. Message is the anchor's
// exact text. Unavailable is true when no usable key set or metadata can be
// had at all; an unknown kid or an ambiguous key is not Unavailable.
type Error struct {
	Message     string
	Unavailable bool
	Err         error // cause, for logs
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Set is a cached, concurrency-safe view of a provider's metadata and keys.
type Set struct {
	cfg Config
}

var errNotImplemented = errors.New("keyset: not implemented yet")

// New validates cfg (absolute http/https URLs) and returns a Set. It does
// not touch the network.
func New(cfg Config) (*Set, error) { return &Set{cfg: cfg}, nil }

// Metadata returns the provider metadata, fetching it when needed.
func (s *Set) Metadata(ctx context.Context) (*Metadata, error) {
	return nil, &Error{Message: "Failed to fetch authorization server metadata", Unavailable: true, Err: errNotImplemented}
}

// Key returns the single key that applies to a token with the given kid
// (may be "") and alg.
func (s *Set) Key(ctx context.Context, kid, alg string) (*Key, error) {
	return nil, &Error{Message: "no applicable key found in the JSON Web Key Set", Unavailable: true, Err: errNotImplemented}
}

// Contains reports whether k is still in the current key set.
func (s *Set) Contains(k *Key) bool { return false }

// Warm fetches metadata and keys now.
func (s *Set) Warm(ctx context.Context) error { return errNotImplemented }

// Close stops background refresh goroutines.
func (s *Set) Close() error { return nil }
