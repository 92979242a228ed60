package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/webapp"
)

// A variable is one configuration variable, read from the environment (or
// .env) into a config.
type variable struct {
	name string
	// def is the value taken when the variable is unset or blank; it is
	// shown in -h.
	def string
	// cmds are the commands whose -h lists the variable. serve, dev and
	// decode read the variables of serve (loadConfig); the others read
	// their own (readConfig).
	cmds string
	help string
	// parse reads the value into c and reports an invalid one, naming the
	// variable. Variables are parsed in the order of the table, so a
	// parser may look at what an earlier one set. nil: bearer.ProfileFromEnv
	// reads it (loadConfig).
	parse func(c *config, name, value string) error
}

// variables is the configuration. README.md documents each of them
// (TestREADMEListsVariables).
var variables = []variable{
	{"ISSUER_BASE_URL", "", "serve decode login seed", "the token issuer as a URL (discovery at /.well-known/openid-configuration), e.g. https://YOUR_TENANT.us.auth0.com; required",
		func(c *config, _, s string) error { c.Bearer.IssuerBaseURL = strings.TrimSpace(s); return nil }},
	{"AUDIENCE", "", "serve decode login", "the API identifier, e.g. task-manager-api (several: comma-separated); required",
		func(c *config, _, s string) error { c.Bearer.Audience = splitList(s); return nil }},
	{"ISSUER", "", "serve decode seed", "the exact iss tokens must have, instead of discovery's",
		func(c *config, _, s string) error { c.Bearer.Issuer = strings.TrimSpace(s); return nil }},
	{"JWKS_URI", "", "serve decode", "the URL of the key set, instead of discovery's",
		func(c *config, _, s string) error { c.Bearer.JWKSURI = strings.TrimSpace(s); return nil }},
	{"SECRET", "", "serve decode", "the secret of HS256/384/512 tokens (with ISSUER and TOKEN_SIGNING_ALG): at least 32/48/64 bytes",
		func(c *config, _, s string) error { c.Bearer.Secret = s; return nil }},
	{"TOKEN_SIGNING_ALG", "", "serve decode", "the one signing algorithm accepted", parseSigningAlg},
	{"ISSUERS", "", "serve decode seed", "several issuer URLs, commas or spaces, each one's keys found by discovery; instead of ISSUER_BASE_URL", parseIssuers},
	// No def: set to anything without ISSUERS, it is refused.
	{"ISSUERS_ALLOW_HTTP", "", "serve decode", "accept http:// issuers in ISSUERS, development only (default: false)", parseIssuersAllowHTTP},
	{"ISSUERS_SHARE_SUBJECTS", "false", "serve decode seed", "with ISSUERS: a sub names the same user whichever issuer signed it (one tenant behind several domains); off: each issuer's users are apart",
		func(c *config, name, s string) (err error) {
			c.SharedSubjects, err = parseBool(name, s)
			if err == nil && c.SharedSubjects && len(c.Bearer.Issuers.URLs) == 0 {
				err = errors.New("ISSUERS_SHARE_SUBJECTS is set but ISSUERS is not")
			}
			return err
		}},
	{"ISSUER_ALLOW_HTTP", "false", "serve decode", "accept a plain http:// ISSUER_BASE_URL or JWKS_URI that is not on loopback, development only",
		func(c *config, name, s string) (err error) {
			allow, err := parseBool(name, s)
			c.Bearer.AllowInsecureHTTP = c.Bearer.AllowInsecureHTTP || allow
			return err
		}},
	{"DISCOVERY_ISSUER", "", "serve decode", "another issuer the discovery document may name, e.g. https://login.microsoftonline.com/{tenantid}/v2.0 (Entra ID, multi-tenant)",
		func(c *config, _, s string) error { c.Bearer.DiscoveryIssuer = strings.TrimSpace(s); return nil }},
	{"AUDIENCE_CLAIM", "", "serve decode", "the claim holding the audience, e.g. client_id for Cognito (default: aud)", nil},
	{"SCOPE_CLAIMS", "", "serve decode", "claims holding scopes, e.g. scope,scp (default: scope)", nil},
	{"SCOPE_PREFIX", "", "serve decode", "removed from scopes, e.g. task-manager-api/ (Cognito)", nil},
	{"ALLOWED_CLIENT_IDS", "", "serve decode", "accept tokens of these clients only (default: any)", nil},
	{"PORT", "5000", "serve dev", "port of the API",
		func(c *config, name, s string) (err error) { c.Port, err = intIn(name, s, 0, 65535); return err }},
	{"DATABASE_URL", "sqlite:" + defaultDatabaseFile, "serve dev token seed migrate backup", "sqlite:PATH or postgres://…",
		func(c *config, _, s string) (err error) { c.Database, err = parseDatabaseURL(s); return err }},
	{"LOG_LEVEL", "info", "serve dev", "debug, info, warn or error",
		func(c *config, _, s string) (err error) { c.LogLevel, err = logLevel(s); return err }},
	{"LOG_FORMAT", "json", "serve dev", "json (one object per line) or text", parseLogFormat},
	{"DEFAULT_PAGE_SIZE", "20", "serve dev", "page size of a list without ?limit",
		func(c *config, name, s string) (err error) {
			c.DefaultPageSize, err = intIn(name, s, 1, maxPageSizeLimit)
			return err
		}},
	{"MAX_PAGE_SIZE", "100", "serve dev", "largest ?limit", parseMaxPageSize},
	{"MAX_TASKS_PER_USER", strconv.Itoa(taskapi.DefaultMaxTasks), "serve dev", "the most tasks one user may have: a create past it is refused 409 ERR_LIMIT; 0: no limit",
		func(c *config, name, s string) (err error) {
			c.Limits.Tasks, err = intIn(name, s, 0, maxPerUserLimit)
			return err
		}},
	{"MAX_PROJECTS_PER_USER", strconv.Itoa(taskapi.DefaultMaxProjects), "serve dev", "the most projects one user may have, as MAX_TASKS_PER_USER; 0: no limit",
		func(c *config, name, s string) (err error) {
			c.Limits.Projects, err = intIn(name, s, 0, maxPerUserLimit)
			return err
		}},
	{"IDEMPOTENCY_KEY_TTL", taskapi.DefaultKeyTTL.String(), "serve dev", "how long the response to a request with an Idempotency-Key is kept for its retries; expired keys are purged in the background",
		func(c *config, name, s string) (err error) {
			c.KeyTTL, err = durationIn(name, s, maxKeyTTL)
			if err == nil && c.KeyTTL < minKeyTTL {
				err = fmt.Errorf("%s=%q: want a duration from %v to %v, e.g. 24h", name, truncate(s, 40), minKeyTTL, maxKeyTTL)
			}
			return err
		}},
	{"MAX_IDEMPOTENCY_KEYS_PER_USER", strconv.Itoa(taskapi.DefaultMaxKeys), "serve dev", "the most unexpired Idempotency-Keys one user may hold: a request with a new key past it is refused 409 ERR_LIMIT; 0: no limit",
		func(c *config, name, s string) (err error) {
			c.Limits.IdempotencyKeys, err = intIn(name, s, 0, maxPerUserLimit)
			return err
		}},
	{"TOMBSTONE_RETENTION", defaultTombstoneRetention.String(), "serve dev", "how long GET /changes remembers deleted tasks and projects; a cursor from before a forgotten one is answered 410 ERR_RESYNC",
		parseTombstoneRetention},
	{"REQUIRE_SCOPES", "false", "serve dev decode", "enforce read:tasks, write:tasks, delete:tasks",
		func(c *config, name, s string) (err error) { c.RequireScopes, err = parseBool(name, s); return err }},
	{"METRICS", "false", "serve dev", "serve Prometheus metrics at GET /metrics",
		func(c *config, name, s string) (err error) { c.Metrics, err = parseBool(name, s); return err }},
	{"CORS_ORIGINS", "", "serve dev", "browser origins allowed, comma-separated, or *",
		func(c *config, _, s string) (err error) { c.CORSOrigins, err = corsOrigins(s); return err }},
	{"RATE_LIMIT", "0", "serve dev", "requests per second per subject; 0: off",
		func(c *config, name, s string) (err error) { c.RateLimit, err = parseRate(name, s); return err }},
	{"RATE_LIMIT_BURST", "", "serve dev", "the bucket size of RATE_LIMIT (default: the rate rounded up)",
		func(c *config, name, s string) error { return parseBurst(&c.RateLimit, name, s) }},
	{"AUTH_FAILURE_LIMIT", "0", "serve dev", "failed authentications per second per client address; 0: off",
		func(c *config, name, s string) (err error) { c.AuthFailureLimit, err = parseRate(name, s); return err }},
	{"AUTH_FAILURE_LIMIT_BURST", "", "serve dev", "the bucket size of AUTH_FAILURE_LIMIT (default: the rate rounded up)",
		func(c *config, name, s string) error { return parseBurst(&c.AuthFailureLimit, name, s) }},
	{"TRUSTED_PROXIES", "", "serve dev", "proxies (IPs or CIDRs) whose X-Forwarded-For, -Host, -Proto and -Prefix, Forwarded (and MTLS_CERT_HEADER) are believed",
		func(c *config, _, s string) (err error) {
			c.TrustedProxies, err = prefixes(s)
			c.Bearer.TrustedProxies = c.TrustedProxies
			return err
		}},
	{"DPOP_DISABLED", "false", "serve dev", "accept only Bearer tokens, ignore DPoP proofs; when false, DPoP tokens with proofs are accepted beside Bearer tokens",
		func(c *config, name, s string) (err error) {
			c.Bearer.DPoP.Disabled, err = parseBool(name, s)
			return err
		}},
	{"DPOP_REQUIRED", "false", "serve dev", "accept only DPoP-bound tokens with a proof",
		func(c *config, name, s string) (err error) {
			c.Bearer.DPoP.Required, err = parseBool(name, s)
			if c.Bearer.DPoP.Required && c.Bearer.DPoP.Disabled {
				return errors.New("DPOP_DISABLED and DPOP_REQUIRED cannot both be true")
			}
			return err
		}},
	{"DPOP_NONCE_KEY", "", "serve dev", "secret of at least 32 bytes: proofs must carry a nonce from the DPoP-Nonce header (RFC 9449 §9); the same on every instance", parseNonceKey},
	{"TLS_CERT_FILE", "", "serve", "PEM certificate chain: serve HTTPS itself (with TLS_KEY_FILE), reloaded when the file changes or on SIGHUP",
		func(c *config, _, s string) error { c.TLS.Cert = strings.TrimSpace(s); return nil }},
	{"TLS_KEY_FILE", "", "serve", "PEM private key of TLS_CERT_FILE", parseTLSKeyFile},
	{"MTLS_CERT_HEADER", "", "serve dev", "header in which a TLS-terminating proxy of TRUSTED_PROXIES forwards the client certificate; checks certificate-bound tokens (RFC 8705)", parseCertHeader},
	{"MTLS_REQUIRED", "false", "serve dev", "refuse tokens that are not certificate-bound",
		func(c *config, name, s string) (err error) {
			c.Bearer.MTLS.Required, err = parseBool(name, s)
			if c.Bearer.MTLS.Required && c.Bearer.MTLS.CertificateHeader == "" && !c.TLS.on() {
				return errors.New("MTLS_REQUIRED is true but neither MTLS_CERT_HEADER nor TLS_CERT_FILE is set: serve TLS with TLS_CERT_FILE and TLS_KEY_FILE, or name the header in which your TLS-terminating proxy forwards the client certificate")
			}
			return err
		}},
	{"REQUEST_TIMEOUT", "10s", "serve dev", "bound of each API request: past it a stalled database is answered 503; 0s: none",
		func(c *config, name, s string) (err error) {
			c.RequestTimeout, err = durationIn(name, s, maxRequestTimeout)
			return err
		}},
	{"APP_CLIENT_ID", "", "serve", "client id of the browser application (a Single Page Application at the provider): serves it at / and /app/; unset: off", parseAppClientID},
	{"APP_ISSUER_BASE_URL", "", "serve", "the provider the browser application signs in with (default: ISSUER_BASE_URL)", parseAppIssuer},
	{"APP_AUDIENCE", "", "serve", "the audience parameter the browser application sends (default: the first AUDIENCE)", parseAppAudience},
	{"APP_SCOPE", "", "serve", "the scopes the browser application asks for; must hold openid (default: " + webapp.DefaultScope + ")", parseAppScope},
	{"PPROF_ADDR", "", "serve", "loopback HOST:PORT serving net/http/pprof at /debug/pprof/; other addresses are refused",
		func(c *config, _, s string) (err error) { c.PprofAddr, err = pprofAddr(s); return err }},
	{"SHUTDOWN_DELAY", "0s", "serve", "on SIGTERM, how long GET /ready answers 503 (and responses close their connections) before the server stops accepting connections",
		func(c *config, name, s string) (err error) {
			c.ShutdownDelay, err = durationIn(name, s, maxShutdownDelay)
			return err
		}},
	{"SEED_USERS", "", "seed", "users to seed, comma-separated (added to -user)",
		func(c *config, _, s string) error { c.SeedUsers = splitCommas(s); return nil }},
	{"CLIENT_ID", "", "login", "the application (client) id at the provider; required",
		func(c *config, _, s string) error { c.Login.ClientID = strings.TrimSpace(s); return nil }},
	{"CLIENT_SECRET", "", "login", "its secret: needed for -client-credentials (and for confidential clients); never a flag; sent over https only (or plain http to loopback)",
		func(c *config, _, s string) error { c.Login.ClientSecret = s; return nil }},
	{"LOGIN_AUDIENCE_PARAM", "audience", "login", "how the audience is requested: audience (Auth0), resource (RFC 8707), both or none",
		func(c *config, name, s string) error {
			switch s = strings.ToLower(strings.TrimSpace(s)); s {
			case "audience", "resource", "both", "none":
				c.Login.AudienceParam = s
				return nil
			}
			return fmt.Errorf("%s=%q: want audience, resource, both or none", name, truncate(s, 20))
		}},
	{"LOGIN_AUDIENCE", "", "login", "the value requested (default: the first AUDIENCE)",
		func(c *config, _, s string) error { c.Login.Audience = strings.TrimSpace(s); return nil }},
	{"LOGIN_SCOPES", "", "login", `scopes to request (default for a user: "` + defaultUserScopes + `"; for -client-credentials: none, the provider's default)`,
		func(c *config, _, s string) error { c.Login.Scopes = strings.Fields(s); return nil }},
	{"LOGIN_REDIRECT_URI", "", "login", "a fixed loopback redirect, e.g. http://localhost:8765/callback, for providers that want it registered exactly (default: http://127.0.0.1:<random port>/callback)",
		func(c *config, _, s string) (err error) {
			if c.Login.RedirectURI = strings.TrimSpace(s); c.Login.RedirectURI != "" {
				_, _, err = loopbackRedirect(c.Login.RedirectURI)
			}
			return err
		}},
	{"TOKEN_FILE", "", "login", "where the token is saved (default: taskapi/token.json in the user's configuration directory)",
		func(c *config, _, s string) error { c.Login.TokenFile = strings.TrimSpace(s); return nil }},
}

