// Package httpapi is the HTTP layer of the Task Manager API: the routes,
// request decoding and validation into domain types, conditional requests
// (ETag, If-Match, If-None-Match), cursor pagination, the mapping of domain
// errors to statuses and the one JSON error shape, and the middleware that
// every request goes through (request id, access log, panic recovery, body
// limits).
//
// Authentication is not done here: Config.Authenticate is the bearer
// middleware, which puts the verified *bearer.Claims in the request context.
// Every route but GET /health, GET /ready, GET /metrics and GET
// /openapi.json is behind it, and every query the handlers make is scoped by
// the token's sub.
//
// Operations: GET /ready checks the store and Config.Ready; with
// Config.Metrics, Prometheus metrics are served at GET /metrics from a
// registry of the server's own. Hostile clients: security headers on every
// response, CORS for Config.CORSOrigins only, a per-subject token bucket
// (Config.RateLimit) and a per-address limit on authentication failures
// (Config.AuthFailureLimit), both off by default; NewHTTPServer sets the
// server timeouts and header limit.

package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
)

// Defaults of the Config fields left zero.
const (
	DefaultPageSize     = 20
	DefaultMaxPageSize  = 100
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures the handler NewServer returns.
type Config struct {
	// Store keeps the tasks and projects. Required.
	Store taskapi.Store
	// Authenticate is the bearer middleware. It puts the verified
	// *bearer.Claims in the request context (bearer.NewContext) or answers
	// the error itself, with WriteAuthError (the verifier's
	// bearer.Config.ErrorHandler) so that the failure is counted by its
	// code. Required.
	Authenticate func(http.Handler) http.Handler
	// UserIssuer names the issuer whose user a verified token's sub is: a
	// user is a subject of one issuer, and every query is scoped by both
	// (taskapi.Store.ForIssuer). Nil: the token's "iss" without trailing
	// slashes (CanonicalIssuer). A deployment with one issuer returns its
	// issuer; one whose issuers share their subjects (one tenant behind
	// several domains) returns the same issuer for all of them.
	UserIssuer func(*bearer.Claims) string
	// RequireScopes enforces read:tasks (GET), write:tasks (POST, PUT,
	// PATCH) and delete:tasks (DELETE) on the task and project routes,
	// from the token's "scope" or "permissions" claim: 403
	// insufficient_scope otherwise.
	RequireScopes bool
	// DefaultPageSize is the page size of a list without ?limit
	// (DefaultPageSize when zero).
	DefaultPageSize int
	// MaxPageSize is the largest ?limit accepted (DefaultMaxPageSize when
	// zero).
	MaxPageSize int
	// Logger receives the access log and internal errors (discarded when
	// nil). Tokens are never logged.
	Logger *slog.Logger
	// Now returns the current time (time.Now when nil); validation of due
	// dates uses it.
	Now func() time.Time
	// MaxBodyBytes bounds a request body (DefaultMaxBodyBytes when zero);
	// a larger one is answered 413.
	MaxBodyBytes int64

	// Ready reports whether the dependencies beside the store are available,
	// typically that the token verifier has signing keys. GET /ready answers
	// 503 while it (or the store's Ping) fails, "Not ready: token signing
	// keys unavailable", or the message of a *taskapi.Error of code
	// EUNAVAILABLE it returns (a draining instance: "Shutting down").
	// Optional.
	Ready func(ctx context.Context) error

	// Metrics turns on the Prometheus metrics of the API, served at GET
	// /metrics (public, as /health: restrict it at the proxy if needed).
	Metrics bool
	// MetricsRegistry receives the metrics when Metrics is set; when nil the
	// server makes a registry of its own (the global default registry is
	// never used, so two servers in one process do not collide). The binary
	// registers its own collectors in it (the database pool through
	// collectors.NewDBStatsCollector, key fetches) to have them served at
	// the same /metrics.
	MetricsRegistry *prometheus.Registry

	// CORSOrigins are the origins browsers may call the API from: exact
	// origins ("https://app.example.com") or "*" alone. Preflight requests
	// from them are answered 204 without a token. Empty: CORS is off.
	CORSOrigins []string

	// RateLimit limits the requests of each subject (the token's sub),
	// counted after authentication: 429 ERR_RATE_LIMIT beyond it. The zero
	// value turns it off.
	RateLimit RateLimit
	// AuthFailureLimit limits the failed authentications (401 and 400 from
	// Authenticate) of each client address: once its bucket is empty, the
	// address is answered 429 before its token reaches the verifier. The
	// zero value turns it off.
	AuthFailureLimit RateLimit
	// TrustedProxies are the proxies whose X-Forwarded-For (and
	// X-Forwarded-Proto) are believed when finding the client's address.
	// Empty: the address is the connection's.
	TrustedProxies []netip.Prefix

	// RequestTimeout bounds the handling of each request of an API route
	// (authentication included): its context ends then, so that a store
	// that stopped answering is answered 503 (the store reports the
	// deadline as EUNAVAILABLE) instead of holding the client. Zero means
	// no bound; GET /health, /ready (which has its own), /metrics and
	// /openapi.json are not bounded by it.
	RequestTimeout time.Duration
}

// RateLimit is a token bucket: Burst requests at once, refilled at Rate per
// second. The zero value is no limit.
type RateLimit struct {
	// Rate is the number of requests per second the bucket refills by.
	Rate float64
	// Burst is the size of the bucket.
	Burst int
}

// enabled reports whether l limits anything.
func (l RateLimit) enabled() bool { return l != RateLimit{} }

// check reports a limit that cannot work.
func (l RateLimit) check(name string) error {
	if l.enabled() && !(l.Rate > 0 && l.Burst >= 1 && l.Rate <= 1e6) {
		return fmt.Errorf("httpapi: %s needs a Rate above 0 (at most 1e6) and a Burst of at least 1", name)
	}
	return nil
}

// server holds the dependencies of the handlers.
type server struct {
	store         taskapi.Store
	authenticate  func(http.Handler) http.Handler
	userIssuer    func(*bearer.Claims) string
	requireScopes bool
	defaultLimit  int
	maxLimit      int
	log           *slog.Logger
	now           func() time.Time
	maxBody       int64
	readyCheck    func(context.Context) error
	metrics       *metrics // nil when off
	cors          *cors    // nil when off
	subjects      *limiter // per-subject requests; nil when off
	failures      *limiter // per-address authentication failures; nil when off
	proxies       []netip.Prefix
	timeout       time.Duration // per API request; 0: none
}

// NewServer returns the API's handler: every route of routes.go behind the
// common middleware. It reports an error for a missing Store or
// Authenticate, or for page sizes that do not fit together.
func NewServer(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: Config.Store is required")
	}
	if cfg.Authenticate == nil {
		return nil, errors.New("httpapi: Config.Authenticate is required (no route ships unprotected)")
	}
	s := &server{
		store:         cfg.Store,
		authenticate:  cfg.Authenticate,
		userIssuer:    cfg.UserIssuer,
		requireScopes: cfg.RequireScopes,
		defaultLimit:  cfg.DefaultPageSize,
		maxLimit:      cfg.MaxPageSize,
		log:           cfg.Logger,
		now:           cfg.Now,
		maxBody:       cfg.MaxBodyBytes,
		readyCheck:    cfg.Ready,
		proxies:       cfg.TrustedProxies,
		timeout:       cfg.RequestTimeout,
	}
	if s.maxLimit == 0 {
		s.maxLimit = DefaultMaxPageSize
	}
	if s.defaultLimit == 0 {
		s.defaultLimit = min(DefaultPageSize, s.maxLimit)
	}
	switch {
	case s.maxLimit < 1:
		return nil, errors.New("httpapi: MaxPageSize must be at least 1")
	case s.defaultLimit < 1 || s.defaultLimit > s.maxLimit:
		return nil, errors.New("httpapi: DefaultPageSize must be between 1 and MaxPageSize")
	case s.maxBody < 0:
		return nil, errors.New("httpapi: MaxBodyBytes must not be negative")
	case s.timeout < 0:
		return nil, errors.New("httpapi: RequestTimeout must not be negative")
	}
	if err := cfg.RateLimit.check("RateLimit"); err != nil {
		return nil, err
	}
	if err := cfg.AuthFailureLimit.check("AuthFailureLimit"); err != nil {
		return nil, err
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.userIssuer == nil {
		s.userIssuer = func(c *bearer.Claims) string { return CanonicalIssuer(c.Issuer()) }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(cfg.CORSOrigins) > 0 {
		c, err := newCORS(cfg.CORSOrigins)
		if err != nil {
			return nil, err
		}
		s.cors = c
	}
	if cfg.RateLimit.enabled() {
		s.subjects = newLimiter(cfg.RateLimit, maxLimiterKeys, s.now)
	}
	if cfg.AuthFailureLimit.enabled() {
		s.failures = newLimiter(cfg.AuthFailureLimit, maxLimiterKeys, s.now)
	}
	if cfg.Metrics {
		reg := cfg.MetricsRegistry
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
		m, err := newMetrics(reg)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	} else if cfg.MetricsRegistry != nil {
		return nil, errors.New("httpapi: MetricsRegistry is set but Metrics is not")
	}
	return s.routes(), nil
}

// CanonicalIssuer is the form of an issuer URL that rows record: without
// trailing slashes, so that "https://tenant.auth0.com" and the tokens'
// "https://tenant.auth0.com/" name one issuer.
func CanonicalIssuer(issuer string) string { return strings.TrimRight(issuer, "/") }
