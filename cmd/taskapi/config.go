package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/webapp"
)

// Limits of the configuration.
const (
	defaultDatabaseFile = "taskapi.db"
	maxPageSizeLimit    = 1000
	maxPerUserLimit     = 1_000_000_000 // of MAX_TASKS_PER_USER, MAX_PROJECTS_PER_USER
	maxShutdownDelay    = time.Minute
	maxRequestTimeout   = 5 * time.Minute
	minKeyTTL           = time.Minute
	maxKeyTTL           = 30 * 24 * time.Hour
	minNonceKeyBytes    = 32
	// nonceLifetime is how long a DPoP nonce of DPOP_NONCE_KEY is accepted.
	nonceLifetime = 5 * time.Minute
	dotenvFile    = ".env"
)

// config is the configuration, from the variables of the table.
type config struct {
	Port             int
	Database         database
	LogLevel         slog.Level
	LogText          bool // LOG_FORMAT=text; JSON otherwise
	DefaultPageSize  int
	MaxPageSize      int
	RequireScopes    bool
	Metrics          bool
	CORSOrigins      []string
	RateLimit        httpapi.RateLimit
	AuthFailureLimit httpapi.RateLimit
	TrustedProxies   []netip.Prefix
	ShutdownDelay    time.Duration
	RequestTimeout   time.Duration
	// Limits caps each user's tasks and projects (MAX_TASKS_PER_USER,
	// MAX_PROJECTS_PER_USER); zero for the commands that do not read them.
	Limits taskapi.Limits
	// KeyTTL is how long the responses of idempotency keys are kept
	// (IDEMPOTENCY_KEY_TTL).
	KeyTTL    time.Duration
	PprofAddr string
	// TLS is the certificate and key serve terminates TLS with
	// (TLS_CERT_FILE, TLS_KEY_FILE); none: plain HTTP.
	TLS    tlsFiles
	Bearer bearer.Config
	// Profile is where the provider puts audience, scopes and client; its
	// checks are in Bearer.Validators already.
	Profile   bearer.Profile
	SeedUsers []string
	Login     loginConfig
	// App is the browser application's configuration; it is served when
	// App.ClientID is set (APP_CLIENT_ID under serve; always under dev).
	App webapp.Config
	// SharedSubjects makes the subjects of every issuer of ISSUERS one
	// user each (ISSUERS_SHARE_SUBJECTS).
	SharedSubjects bool
	// TombstoneRetention is how long the change feed keeps deleted
	// objects (TOMBSTONE_RETENTION); zero for the commands that do not
	// read it.
	TombstoneRetention time.Duration
}

// database is where the data lives: a SQLite file (Path) or a PostgreSQL
// database (URL).
type database struct {
	Path string
	URL  string // may hold a password
}

// String names the database for logs and messages, without a password.
func (d database) String() string {
	if d.URL != "" {
		return postgres.DisplayURL(d.URL)
	}
	return d.Path
}

// loadConfig reads the configuration of the API, which serve, dev and
// decode share, reporting every invalid value at once.
func loadConfig(getenv func(string) string) (config, error) {
	c, err := readConfig(getenv, "serve")
	p, perr := bearer.ProfileFromEnv(getenv)
	if perr == nil {
		c.Profile = p
		perr = p.Apply(&c.Bearer)
	}
	return c, errors.Join(err, perr)
}

func parseMaxPageSize(c *config, name, s string) (err error) {
	c.MaxPageSize, err = intIn(name, s, 1, maxPageSizeLimit)
	if err == nil && c.DefaultPageSize > c.MaxPageSize {
		return fmt.Errorf("DEFAULT_PAGE_SIZE (%d) must not exceed MAX_PAGE_SIZE (%d)", c.DefaultPageSize, c.MaxPageSize)
	}
	return err
}

// parseIssuers reads ISSUERS, which excludes the variables of a single
// issuer.
func parseIssuers(c *config, _, s string) error {
	b := &c.Bearer
	urls := splitList(s)
	if len(urls) == 0 {
		return nil
	}
	b.Issuers.URLs = urls
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"ISSUER_BASE_URL", b.IssuerBaseURL}, {"ISSUER", b.Issuer}, {"JWKS_URI", b.JWKSURI},
		{"SECRET", strings.TrimSpace(b.Secret)}, {"TOKEN_SIGNING_ALG", b.TokenSigningAlg},
	} {
		if v.value != "" {
			errs = append(errs, fmt.Errorf("ISSUERS and %s are mutually exclusive: list every issuer in ISSUERS (each one's keys are found by discovery), or use %s alone", v.name, v.name))
		}
	}
	for _, u := range b.Issuers.URLs {
		if parseIssuerURL(u) == nil {
			errs = append(errs, fmt.Errorf("ISSUERS: %q is not an issuer URL such as https://YOUR_TENANT.us.auth0.com/", truncate(u, 60)))
		}
	}
	return errors.Join(errs...)
}

// parseIssuersAllowHTTP reads ISSUERS_ALLOW_HTTP and refuses the http://
// issuers of ISSUERS without it.
func parseIssuersAllowHTTP(c *config, name, s string) error {
	o := &c.Bearer.Issuers
	if len(o.URLs) == 0 {
		if strings.TrimSpace(s) != "" {
			return errors.New("ISSUERS_ALLOW_HTTP is set but ISSUERS is not")
		}
		return nil
	}
	var err error
	o.AllowInsecureHTTP, err = parseBool(name, s)
	errs := []error{err}
	for _, u := range o.URLs {
		if p := parseIssuerURL(u); p != nil && p.Scheme == "http" && !o.AllowInsecureHTTP {
			errs = append(errs, fmt.Errorf("ISSUERS: %q is plain http: its keys would be fetched unauthenticated; use https, or set ISSUERS_ALLOW_HTTP=true for development", truncate(u, 60)))
		}
	}
	return errors.Join(errs...)
}