// listedBy reports whether the -h of command cmd lists v.
func (v variable) listedBy(cmd string) bool {
	return slices.Contains(strings.Fields(v.cmds), cmd)
}

// readConfig reads the variables of command cmd, reporting every invalid
// value at once.
func readConfig(getenv func(string) string, cmd string) (config, error) {
	var c config
	var errs []error
	for _, v := range variables {
		if v.parse == nil || !v.listedBy(cmd) {
			continue
		}
		s := getenv(v.name)
		if v.def != "" && strings.TrimSpace(s) == "" {
			s = v.def
		}
		if err := v.parse(&c, v.name, s); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// printVariables writes the variables of command cmd as -h shows them.
func printVariables(w io.Writer, cmd string) {
	const lineWidth = 80
	width := 0
	for _, v := range variables {
		if v.listedBy(cmd) {
			width = max(width, len(v.name))
		}
	}
	for _, v := range variables {
		if !v.listedBy(cmd) {
			continue
		}
		text := v.help
		if v.def != "" {
			text += " (default: " + v.def + ")"
		}
		line, words := fmt.Sprintf("  %-*s", width, v.name), 0
		for _, word := range strings.Fields(text) {
			if words > 0 && len(line)+1+len(word) > lineWidth {
				fmt.Fprintln(w, line)
				line, words = strings.Repeat(" ", width+2), 0
			}
			line += " " + word
			words++
		}
		fmt.Fprintln(w, line)
	}
}
