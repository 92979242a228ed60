package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/metrics"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/webapp"
)

const (
	// shutdownTimeout bounds the drain of open requests on SIGINT/SIGTERM.
	shutdownTimeout = 10 * time.Second
	// warmTimeout bounds each fetch of the provider's keys at start.
	warmTimeout = 10 * time.Second
	// warmRetryMax is the longest wait between two attempts to fetch the
	// keys while the provider could not be reached since start.
	warmRetryMax = time.Minute
)

// warmRetryFirst is the first wait before the keys are fetched again when
// the fetch at start failed (doubling up to warmRetryMax); tests shorten it.
var warmRetryFirst = 2 * time.Second

func runServe(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "serve", "serve [-addr HOST:PORT]", "")
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
	log := newLogger(cfg, env.stderr)
	var tlsConfig *tls.Config
	if cfg.TLS.on() {
		certs, err := newCertReloader(cfg.TLS, log)
		if err != nil {
			return err
		}
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		certs.watch(watchCtx)
		tlsConfig = serverTLSConfig(certs)
	}
	api, err := openAPI(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer api.Close()
	if cfg.PprofAddr != "" {
		stopPprof, err := startPprof(log, cfg.PprofAddr)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", l.Addr().String(), "tls", cfg.TLS.on(), "database", cfg.Database.String(),
		"issuer_base_url", cfg.Bearer.IssuerBaseURL, "issuers", cfg.Bearer.Issuers.URLs, "audience", cfg.Bearer.Audience,
		"dpop", dpopMode(cfg.Bearer.DPoP), "dpop_nonces", cfg.Bearer.DPoP.Nonce != nil,
		"mtls_cert_header", cfg.Bearer.MTLS.CertificateHeader, "mtls_required", cfg.Bearer.MTLS.Required,
		"require_scopes", cfg.RequireScopes, "request_timeout", cfg.RequestTimeout.String(),
		"max_tasks_per_user", cfg.Limits.Tasks, "max_projects_per_user", cfg.Limits.Projects,
		"idempotency_key_ttl", cfg.KeyTTL.String(), "max_idempotency_keys_per_user", cfg.Limits.IdempotencyKeys,
		"metrics", cfg.Metrics, "app_client_id", cfg.App.ClientID, "app_issuer", cfg.App.Issuer, "cors_origins", cfg.CORSOrigins, "rate_limit", cfg.RateLimit.Rate, "auth_failure_limit", cfg.AuthFailureLimit.Rate)
	return serveHTTP(ctx, log, l, tlsConfig, api.handler, api.drain, cfg.ShutdownDelay)
}

// dpopMode names the DPoP mode for the log.
func dpopMode(o bearer.DPoPOptions) string {
	switch {
	case o.Disabled:
		return "disabled"
	case o.Required:
		return "required"
	}
	return "allowed"
}

// warm fetches the provider's discovery document and keys once, so that a
// misconfiguration shows at start and the first requests do not wait. A
// failure is logged, not fatal: a goroutine tries again until ctx ends,
// waiting warmRetryFirst and then twice as long each time up to
// warmRetryMax, and stops once the keys are there (a request may have
// fetched them first). Meanwhile GET /ready answers 503.
func warm(ctx context.Context, log *slog.Logger, v *bearer.Verifier) {
	if err := warmOnce(ctx, v); err != nil {
		log.Warn("could not fetch the token issuer's keys; retrying in the background (GET /ready answers 503 meanwhile)", "err", err)
		go rewarm(ctx, log, v)
	}
}

// warmOnce makes one bounded attempt of warm.
func warmOnce(ctx context.Context, v *bearer.Verifier) error {
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	if err := v.Warm(ctx); err != nil && v.Ready() != nil {
		return err
	}
	return nil
}

// rewarm is warm's retry loop.
func rewarm(ctx context.Context, log *slog.Logger, v *bearer.Verifier) {
	for wait := warmRetryFirst; ; {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if v.Ready() == nil {
			return // a request fetched the keys meanwhile
		}
		err := warmOnce(ctx, v)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			log.Info("fetched the token issuer's keys")
			return
		}
		wait = min(2*wait, warmRetryMax)
		log.Warn("could not fetch the token issuer's keys; retrying", "err", err, "retry_in", wait.String())
	}
}

// api is the API of serve and dev: its store and token verifier behind
// its handler.
type api struct {
	store    taskapi.Store
	verifier *bearer.Verifier
	drain    *drainState
	handler  http.Handler
	stopWarm context.CancelFunc // stops the key fetches and the purge of idempotency keys
	// stopPurge stops the purge of old tombstones and waits for it.
	stopPurge func()
}