// parseIssuerURL parses an http(s) issuer URL, or returns nil.
func parseIssuerURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil
	}
	return u
}

// parseSigningAlg reads TOKEN_SIGNING_ALG and checks that SECRET, read
// before it, is as long as the algorithm's hash (RFC 7518 §3.2), HS256's
// without an algorithm; bearer.New would refuse it too, without naming the
// variable. An asymmetric algorithm with SECRET is left to bearer.New.
func parseSigningAlg(c *config, _, s string) error {
	b := &c.Bearer
	b.TokenSigningAlg = strings.TrimSpace(s)
	alg, n := b.TokenSigningAlg, bearer.MinSecretBytes(b.TokenSigningAlg)
	if b.Secret == "" || len(b.Secret) >= n || !slices.Contains([]string{"", "HS256", "HS384", "HS512"}, alg) {
		return nil
	}
	// The secret itself is never echoed.
	need := fmt.Sprintf("want at least %d (HS256; 48 for HS384, 64 for HS512: RFC 7518 §3.2)", n)
	if alg != "" {
		need = fmt.Sprintf("TOKEN_SIGNING_ALG=%s needs at least %d (RFC 7518 §3.2)", alg, n)
	}
	return fmt.Errorf("SECRET is %d bytes: %s, e.g. the output of openssl rand -base64 %d", len(b.Secret), need, n)
}

func parseNonceKey(c *config, _, key string) error {
	switch {
	case key == "":
		return nil
	case c.Bearer.DPoP.Disabled:
		return errors.New("DPOP_NONCE_KEY is set but DPOP_DISABLED is true")
	case len(key) < minNonceKeyBytes:
		// The key itself is never echoed.
		return fmt.Errorf("DPOP_NONCE_KEY is %d bytes: want at least %d random bytes, e.g. the output of openssl rand -base64 32", len(key), minNonceKeyBytes)
	}
	nonces, err := bearer.NewHMACNonces([]byte(key), nonceLifetime)
	if err != nil {
		return fmt.Errorf("DPOP_NONCE_KEY: %w", err)
	}
	c.Bearer.DPoP.Nonce = nonces
	return nil
}

func parseCertHeader(c *config, _, s string) error {
	header := strings.TrimSpace(s)
	if header == "" {
		return nil
	}
	c.Bearer.MTLS.CertificateHeader = header
	var errs []error
	if !validHeaderName(header) {
		errs = append(errs, fmt.Errorf("MTLS_CERT_HEADER=%q is not a header name", truncate(header, 60)))
	}
	if len(c.TrustedProxies) == 0 {
		// The header is believed only from a trusted proxy: without one,
		// no request would ever have a certificate.
		errs = append(errs, errors.New("MTLS_CERT_HEADER needs TRUSTED_PROXIES: the certificate header is read only from the proxies listed there"))
	}
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
		return database{}, fmt.Errorf("DATABASE_URL=%q has no scheme: use sqlite:PATH or postgres://…, or leave it unset for %s in the working directory", truncate(s, 60), defaultDatabaseFile)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return database{}, fmt.Errorf("DATABASE_URL=%q names no file: use sqlite:PATH", s)
		}
		return database{Path: path}, nil
	case "postgres", "postgresql":
		return database{URL: s}, nil
	default:
		// The value is not echoed: it may hold a password.
		return database{}, fmt.Errorf("DATABASE_URL: unsupported scheme %q: use sqlite:PATH or postgres://…, or leave it unset for %s in the working directory", truncate(scheme, 20), defaultDatabaseFile)
	}
}

// parseRate reads a rate limit: requests per second, a number; 0 is off.
// The burst is the rate rounded up unless parseBurst reads another.
func parseRate(name, s string) (httpapi.RateLimit, error) {
	s = strings.TrimSpace(s)
	rate, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1e6 {
		return httpapi.RateLimit{}, fmt.Errorf("%s=%q: want requests per second, a number from 0 (off) to 1000000", name, truncate(s, 40))
	}
	if rate == 0 {
		return httpapi.RateLimit{}, nil
	}
	return httpapi.RateLimit{Rate: rate, Burst: max(1, int(math.Ceil(rate)))}, nil
}

// parseBurst reads the bucket size of l, when l is on.
func parseBurst(l *httpapi.RateLimit, name, s string) (err error) {
	if l.Rate > 0 && strings.TrimSpace(s) != "" {
		l.Burst, err = intIn(name, s, 1, 1_000_000)
	}
	return err
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

// splitCommas splits a comma-separated list, trimming each item and
// dropping empty ones.
func splitCommas(s string) []string {
	var list []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list
}

func durationIn(name, s string, hi time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > hi {
		return 0, fmt.Errorf("%s=%q: want a duration from 0s to %v, e.g. 5s", name, truncate(s, 40), hi)
	}
	return d, nil
}

func intIn(name, s string, lo, hi int) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, truncate(s, 40), lo, hi)
	}
	return n, nil
}

func parseBool(name, s string) (bool, error) {
	switch s := strings.ToLower(strings.TrimSpace(s)); s {
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
