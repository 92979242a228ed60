package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/postgres"
)

// Defaults of the configuration.
const (
	defaultPort         = 5000
	defaultDatabaseFile = "taskapi.db"
	defaultPageSize     = 20
	defaultMaxPageSize  = 100
	maxPageSizeLimit    = 1000
	maxShutdownDelay    = time.Minute
	// defaultRequestTimeout bounds the handling of one API request
	// (REQUEST_TIMEOUT): a stalled database is answered 503, not waited on.
	defaultRequestTimeout = 10 * time.Second
	maxRequestTimeout     = 5 * time.Minute
	// minNonceKeyBytes is the least length of DPOP_NONCE_KEY.
	minNonceKeyBytes = 32
	// nonceLifetime is how long a DPoP nonce of DPOP_NONCE_KEY is accepted.
	nonceLifetime = 5 * time.Minute
	devAudience   = "task-manager-api"
	devKeyFile    = "taskapi-dev-key.pem"
	devIssuerAddr = "127.0.0.1:5001"
	devDemoUser   = "dev|demo-user"
	devScopes     = "read:tasks write:tasks delete:tasks"
	dotenvFile    = ".env"
	databaseEnv   = "DATABASE_URL"
)

// config is the service's configuration, from the environment.
type config struct {
	Port            int
	Database        database
	LogLevel        slog.Level
	DefaultPageSize int
	MaxPageSize     int
	RequireScopes   bool
	// Metrics serves Prometheus metrics at GET /metrics (METRICS).
	Metrics bool
	// CORSOrigins are the browser origins allowed to call the API
	// (CORS_ORIGINS).
	CORSOrigins []string
	// RateLimit limits requests per subject (RATE_LIMIT, RATE_LIMIT_BURST).
	RateLimit httpapi.RateLimit
	// AuthFailureLimit limits failed authentications per client address
	// (AUTH_FAILURE_LIMIT, AUTH_FAILURE_LIMIT_BURST).
	AuthFailureLimit httpapi.RateLimit
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// ShutdownDelay is how long GET /ready answers 503 before the server
	// stops accepting connections (SHUTDOWN_DELAY).
	ShutdownDelay time.Duration
	// RequestTimeout bounds the handling of each API request
	// (REQUEST_TIMEOUT; 0 turns it off).
	RequestTimeout time.Duration
	// PprofAddr is the loopback address of the profiling server
	// (PPROF_ADDR; "" for none).
	PprofAddr string
	// Bearer is the token verification of serve (ISSUER_BASE_URL,
	// AUDIENCE, ISSUER, JWKS_URI, SECRET, TOKEN_SIGNING_ALG; ISSUERS and
	// ISSUERS_ALLOW_HTTP; DPOP_DISABLED, DPOP_REQUIRED, DPOP_NONCE_KEY;
	// MTLS_CERT_HEADER, MTLS_REQUIRED).
	Bearer bearer.Config
	// Profile is where the provider puts audience, scopes and client
	// (AUDIENCE_CLAIM, SCOPE_CLAIMS, ALLOWED_CLIENT_IDS); its checks are
	// in Bearer.Validators already.
	Profile bearer.Profile
}

// database is where the data lives: a SQLite file (Path) or a PostgreSQL
// database (URL).
type database struct {
	Path string // SQLite: the file
	URL  string // PostgreSQL: the connection URL (may hold a password)
}

// String names the database for logs and messages, without a password.
func (d database) String() string {
	if d.URL != "" {
		return postgres.DisplayURL(d.URL)
	}
	return d.Path
}

