package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
)

// Limits of the HTTP server.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout bounds the drain of open requests on SIGINT/SIGTERM.
	shutdownTimeout = 10 * time.Second
	// warmTimeout bounds the first fetch of the provider's keys at start.
	warmTimeout = 10 * time.Second
)

const serveVariables = `  ISSUER_BASE_URL    the token issuer (Auth0 domain as a URL); required
  AUDIENCE           the API identifier, e.g. task-manager-api; required
  ISSUER, JWKS_URI, SECRET, TOKEN_SIGNING_ALG
                     optional overrides of the verification
  AUDIENCE_CLAIM     the claim holding the audience (aud; client_id for Cognito)
  SCOPE_CLAIMS       claims holding scopes, e.g. scope,scp (scope)
  SCOPE_PREFIX       removed from scopes, e.g. task-manager-api/ (Cognito)
  ALLOWED_CLIENT_IDS accept tokens of these clients only (any)
  PORT               listening port (5000)
  DATABASE_URL       sqlite:PATH or postgres://… (default taskapi.db in the working directory)
  LOG_LEVEL          debug, info, warn or error (info)
  DEFAULT_PAGE_SIZE  page size of a list without ?limit (20)
  MAX_PAGE_SIZE      largest ?limit (100)
  REQUIRE_SCOPES     enforce read:tasks, write:tasks, delete:tasks (false)
  METRICS            serve Prometheus metrics at GET /metrics (false)
  CORS_ORIGINS       browser origins allowed, comma-separated, or * (none)
  RATE_LIMIT         requests per second per subject, RATE_LIMIT_BURST the
                     bucket size (0: off)
  AUTH_FAILURE_LIMIT failed authentications per second per client address,
                     AUTH_FAILURE_LIMIT_BURST the bucket size (0: off)
  TRUSTED_PROXIES    proxies (IPs or CIDRs) whose X-Forwarded-For is believed
  SHUTDOWN_DELAY     on SIGTERM, how long GET /ready answers 503 before the
                     server stops accepting connections (0s)
`

func runServe(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "serve", "serve [-addr HOST:PORT]", serveVariables)
	addr := fs.String("addr", "", "listen address (default \":$PORT\", every interface)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env.getenv)
	if err != nil {
		return err
	}
	if err := cfg.checkAuth(); err != nil {
		return err
	}
	if *addr == "" {
		*addr = ":" + strconv.Itoa(cfg.Port)
	}
	log := newLogger(env.stderr, cfg.LogLevel)

	// Refresh the key set in the background before it expires, so that no
	// request waits for a fetch.
	cfg.Bearer.RefreshAhead = true
	verifier, err := bearer.New(cfg.Bearer)
	if err != nil {
		return fmt.Errorf("token verification: %w", err)
	}
	defer verifier.Close()

	store, err := openStore(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer store.Close()
	warm(ctx, log, verifier)

	var drain drainState
	api, err := newAPI(cfg, store, verifier, log, drain.ready)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", l.Addr().String(), "database", cfg.Database.String(),
		"issuer_base_url", cfg.Bearer.IssuerBaseURL, "audience", cfg.Bearer.Audience, "require_scopes", cfg.RequireScopes,
		"metrics", cfg.Metrics, "cors_origins", cfg.CORSOrigins, "rate_limit", cfg.RateLimit.Rate, "auth_failure_limit", cfg.AuthFailureLimit.Rate)
	return serveHTTP(ctx, log, l, api, &drain, cfg.ShutdownDelay)
}

// newLogger returns the JSON logger of the service.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// warm fetches the provider's discovery document and keys once, so that a
// misconfiguration shows at start. A failure is logged, not fatal: the
// verifier retries on the first request, and the provider may be back by
// then.
func warm(ctx context.Context, log *slog.Logger, v *bearer.Verifier) {
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	if err := v.Warm(ctx); err != nil {
		log.Warn("could not fetch the token issuer's keys; requests will retry", "err", err)
	}
}

// newAPI builds the API handler on store, protected by v; ready is the
// readiness check of GET /ready beside the store's.
func newAPI(cfg config, store taskapi.Store, v *bearer.Verifier, log *slog.Logger, ready func(context.Context) error) (http.Handler, error) {
	return httpapi.NewServer(httpapi.Config{
		Ready:            ready,
		Store:            store,
		Authenticate:     func(next http.Handler) http.Handler { return v.Middleware(cfg.Profile.Middleware(next)) },
		RequireScopes:    cfg.RequireScopes,
		DefaultPageSize:  cfg.DefaultPageSize,
		MaxPageSize:      cfg.MaxPageSize,
		Logger:           log,
		Metrics:          cfg.Metrics,
		CORSOrigins:      cfg.CORSOrigins,
		RateLimit:        cfg.RateLimit,
		AuthFailureLimit: cfg.AuthFailureLimit,
		TrustedProxies:   cfg.TrustedProxies,
	})
}

// drainState tells GET /ready that the instance is shutting down, so that
// a load balancer stops sending it new requests.
type drainState struct{ draining atomic.Bool }

// ready is the httpapi readiness check: 503 "Shutting down" once draining.
func (d *drainState) ready(context.Context) error {
	if d.draining.Load() {
		return taskapi.Errorf(taskapi.EUNAVAILABLE, "Shutting down")
	}
	return nil
}

// timeAfter is time.After; tests replace it to end the shutdown delay.
var timeAfter = time.After

// serveHTTP serves h on l until ctx ends. Then it marks drain (GET /ready
// answers 503), keeps serving for delay so that load balancers notice,
// and shuts down, draining open requests for at most shutdownTimeout.
func serveHTTP(ctx context.Context, log *slog.Logger, l net.Listener, h http.Handler, drain *drainState, delay time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drain.draining.Store(true)
	if delay > 0 {
		log.Info("draining: GET /ready answers 503 before shutdown", "delay", delay.String())
		select {
		case <-timeAfter(delay):
		case err := <-errc:
			return err
		}
	}
	log.Info("shutting down", "drain_timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("drain timed out; closing open connections")
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}
