package main

import (
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
)

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig(mapEnv(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 5000 || c.Database.Path != "taskapi.db" || c.LogLevel != slog.LevelInfo ||
			c.DefaultPageSize != 20 || c.MaxPageSize != 100 || c.RequireScopes {
			t.Errorf("defaults = %+v", c)
		}
	})
	t.Run("operations", func(t *testing.T) {
		c, err := loadConfig(mapEnv(map[string]string{
			"METRICS": "on", "CORS_ORIGINS": "https://a.example, http://localhost:3000",
			"RATE_LIMIT": "2.5", "AUTH_FAILURE_LIMIT": "1", "AUTH_FAILURE_LIMIT_BURST": "10",
			"TRUSTED_PROXIES": "10.1.2.3/8, 192.168.0.1 ::1",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := config{
			Metrics:          true,
			CORSOrigins:      []string{"https://a.example", "http://localhost:3000"},
			RateLimit:        httpapi.RateLimit{Rate: 2.5, Burst: 3},
			AuthFailureLimit: httpapi.RateLimit{Rate: 1, Burst: 10},
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("192.168.0.1/32"), netip.MustParsePrefix("::1/128")},
		}
		if !slices.Equal(c.Bearer.TrustedProxies, want.TrustedProxies) {
			t.Errorf("bearer TrustedProxies = %v, want TRUSTED_PROXIES", c.Bearer.TrustedProxies)
		}
		if !c.Metrics || !slices.Equal(c.CORSOrigins, want.CORSOrigins) || c.RateLimit != want.RateLimit ||
			c.AuthFailureLimit != want.AuthFailureLimit || !slices.Equal(c.TrustedProxies, want.TrustedProxies) {
			t.Errorf("config = %+v\nwant %+v", c, want)
		}
		if c, _ := loadConfig(mapEnv(map[string]string{"RATE_LIMIT": "0", "RATE_LIMIT_BURST": "9"})); c.RateLimit != (httpapi.RateLimit{}) {
			t.Errorf("RATE_LIMIT=0: %+v, want off", c.RateLimit)
		}
	})
	t.Run("limits", func(t *testing.T) {
		c, err := loadConfig(mapEnv(nil))
		if err != nil || c.Limits != (taskapi.Limits{Tasks: taskapi.DefaultMaxTasks, Projects: taskapi.DefaultMaxProjects, IdempotencyKeys: taskapi.DefaultMaxKeys}) ||
			c.KeyTTL != 24*time.Hour {
			t.Errorf("default limits = %+v, key TTL %v, %v; want 100000 tasks, 10000 projects, 100000 keys of 24h", c.Limits, c.KeyTTL, err)
		}
		c, err = loadConfig(mapEnv(map[string]string{"MAX_TASKS_PER_USER": " 500 ", "MAX_PROJECTS_PER_USER": "0",
			"MAX_IDEMPOTENCY_KEYS_PER_USER": "0", "IDEMPOTENCY_KEY_TTL": "90m"}))
		if err != nil || c.Limits != (taskapi.Limits{Tasks: 500}) || c.KeyTTL != 90*time.Minute {
			t.Errorf("limits = %+v, key TTL %v, %v; want 500 tasks, no limit on projects and keys, keys of 90m", c.Limits, c.KeyTTL, err)
		}
		for _, bad := range []string{"0s", "59s", "721h", "1d", "-1h"} {
			if _, err := loadConfig(mapEnv(map[string]string{"IDEMPOTENCY_KEY_TTL": bad})); err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_KEY_TTL") {
				t.Errorf("IDEMPOTENCY_KEY_TTL=%s: %v, want an error naming it", bad, err)
			}
		}
		// seed is not capped: it does not read them.
		c, err = readConfig(mapEnv(map[string]string{"MAX_TASKS_PER_USER": "5"}), "seed")
		if err != nil || c.Limits != (taskapi.Limits{}) {
			t.Errorf("seed's limits = %+v, %v; want none", c.Limits, err)
		}
	})
	t.Run("values", func(t *testing.T) {
		c, err := loadConfig(mapEnv(map[string]string{
			"PORT": "8080", "DATABASE_URL": "sqlite:/tmp/x.db", "LOG_LEVEL": "DEBUG",
			"DEFAULT_PAGE_SIZE": "5", "MAX_PAGE_SIZE": "50", "REQUIRE_SCOPES": "true",
			"ISSUER_BASE_URL": "https://t.auth0.com", "AUDIENCE": "task-manager-api",
			"TOKEN_SIGNING_ALG": "RS256",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 8080 || c.Database.Path != "/tmp/x.db" || c.LogLevel != slog.LevelDebug ||
			c.DefaultPageSize != 5 || c.MaxPageSize != 50 || !c.RequireScopes ||
			c.Bearer.IssuerBaseURL != "https://t.auth0.com" || len(c.Bearer.Audience) != 1 ||
			c.Bearer.Audience[0] != "task-manager-api" || c.Bearer.TokenSigningAlg != "RS256" {
			t.Errorf("config = %+v", c)
		}
	})
	errs := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "http"}, `PORT="http": want a whole number from 0 to 65535`},
		{map[string]string{"PORT": "70000"}, `PORT="70000"`},
		{map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL="loud": want debug, info, warn or error`},
		{map[string]string{"DEFAULT_PAGE_SIZE": "0"}, `DEFAULT_PAGE_SIZE="0"`},
		{map[string]string{"MAX_PAGE_SIZE": "5000"}, `MAX_PAGE_SIZE="5000"`},
		{map[string]string{"DEFAULT_PAGE_SIZE": "50", "MAX_PAGE_SIZE": "10"}, "DEFAULT_PAGE_SIZE (50) must not exceed MAX_PAGE_SIZE (10)"},
		{map[string]string{"REQUIRE_SCOPES": "maybe"}, `REQUIRE_SCOPES="maybe": want true or false`},
		{map[string]string{"DATABASE_URL": "mysql://root:secret@localhost/tasks"}, `DATABASE_URL: unsupported scheme "mysql"`},
		{map[string]string{"DATABASE_URL": "sqlite:"}, "names no file"},
		{map[string]string{"METRICS": "sometimes"}, `METRICS="sometimes"`},
		{map[string]string{"RATE_LIMIT": "fast"}, `RATE_LIMIT="fast": want requests per second`},
		{map[string]string{"RATE_LIMIT": "-1"}, `RATE_LIMIT="-1"`},
		{map[string]string{"RATE_LIMIT": "5", "RATE_LIMIT_BURST": "0"}, `RATE_LIMIT_BURST="0"`},
		{map[string]string{"AUTH_FAILURE_LIMIT": "NaN"}, `AUTH_FAILURE_LIMIT="NaN"`},
		{map[string]string{"CORS_ORIGINS": "*, https://a.example"}, `CORS_ORIGINS: "*" must be the only origin`},
		{map[string]string{"CORS_ORIGINS": "https://a.example/app"}, `CORS_ORIGINS: "https://a.example/app" is not an origin`},
		{map[string]string{"CORS_ORIGINS": "a.example"}, `is not an origin`},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8 proxy.local"}, `TRUSTED_PROXIES: "proxy.local"`},
		{map[string]string{"SHUTDOWN_DELAY": "5"}, `SHUTDOWN_DELAY="5": want a duration from 0s to 1m0s`},
		{map[string]string{"SHUTDOWN_DELAY": "2h"}, `SHUTDOWN_DELAY="2h"`},
		{map[string]string{"DATABASE_URL": "tasks.db"}, "has no scheme: use sqlite:PATH"},
		{map[string]string{"MAX_TASKS_PER_USER": "-1"}, `MAX_TASKS_PER_USER="-1": want a whole number from 0 to 1000000000`},
		{map[string]string{"MAX_TASKS_PER_USER": "1e5"}, `MAX_TASKS_PER_USER="1e5"`},
		{map[string]string{"MAX_PROJECTS_PER_USER": "lots"}, `MAX_PROJECTS_PER_USER="lots": want a whole number from 0 to 1000000000`},
		{map[string]string{"MAX_PROJECTS_PER_USER": "2000000000"}, `MAX_PROJECTS_PER_USER="2000000000"`},
	}
	for _, tt := range errs {
		_, err := loadConfig(mapEnv(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v: err = %v, want %q", tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("env %v: error leaks the database password: %v", tt.env, err)
		}
	}
	// Every bad variable is reported at once.
	_, err := loadConfig(mapEnv(map[string]string{"PORT": "x", "LOG_LEVEL": "y"}))
	if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("two bad variables: err = %v", err)
	}
}

func TestParseDatabaseURL(t *testing.T) {
	for in, want := range map[string]database{
		"postgres://u:secret@db.example:5433/tasks?sslmode=require": {URL: "postgres://u:secret@db.example:5433/tasks?sslmode=require"},
		"postgresql://u@db/tasks":                                   {URL: "postgresql://u@db/tasks"},
	} {
		db, err := parseDatabaseURL(in)
		if err != nil || db != want {
			t.Errorf("parseDatabaseURL(%q) = %+v, %v; want %+v", in, db, err, want)
		}
		if s := db.String(); strings.Contains(s, "secret") || !strings.HasPrefix(s, "postgres://u@db") {
			t.Errorf("database %q displays as %q, want postgres://u@db… without the password", in, s)
		}
	}
	for in, want := range map[string]string{
		"":                       "taskapi.db",
		"sqlite:data/tasks.db":   "data/tasks.db",
		"sqlite:///var/lib/t.db": "/var/lib/t.db",
		"sqlite://rel.db":        "rel.db",
		"SQLITE:x.db":            "x.db",
	} {
		db, err := parseDatabaseURL(in)
		if err != nil || db.Path != want {
			t.Errorf("parseDatabaseURL(%q) = %q, %v; want %q", in, db.Path, err, want)
		}
	}
}

func TestCheckAuth(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    []string
		notWant []string
	}{
		{map[string]string{}, []string{"ISSUER_BASE_URL is not set", "AUDIENCE is not set"}, nil},
		{map[string]string{"AUDIENCE": "task-manager-api"}, []string{"ISSUER_BASE_URL is not set"}, []string{"AUDIENCE"}},
		{map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com"}, []string{"AUDIENCE is not set"}, []string{"ISSUER_BASE_URL"}},
		{map[string]string{"ISSUER_BASE_URL": "t.auth0.com", "AUDIENCE": "a"}, []string{"ISSUER_BASE_URL must be a URL"}, nil},
		{map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com", "AUDIENCE": "a"}, nil, nil},
		{map[string]string{"ISSUER": "https://t/", "JWKS_URI": "https://t/jwks", "AUDIENCE": "a"}, nil, nil},
		{map[string]string{"ISSUER": "https://t/", "AUDIENCE": "a"}, []string{"ISSUER_BASE_URL is not set"}, nil},
	}
	for _, tt := range tests {
		c, err := loadConfig(mapEnv(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		err = c.checkAuth()
		if len(tt.want) == 0 && err != nil {
			t.Errorf("env %v: unexpected error %v", tt.env, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("env %v: err = %v, want %q", tt.env, err, w)
			}
		}
		for _, w := range tt.notWant {
			if err != nil && strings.Contains(err.Error(), w) {
				t.Errorf("env %v: err = %v mentions %q", tt.env, err, w)
			}
		}
	}
}

func TestBearerModesConfig(t *testing.T) {
	key := strings.Repeat("k", 32)
	c, err := loadConfig(mapEnv(map[string]string{
		"ISSUERS": "https://a.example/, https://b.example/tenant", "AUDIENCE": "api",
		"DPOP_REQUIRED": "true", "DPOP_NONCE_KEY": key,
		"MTLS_CERT_HEADER": "X-Client-Cert", "MTLS_REQUIRED": "yes", "TRUSTED_PROXIES": "10.0.0.1",
		"REQUEST_TIMEOUT": "3s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bearer
	if !slices.Equal(b.Issuers.URLs, []string{"https://a.example/", "https://b.example/tenant"}) || b.Issuers.AllowInsecureHTTP ||
		!b.DPoP.Required || b.DPoP.Disabled || b.DPoP.Nonce == nil ||
		b.MTLS.CertificateHeader != "X-Client-Cert" || !b.MTLS.Required || c.RequestTimeout != 3*time.Second {
		t.Errorf("config = %+v", c)
	}
	if err := c.checkAuth(); err != nil {
		t.Errorf("checkAuth with ISSUERS in place of ISSUER_BASE_URL: %v", err)
	}
	if c, err := loadConfig(mapEnv(nil)); err != nil || c.RequestTimeout != 10*time.Second || c.Bearer.DPoP != (bearer.DPoPOptions{}) {
		t.Errorf("defaults: REQUEST_TIMEOUT %v, DPoP %+v (want express-oauth2-jwt-bearer's: enabled, not required), %v", c.RequestTimeout, c.Bearer.DPoP, err)
	}
	if c, err := loadConfig(mapEnv(map[string]string{"ISSUERS": "http://127.0.0.1:5001/", "ISSUERS_ALLOW_HTTP": "true"})); err != nil || !c.Bearer.Issuers.AllowInsecureHTTP {
		t.Errorf("ISSUERS_ALLOW_HTTP=true: %+v, %v", c.Bearer.Issuers, err)
	}

	bad := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ISSUERS": "https://a.example/", "ISSUER_BASE_URL": "https://b.example"}, "ISSUERS and ISSUER_BASE_URL are mutually exclusive"},
		{map[string]string{"ISSUERS": "https://a.example/", "SECRET": "a-32-byte-secret-for-hs256-tests"}, "ISSUERS and SECRET are mutually exclusive"},
		{map[string]string{"ISSUERS": "a.example"}, `ISSUERS: "a.example" is not an issuer URL`},
		{map[string]string{"ISSUERS": "http://a.example/"}, "set ISSUERS_ALLOW_HTTP=true for development"},
		{map[string]string{"ISSUERS_ALLOW_HTTP": "true"}, "ISSUERS_ALLOW_HTTP is set but ISSUERS is not"},
		{map[string]string{"ISSUERS": "https://a.example/", "ISSUERS_ALLOW_HTTP": "maybe"}, `ISSUERS_ALLOW_HTTP="maybe": want true or false`},
		{map[string]string{"DPOP_DISABLED": "true", "DPOP_REQUIRED": "true"}, "DPOP_DISABLED and DPOP_REQUIRED cannot both be true"},
		{map[string]string{"DPOP_REQUIRED": "2"}, `DPOP_REQUIRED="2": want true or false`},
		{map[string]string{"DPOP_NONCE_KEY": "short"}, "DPOP_NONCE_KEY is 5 bytes: want at least 32"},
		{map[string]string{"DPOP_NONCE_KEY": key, "DPOP_DISABLED": "1"}, "DPOP_NONCE_KEY is set but DPOP_DISABLED is true"},
		{map[string]string{"MTLS_REQUIRED": "true"}, "MTLS_REQUIRED is true but neither MTLS_CERT_HEADER nor TLS_CERT_FILE is set"},
		{map[string]string{"MTLS_CERT_HEADER": "X-Client-Cert"}, "MTLS_CERT_HEADER needs TRUSTED_PROXIES"},
		{map[string]string{"MTLS_CERT_HEADER": "X Cert", "TRUSTED_PROXIES": "10.0.0.1"}, `MTLS_CERT_HEADER="X Cert" is not a header name`},
		{map[string]string{"REQUEST_TIMEOUT": "10"}, `REQUEST_TIMEOUT="10": want a duration`},
		{map[string]string{"REQUEST_TIMEOUT": "1h"}, `REQUEST_TIMEOUT="1h": want a duration from 0s to 5m0s`},
	}
	for _, tt := range bad {
		_, err := loadConfig(mapEnv(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v: err = %v, want %q", tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("env %v: the error shows DPOP_NONCE_KEY", tt.env)
		}
	}
}

// TestREADMEListsVariables checks that the tables "Configuration" and
// "Identity providers" of README.md document exactly the variables of the
// table.
func TestREADMEListsVariables(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	documented := map[string]bool{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if (section == "Configuration" || section == "Identity providers") && strings.HasPrefix(line, "| `") {
			for _, m := range name.FindAllStringSubmatch(strings.Split(line, "|")[1], -1) {
				documented[m[1]] = true
			}
		}
	}
	for _, v := range variables {
		if !documented[v.name] {
			t.Errorf("%s is not in README.md's tables", v.name)
		}
		delete(documented, v.name)
		if (v.listedBy("dev") || v.listedBy("decode")) && !v.listedBy("serve") {
			t.Errorf("%s: dev and decode read the variables of serve", v.name)
		}
	}
	for n := range documented {
		t.Errorf("README.md documents %s, which no command reads", n)
	}
}