// loadConfig reads the variables every subcommand shares. Each invalid
// value is reported, naming its variable; all of them at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{Bearer: bearer.ConfigFromEnv(getenv)}
	var errs []error
	var err error
	if c.Port, err = intVar(getenv, "PORT", defaultPort, 0, 65535); err != nil {
		errs = append(errs, err)
	}
	if c.Database, err = parseDatabaseURL(getenv(databaseEnv)); err != nil {
		errs = append(errs, err)
	}
	if c.LogLevel, err = logLevel(getenv("LOG_LEVEL")); err != nil {
		errs = append(errs, err)
	}
	if c.DefaultPageSize, err = intVar(getenv, "DEFAULT_PAGE_SIZE", defaultPageSize, 1, maxPageSizeLimit); err != nil {
		errs = append(errs, err)
	}
	if c.MaxPageSize, err = intVar(getenv, "MAX_PAGE_SIZE", defaultMaxPageSize, 1, maxPageSizeLimit); err != nil {
		errs = append(errs, err)
	}
	if c.DefaultPageSize > c.MaxPageSize && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("DEFAULT_PAGE_SIZE (%d) must not exceed MAX_PAGE_SIZE (%d)", c.DefaultPageSize, c.MaxPageSize))
	}
	if c.RequireScopes, err = boolVar(getenv, "REQUIRE_SCOPES"); err != nil {
		errs = append(errs, err)
	}
	if c.Metrics, err = boolVar(getenv, "METRICS"); err != nil {
		errs = append(errs, err)
	}
	if c.CORSOrigins, err = corsOrigins(getenv("CORS_ORIGINS")); err != nil {
		errs = append(errs, err)
	}
	if c.RateLimit, err = rateLimit(getenv, "RATE_LIMIT"); err != nil {
		errs = append(errs, err)
	}
	if c.AuthFailureLimit, err = rateLimit(getenv, "AUTH_FAILURE_LIMIT"); err != nil {
		errs = append(errs, err)
	}
	if c.TrustedProxies, err = prefixes(getenv("TRUSTED_PROXIES")); err != nil {
		errs = append(errs, err)
	}
	// The bearer package reads X-Forwarded-Host/-Proto (the URL a DPoP
	// proof names) from the same proxies.
	c.Bearer.TrustedProxies = c.TrustedProxies
	if c.ShutdownDelay, err = durationVar(getenv, "SHUTDOWN_DELAY", 0, maxShutdownDelay); err != nil {
		errs = append(errs, err)
	}
	if c.RequestTimeout, err = durationVar(getenv, "REQUEST_TIMEOUT", defaultRequestTimeout, maxRequestTimeout); err != nil {
		errs = append(errs, err)
	}
	if c.PprofAddr, err = pprofAddr(getenv("PPROF_ADDR")); err != nil {
		errs = append(errs, err)
	}
	if err := bearerModes(&c.Bearer, getenv); err != nil {
		errs = append(errs, err)
	}
	if c.Bearer.MTLS.CertificateHeader != "" && len(c.TrustedProxies) == 0 {
		// The header is believed only from a trusted proxy: without one,
		// no request would ever have a certificate.
		errs = append(errs, errors.New("MTLS_CERT_HEADER needs TRUSTED_PROXIES: the certificate header is read only from the proxies listed there"))
	}
	if c.Bearer, c.Profile, err = authConfig(c.Bearer, getenv); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// bearerModes reads the variables of the bearer package's further modes
