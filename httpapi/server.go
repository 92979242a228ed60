// Package httpapi is the HTTP layer of the Task Manager API: the routes,
// request decoding and validation into domain types, conditional requests
// (ETag, If-Match, If-None-Match), cursor pagination, the mapping of domain
// errors to statuses and the one JSON error shape, and the middleware that
// every request goes through (request id, access log, panic recovery, body
// limits).
//
// Authentication is not done here: Config.Authenticate is the bearer
// middleware, which puts the verified *bearer.Claims in the request context.
// Every route but GET /health and GET /openapi.json is behind it, and every
// query the handlers make is scoped by the token's sub.
package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/taskapi/taskapi"
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
	// the error itself. Required.
	Authenticate func(http.Handler) http.Handler
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
}

// server holds the dependencies of the handlers.
type server struct {
	store         taskapi.Store
	authenticate  func(http.Handler) http.Handler
	requireScopes bool
	defaultLimit  int
	maxLimit      int
	log           *slog.Logger
	now           func() time.Time
	maxBody       int64
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
		requireScopes: cfg.RequireScopes,
		defaultLimit:  cfg.DefaultPageSize,
		maxLimit:      cfg.MaxPageSize,
		log:           cfg.Logger,
		now:           cfg.Now,
		maxBody:       cfg.MaxBodyBytes,
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
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s.routes(), nil
}