// TestIssuerAllowHTTP: a plain-http issuer off loopback needs
// ISSUER_ALLOW_HTTP; DISCOVERY_ISSUER reaches the verifier's configuration.
func TestIssuerAllowHTTP(t *testing.T) {
	env := map[string]string{"ISSUER_BASE_URL": "http://devbox.example:8080", "AUDIENCE": "api"}
	c, err := loadConfig(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bearer.AllowInsecureHTTP {
		t.Fatal("AllowInsecureHTTP is on without ISSUER_ALLOW_HTTP")
	}
	if _, err := bearer.New(c.Bearer); err == nil {
		t.Fatal("the verifier accepts a plain-http issuer off loopback")
	}
	env["ISSUER_ALLOW_HTTP"] = "true"
	env["DISCOVERY_ISSUER"] = "https://login.microsoftonline.com/{tenantid}/v2.0"
	if c, err = loadConfig(mapEnv(env)); err != nil || !c.Bearer.AllowInsecureHTTP || c.Bearer.DiscoveryIssuer != env["DISCOVERY_ISSUER"] {
		t.Fatalf("with ISSUER_ALLOW_HTTP and DISCOVERY_ISSUER: %+v, %v", c.Bearer, err)
	}
	env["ISSUER_ALLOW_HTTP"] = "maybe"
	if _, err := loadConfig(mapEnv(env)); err == nil || !strings.Contains(err.Error(), "ISSUER_ALLOW_HTTP") {
		t.Fatalf("ISSUER_ALLOW_HTTP=maybe: %v", err)
	}
}

// TestShortSecretRefused: a SECRET shorter than its algorithm's hash
// (RFC 7518 §3.2) stops serve and decode at start with a message naming
// SECRET and the length it needs, instead of verifying tokens with a weak
// key.
func TestShortSecretRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	short := "too-short-secret"
	claims := jwt.MapClaims{"iss": "https://t.example/", "aud": "api", "sub": "u", "exp": time.Now().Add(time.Hour).Unix()}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(short))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ISSUER": "https://t.example/", "AUDIENCE": "api", "SECRET": short, "TOKEN_SIGNING_ALG": "HS256"}
	r := runCmd(t, env, "decode", token)
	if r.err == nil || !strings.Contains(r.err.Error(), "SECRET is 16 bytes") || !strings.Contains(r.err.Error(), "at least 32") {
		t.Errorf("decode with a 16-byte SECRET: err = %v, want SECRET and its 32 bytes named\n%s", r.err, r.stdout)
	}
	for _, tt := range []struct {
		alg, secret, want string
	}{
		{"HS384", strings.Repeat("s", 47), "SECRET is 47 bytes: TOKEN_SIGNING_ALG=HS384 needs at least 48"},
		{"HS512", strings.Repeat("s", 63), "SECRET is 63 bytes: TOKEN_SIGNING_ALG=HS512 needs at least 64"},
		{"", strings.Repeat("s", 31), "SECRET is 31 bytes: want at least 32"},
	} {
		env["TOKEN_SIGNING_ALG"], env["SECRET"] = tt.alg, tt.secret
		if _, err := loadConfig(mapEnv(env)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q with %d bytes: err = %v, want %q", tt.alg, len(tt.secret), err, tt.want)
		} else if strings.Contains(err.Error(), tt.secret) {
			t.Errorf("the error shows SECRET: %v", err)
		}
	}
	env["TOKEN_SIGNING_ALG"], env["SECRET"] = "HS512", strings.Repeat("s", 64)
	c, err := loadConfig(mapEnv(env))
	if err == nil {
		var v *bearer.Verifier
		if v, err = bearer.New(c.Bearer); err == nil {
			v.Close()
		}
	}
	if err != nil {
		t.Errorf("a 64-byte SECRET with HS512: %v", err)
	}
}