// into b, each invalid value reported with its variable:
//
//   - ISSUERS: several issuer URLs (commas or spaces), each one's keys
//     found by discovery, instead of ISSUER_BASE_URL; ISSUERS_ALLOW_HTTP
//     accepts http:// ones (development only).
//   - DPOP_DISABLED, DPOP_REQUIRED: DPoP (RFC 9449) is on by default, as
//     in express-oauth2-jwt-bearer; DPOP_NONCE_KEY (at least 32 bytes)
//     makes proofs carry server-provided nonces (RFC 9449 §9), the same
//     on every instance that shares the key.
//   - MTLS_CERT_HEADER: the header in which a TLS-terminating proxy of
//     TRUSTED_PROXIES forwards the client certificate (turns certificate
//     binding, RFC 8705, on); MTLS_REQUIRED refuses tokens that are not
//     certificate-bound.
func bearerModes(b *bearer.Config, getenv func(string) string) error {
	var errs []error
	if issuers := splitList(getenv("ISSUERS")); len(issuers) > 0 {
		for _, name := range []string{"ISSUER_BASE_URL", "ISSUER", "JWKS_URI", "SECRET", "TOKEN_SIGNING_ALG"} {
			if strings.TrimSpace(getenv(name)) != "" {
				errs = append(errs, fmt.Errorf("ISSUERS and %s are mutually exclusive: list every issuer in ISSUERS (each one's keys are found by discovery), or use %s alone", name, name))
			}
		}
		allowHTTP, err := boolVar(getenv, "ISSUERS_ALLOW_HTTP")
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range issuers {
			u, err := url.Parse(s)
			switch {
			case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
				errs = append(errs, fmt.Errorf("ISSUERS: %q is not an issuer URL such as https://YOUR_TENANT.us.auth0.com/", truncate(s, 60)))
			case u.Scheme == "http" && !allowHTTP:
				errs = append(errs, fmt.Errorf("ISSUERS: %q is plain http: its keys would be fetched unauthenticated; use https, or set ISSUERS_ALLOW_HTTP=true for development", truncate(s, 60)))
			}
		}
		b.Issuers = bearer.IssuersOptions{URLs: issuers, AllowInsecureHTTP: allowHTTP}
	} else if strings.TrimSpace(getenv("ISSUERS_ALLOW_HTTP")) != "" {
		errs = append(errs, errors.New("ISSUERS_ALLOW_HTTP is set but ISSUERS is not"))
	}

	disabled, err := boolVar(getenv, "DPOP_DISABLED")
	if err != nil {
		errs = append(errs, err)
	}
	required, err := boolVar(getenv, "DPOP_REQUIRED")
	if err != nil {
		errs = append(errs, err)
	}
	if disabled && required {
		errs = append(errs, errors.New("DPOP_DISABLED and DPOP_REQUIRED cannot both be true"))
	}
	b.DPoP.Disabled, b.DPoP.Required = disabled, required
	if key := getenv("DPOP_NONCE_KEY"); key != "" {
		switch {
		case disabled:
			errs = append(errs, errors.New("DPOP_NONCE_KEY is set but DPOP_DISABLED is true"))
		case len(key) < minNonceKeyBytes:
			// The key itself is never echoed.
			errs = append(errs, fmt.Errorf("DPOP_NONCE_KEY is %d bytes: want at least %d random bytes, e.g. the output of openssl rand -base64 32", len(key), minNonceKeyBytes))
		default:
			nonces, err := bearer.NewHMACNonces([]byte(key), nonceLifetime)
			if err != nil {
				errs = append(errs, fmt.Errorf("DPOP_NONCE_KEY: %w", err))
			} else {
				b.DPoP.Nonce = nonces
			}
		}
	}

	header := strings.TrimSpace(getenv("MTLS_CERT_HEADER"))
	if header != "" {
		if !validHeaderName(header) {
			errs = append(errs, fmt.Errorf("MTLS_CERT_HEADER=%q is not a header name", truncate(header, 60)))
		}
		b.MTLS.CertificateHeader = header
	}
	mtlsRequired, err := boolVar(getenv, "MTLS_REQUIRED")
	if err != nil {
		errs = append(errs, err)
	}
	if mtlsRequired && header == "" {
		errs = append(errs, errors.New("MTLS_REQUIRED is true but MTLS_CERT_HEADER is not set: name the header in which your TLS-terminating proxy forwards the client certificate"))
	}
	b.MTLS.Required = mtlsRequired
	return errors.Join(errs...)
}

