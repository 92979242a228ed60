// Package keyset fetches and caches an OAuth 2.0 / OpenID Connect provider's
// metadata (discovery) and its JSON Web Key Set, and selects the public key
// that verifies a given token.
//
// It behaves like jose's createRemoteJWKSet under
// express-oauth2-jwt-bearer 1.10.0: one shared fetch for all concurrent
// callers, a cache of MaxAge, one refetch per Cooldown on an unknown kid,
// failures not cached, only 200 + JSON accepted, jose's key selection and
// messages. The current state is an immutable snapshot behind an atomic
// pointer: on a warm cache Key and Contains take no lock and allocate
// nothing.
//
// Where it goes beyond the Node library or differs from it (a Timeout
// that covers discovery, RetryInterval, RefreshAhead, StaleIfError,
// Error.Unavailable, the keys it skips, RFC 8414's discovery URL), the doc
// of the field or function concerned says so.
package keyset

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
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
	// Client performs the HTTP fetches (proxies, TLS). Default: a client
	// with http.DefaultTransport. Timeout below is enforced per fetch
	// whatever the client's own Timeout.
	Client *http.Client
	// Timeout bounds each HTTP fetch, discovery included. Default 5s.
	Timeout time.Duration
	// Cooldown is the time after a successful fetch during which an unknown
	// kid does not trigger a refetch. Default 30s.
	Cooldown time.Duration
	// MaxAge is the age after which metadata and key set are refetched.
	// Default 10m.
	MaxAge time.Duration
	// StaleIfError is how long after MaxAge the last good metadata and key
	// set keep serving while refetches fail. Default 1h; negative: off.
	StaleIfError time.Duration
	// RefreshAhead refreshes in the background once 80% of MaxAge has
	// passed, so requests do not wait for a fetch.
	RefreshAhead bool
	// MaxBytes caps a response body; a larger body is an error.
	// Default 1 MiB.
	MaxBytes int64
	// Now is the clock used for cache ages. Default time.Now.
	Now func() time.Time

	// RetryInterval is the least time between two fetch attempts after a
	// failed one: within it, callers that need a fetch get the last error
	// (or the stale set) at once, which protects a struggling provider.
	// Default 1s (Envoy's failed_refetch_duration).
	RetryInterval time.Duration

	// Counters, when set, receives the fetch counts of this Set (see
	// Stats); several Sets may share one. Default: a Counters of its own.
	Counters *Counters

	// CheckIssuer, when set, is asked about the "issuer" of every
	// discovery document: a document it returns an error for is not used,
	// like one that could not be fetched (the next candidate URL is
	// tried). The Node library makes no such check in single-issuer mode.
	CheckIssuer func(issuer string) error

	// AllowInsecureHTTP accepts plain-http URLs (configured or discovered)
	// off loopback; without it, http is accepted only for "localhost",
	// 127.0.0.0/8 and ::1. The Node library accepts any http URL.
	AllowInsecureHTTP bool
}

// Defaults for the zero values of Config.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultCooldown      = 30 * time.Second
	DefaultMaxAge        = 10 * time.Minute
	DefaultStaleIfError  = time.Hour
	DefaultMaxBytes      = 1 << 20
	DefaultRetryInterval = time.Second
)

// Metadata is what discovery found (empty when there is no discovery).
// Treat as read-only.
type Metadata struct {
	Issuer      string        // "issuer"
	JWKSURI     string        // "jwks_uri" (or Config.JWKSURI)
	SigningAlgs []string      // "id_token_signing_alg_values_supported" (nil when absent / no discovery)
	ttl         time.Duration // how long it may be used (Set.maxAge)
}

// Key is one public key of the set. Treat as read-only.
type Key struct {
	KID    string
	Alg    string           // the JWK's "alg", may be ""
	Public crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or *secp256k1.PublicKey

	kind keyKind
}

// Error is a failure to get metadata or a key. Message is the exact text of
// express-oauth2-jwt-bearer 1.10 where it has one (the msg constants of
// jwks.go); where the Node library surfaces a raw error, it is one of this
// package: a network error, a body over MaxBytes, or "request canceled"
// when the caller's context ended while waiting for a fetch.
//
// Unavailable is true when no usable key set or metadata can be had at all
// (network, HTTP status, garbage response, timeout, cancellation, and no
// good cached copy within StaleIfError): an outage, not a bad token. An
// unknown kid, an ambiguous key or an unsupported alg is not Unavailable.
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

// ErrClosed is the cause of the error returned when a fetch is needed after
// Close.
var ErrClosed = errors.New("keyset: closed")

// Set is a cached, concurrency-safe view of a provider's metadata and key
// set. Create it with New and stop it with Close.
type Set struct {
	cfg       Config
	client    *http.Client
	discovery []string // metadata URLs to try; nil: no discovery
	counters  *Counters

	state atomic.Pointer[snapshot]

	mu       sync.Mutex // guards inflight and closed; held to publish a snapshot
	inflight *flight
	closed   bool

	base  context.Context // cancelled by Close: aborts fetches
	stop  context.CancelFunc
	wg    sync.WaitGroup // flights and the refresh-ahead loop
	close sync.Once
}