// openAPI opens the database of cfg and the verifier of cfg.Bearer, starts
// fetching the keys (warm) and builds the handler. With METRICS, the
// registry of /metrics also holds the verifier's counters and the store's
// connection pools.
func openAPI(ctx context.Context, cfg config, log *slog.Logger) (*api, error) {
	store, err := openStore(ctx, cfg.Database, cfg.Limits, cfg.KeyTTL)
	if err != nil {
		return nil, err
	}
	if err := adoptRows(ctx, log, store, cfg); err != nil {
		store.Close()
		return nil, err
	}
	// The key set is refreshed in the background before it expires, so
	// that no request waits for a fetch.
	cfg.Bearer.RefreshAhead = true
	// On PostgreSQL, instances behind one load balancer share the DPoP
	// proofs they accepted, so that a proof is not replayed to another
	// instance; on SQLite (one instance) the in-process cache suffices.
	if pg, ok := store.(*postgres.Store); ok && !cfg.Bearer.DPoP.Disabled {
		cfg.Bearer.DPoP.ReplayStore = pg.DPoPReplays()
	}
	// Authentication failures are answered, logged and counted by the
	// API's own handler.
	cfg.Bearer.ErrorHandler = httpapi.WriteAuthError
	// A CORS preflight carries no token: it goes on to httpapi, whose CORS
	// handler answers it (or refuses it, 405, for an origin not allowed).
	cfg.Bearer.SkipCORSPreflight = true
	v, err := bearer.New(cfg.Bearer)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("token verification: %w", err)
	}
	a := &api{store: store, verifier: v, drain: &drainState{verifier: v}}
	warmCtx, stopWarm := context.WithCancel(ctx)
	a.stopWarm = stopWarm
	warm(warmCtx, log, v)
	go purgeKeys(warmCtx, log, store, purgeInterval)
	a.stopPurge = startTombstonePurge(ctx, log, store, cfg.TombstoneRetention, time.Now)

	var reg *prometheus.Registry
	if cfg.Metrics {
		reg = prometheus.NewRegistry()
		// The Go runtime (go_*) and the process (process_*: CPU, memory,
		// open files), as every Prometheus client exposes them.
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		err = reg.Register(metrics.NewBearerCollector(v.Stats))
		if p, ok := store.(interface{ Stats() map[string]sql.DBStats }); ok && err == nil {
			err = reg.Register(metrics.NewDBPoolsCollector(p.Stats))
		}
	}
	_, userIssuer := cfg.userIssuers()
	if err == nil {
		a.handler, err = httpapi.NewServer(httpapi.Config{
			Ready:            a.drain.ready,
			Store:            store,
			UserIssuer:       userIssuer,
			Authenticate:     func(next http.Handler) http.Handler { return v.Authenticate(cfg.Profile.MapScopes(next)) },
			RequireScopes:    cfg.RequireScopes,
			DefaultPageSize:  cfg.DefaultPageSize,
			MaxPageSize:      cfg.MaxPageSize,
			Logger:           log,
			Metrics:          cfg.Metrics,
			MetricsRegistry:  reg,
			CORSOrigins:      cfg.CORSOrigins,
			RateLimit:        cfg.RateLimit,
			AuthFailureLimit: cfg.AuthFailureLimit,
			TrustedProxies:   cfg.TrustedProxies,
			RequestTimeout:   cfg.RequestTimeout,
		})
	}
	if err == nil && cfg.App.ClientID != "" {
		var app *webapp.App
		if app, err = webapp.New(cfg.App); err == nil {
			a.handler = app.Wrap(a.handler)
		}
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close stops fetching keys and closes the verifier and the store.
func (a *api) Close() {
	a.stopWarm()
	a.stopPurge()
	a.verifier.Close()
	a.store.Close()
}

// drainState is the readiness of the instance beside its store: not ready
// while the verifier has no usable signing keys, nor once shutting down, so
// that a load balancer stops sending it new requests.
type drainState struct {
	draining atomic.Bool
	verifier *bearer.Verifier // nil: no keys to check
}

// ready is the httpapi readiness check: 503 once draining, or while the
// verifier has no usable cached keys (bearer's Ready makes no request).
func (d *drainState) ready(context.Context) error {
	if d.draining.Load() {
		return taskapi.Errorf(taskapi.EUNAVAILABLE, "Shutting down")
	}
	if d.verifier != nil {
		return d.verifier.Ready()
	}
	return nil
}

// closeWhenDraining answers "Connection: close" once drain is marked: a
// kept-alive connection is closed after its next response, which tells
// its client to open a new one (through the load balancer, to another
// instance), instead of being closed under it at the shutdown. This is
// not http.Server.SetKeepAlivesEnabled(false), which also closes the idle
// connections at once, so that a request a client sends on one at that
// moment fails.
func closeWhenDraining(h http.Handler, drain *drainState) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drain.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// timeAfter is time.After; tests replace it to end the shutdown delay.
var timeAfter = time.After

// serveHTTP serves h on l, over TLS when tlsConfig is not nil, until ctx
// ends. Then it marks drain (GET /ready answers 503, every response closes
// its connection), keeps serving for delay so that load balancers notice,
// and shuts down, draining open requests for at most shutdownTimeout.
func serveHTTP(ctx context.Context, log *slog.Logger, l net.Listener, tlsConfig *tls.Config, h http.Handler, drain *drainState, delay time.Duration) error {
	srv := httpapi.NewHTTPServer("", closeWhenDraining(h, drain))
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	errc := make(chan error, 1)
	if tlsConfig != nil {
		// ServeTLS sets up HTTP/2 beside HTTP/1.1; the certificate comes
		// from tlsConfig.GetCertificate.
		srv.TLSConfig = tlsConfig
		go func() { errc <- srv.ServeTLS(l, "", "") }()
	} else {
		go func() { errc <- srv.Serve(l) }()
	}
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