// validHeaderName reports whether s is an HTTP field name (an RFC 9110
// token).
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// checkAuth reports what serve needs to verify tokens: ISSUER_BASE_URL (or
// ISSUER with JWKS_URI or SECRET, or ISSUERS) and AUDIENCE, naming what is
// missing.
func (c *config) checkAuth() error {
	var errs []error
	b := c.Bearer
	// ISSUERS stands in for ISSUER_BASE_URL; loadConfig checked it.
	if len(b.Issuers.URLs) == 0 && b.IssuerBaseURL == "" && (b.Issuer == "" || (b.JWKSURI == "" && b.Secret == "")) {
		errs = append(errs, errors.New("ISSUER_BASE_URL is not set: set it (in the environment or .env) to your Auth0 domain as a URL, e.g. ISSUER_BASE_URL=https://YOUR_TENANT.us.auth0.com (or ISSUERS to several issuers)"))
	} else if b.IssuerBaseURL != "" {
		if u, err := url.Parse(b.IssuerBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("ISSUER_BASE_URL must be a URL such as https://YOUR_TENANT.us.auth0.com, got %q", b.IssuerBaseURL))
		}
	}
	if len(b.Audience) == 0 {
		errs = append(errs, errors.New("AUDIENCE is not set: set it (in the environment or .env) to your API identifier, e.g. AUDIENCE=task-manager-api"))
	}
	return errors.Join(errs...)
}

// parseDatabaseURL reads DATABASE_URL: empty for taskapi.db in the working
// directory, sqlite:PATH (or sqlite://PATH) for another file,
// postgres://… or postgresql://… for PostgreSQL.
func parseDatabaseURL(s string) (database, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return database{Path: defaultDatabaseFile}, nil
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return database{}, fmt.Errorf("%s=%q has no scheme: use sqlite:PATH or postgres://…, or leave it unset for %s in the working directory", databaseEnv, truncate(s, 60), defaultDatabaseFile)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return database{}, fmt.Errorf("%s=%q names no file: use sqlite:PATH", databaseEnv, s)
		}
		return database{Path: path}, nil
	case "postgres", "postgresql":
		return database{URL: s}, nil
	default:
		// The value is not echoed: it may hold a password.
		return database{}, fmt.Errorf("%s: unsupported scheme %q: use sqlite:PATH or postgres://…, or leave it unset for %s in the working directory", databaseEnv, truncate(scheme, 20), defaultDatabaseFile)
	}
}

// rateLimit reads NAME (requests per second, a number; empty or 0: off)
// and NAME_BURST (the bucket size, default the rate rounded up).
func rateLimit(getenv func(string) string, name string) (httpapi.RateLimit, error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return httpapi.RateLimit{}, nil
	}
	rate, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1e6 {
		return httpapi.RateLimit{}, fmt.Errorf("%s=%q: want requests per second, a number from 0 (off) to 1000000", name, truncate(s, 40))
	}
	if rate == 0 {
		return httpapi.RateLimit{}, nil
	}
	burst, err := intVar(getenv, name+"_BURST", max(1, int(math.Ceil(rate))), 1, 1_000_000)
	if err != nil {
		return httpapi.RateLimit{}, err
	}
	return httpapi.RateLimit{Rate: rate, Burst: burst}, nil
}

// corsOrigins reads CORS_ORIGINS: "*" alone, or origins as a browser sends
// them (scheme://host[:port]), separated by commas or spaces.
func corsOrigins(s string) ([]string, error) {
	list := splitList(s)
	for _, o := range list {
		if o == "*" {
			if len(list) > 1 {
				return nil, errors.New(`CORS_ORIGINS: "*" must be the only origin`)
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("CORS_ORIGINS: %q is not an origin: want scheme://host[:port], e.g. https://app.example.com", truncate(o, 60))
		}
	}
	return list, nil
}

// prefixes reads TRUSTED_PROXIES: IP addresses or CIDR prefixes,
// separated by commas or spaces.
func prefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range splitList(s) {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(p)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not an IP address or CIDR prefix", truncate(p, 60))
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// splitList splits a list separated by commas or white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

func durationVar(getenv func(string) string, name string, def, hi time.Duration) (time.Duration, error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > hi {
		return def, fmt.Errorf("%s=%q: want a duration from 0s to %v, e.g. 5s", name, truncate(s, 40), hi)
	}
	return d, nil
}

func intVar(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return def, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, truncate(s, 40), lo, hi)
	}
	return n, nil
}

func boolVar(getenv func(string) string, name string) (bool, error) {
	switch s := strings.ToLower(strings.TrimSpace(getenv(name))); s {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", name, truncate(s, 40))
	}
}

func logLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", truncate(s, 40))
}