// New validates cfg and returns a Set. It does not touch the network: the
// first Key, Metadata or Warm call fetches.
func New(cfg Config) (*Set, error) {
	if cfg.IssuerBaseURL == "" && cfg.JWKSURI == "" {
		return nil, errors.New("keyset: an issuer base URL or a JWKS URI is required")
	}
	var discovery []string
	if cfg.IssuerBaseURL != "" {
		if err := checkURL(cfg.IssuerBaseURL, cfg.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("keyset: issuer base URL: %w", err)
		}
		u, _ := url.Parse(cfg.IssuerBaseURL)
		discovery = discoveryURLs(u)
	}
	if cfg.JWKSURI != "" {
		if err := checkURL(cfg.JWKSURI, cfg.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("keyset: JWKS URI: %w", err)
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &cfg.Timeout, DefaultTimeout},
		{"Cooldown", &cfg.Cooldown, DefaultCooldown},
		{"MaxAge", &cfg.MaxAge, DefaultMaxAge},
		{"RetryInterval", &cfg.RetryInterval, DefaultRetryInterval},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("keyset: %s must not be negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.StaleIfError == 0 {
		cfg.StaleIfError = DefaultStaleIfError
	}
	if cfg.MaxBytes < 0 {
		return nil, errors.New("keyset: MaxBytes must not be negative")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Set{cfg: cfg, client: cfg.Client, discovery: discovery, counters: cfg.Counters}
	if s.counters == nil {
		s.counters = new(Counters)
	}
	if s.client == nil {
		s.client = &http.Client{Transport: http.DefaultTransport}
	}
	initial := &snapshot{}
	if discovery == nil {
		initial.meta = &Metadata{JWKSURI: cfg.JWKSURI}
	}
	s.state.Store(initial)
	s.base, s.stop = context.WithCancel(context.Background())
	if cfg.RefreshAhead {
		s.wg.Add(1)
		go s.refreshLoop()
	}
	return s, nil
}

// Metadata returns the provider metadata, fetching it when it is missing
// or older than MaxAge. Without discovery it is {JWKSURI: Config.JWKSURI}.
func (s *Set) Metadata(ctx context.Context) (*Metadata, error) {
	snap, err := s.current(ctx, needMeta)
	if err != nil {
		return nil, err
	}
	return snap.meta, nil
}

// Key returns the single key that verifies a token with the given kid
// ("" when the token has none) and alg, fetching the key set when it is
// missing or older than MaxAge. When no key applies and the set was
// fetched at least Cooldown ago, the set is refetched once (shared by all
// concurrent callers) and searched again.
func (s *Set) Key(ctx context.Context, kid, alg string) (*Key, error) {
	kind := kindForAlg(alg)
	if kind == kindNone {
		return nil, &Error{Message: msgUnsupportedAlg}
	}
	snap, err := s.current(ctx, needKeys)
	if err != nil {
		return nil, err
	}
	k, err := selectKey(snap.keys, kid, alg, kind)
	if err != errNoKey {
		return k, err
	}
	// An unknown key: refetch, at most once per Cooldown after a success
	// and once per RetryInterval after a failure.
	now := s.cfg.Now()
	if now.Sub(snap.keysAt) < s.cfg.Cooldown {
		return nil, &Error{Message: msgNoKey}
	}
	if !snap.failAt.IsZero() && now.Sub(snap.failAt) < s.cfg.RetryInterval {
		return nil, snap.failErr // the provider is failing right now
	}
	next, werr := s.refreshCounting(ctx, snap.version, &s.counters.unknownKID)
	if werr != nil {
		return nil, werr
	}
	if !next.failAt.IsZero() {
		return nil, next.failErr
	}
	k, err = selectKey(next.keys, kid, alg, kind)
	if err == errNoKey {
		return nil, &Error{Message: msgNoKey}
	}
	return k, err
}

// Contains reports whether k is in the current key set and that set may
// still be served (younger than MaxAge + StaleIfError). A key unchanged by
// a refetch keeps its pointer, so Contains stays true for it; a key
// removed from the set makes it false. It takes no lock.
func (s *Set) Contains(k *Key) bool {
	if k == nil {
		return false
	}
	snap := s.state.Load()
	if _, ok := snap.member[k]; !ok {
		return false
	}
	// A key is in the set only while the set may still be served (fresh,
	// or within StaleIfError): a token cached under it must not outlive the
	// bound that holds for every other token.
	return s.cfg.Now().Sub(snap.keysAt) < s.servable(snap, needKeys)
}

// servable is how long a fetched part may be served: MaxAge, and then
// StaleIfError unless it is negative.
func (s *Set) servable(snap *snapshot, n need) time.Duration {
	return s.ttl(snap, n) + max(s.cfg.StaleIfError, 0)
}

// Warm fetches metadata and keys now unless they are fresh, and reports
// whether that succeeded. Use it at start so the first request does not
// wait; it is optional.
func (s *Set) Warm(ctx context.Context) error {
	snap := s.state.Load()
	if s.fresh(snap, needKeys, s.cfg.Now()) && s.fresh(snap, needMeta, s.cfg.Now()) {
		return nil
	}
	next, err := s.refresh(ctx, snap.version)
	if err != nil {
		return err
	}
	if !next.failAt.IsZero() {
		return next.failErr
	}
	return nil
}

// Close stops the background refresh, aborts fetches in flight and waits
// for their goroutines. Afterwards the Set still serves what it has
// cached, but fetches fail with ErrClosed as the cause. Close is
// idempotent and always returns nil.
func (s *Set) Close() error {
	s.close.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.stop()
		s.wg.Wait()
	})
	return nil
}
