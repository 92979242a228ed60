package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// issuerIdP is a provider whose discovery documents, at any path, announce
// the issuer its function returns (given the server's URL).
type issuerIdP struct {
	*httptest.Server
	issuer    atomic.Pointer[func(base string) string]
	discovery atomic.Int64
}

func newIssuerIdP(t *testing.T, issuer func(base string) string) *issuerIdP {
	t.Helper()
	testKeys(t)
	jwks := jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256"))
	p := &issuerIdP{}
	p.issuer.Store(&issuer)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/jwks.json":
			w.Write(jwks)
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"),
			strings.HasPrefix(r.URL.Path, "/.well-known/oauth-authorization-server"):
			p.discovery.Add(1)
			json.NewEncoder(w).Encode(map[string]any{
				"issuer":   (*p.issuer.Load())(p.URL),
				"jwks_uri": p.URL + "/jwks.json",
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// The discovery document of IssuerBaseURL must announce the issuer that
// URL names, after the normalisation of express-oauth2-jwt-bearer 1.10
// (scheme and host case, default port, one trailing "/"). Otherwise the
// metadata is unusable: Warm and Ready say why, requests get the 503 of
// any other unusable metadata, and no token of the announced issuer passes.
func TestDiscoveryIssuerMismatch(t *testing.T) {
	const evil = "https://evil.example.com/"
	for _, tc := range []struct {
		name   string
		base   func(url string) string // IssuerBaseURL from the server URL
		issuer func(url string) string // what the document announces
	}{
		{"another issuer", func(u string) string { return u }, func(string) string { return evil }},
		{"another path", func(u string) string { return u + "/tenant-a" }, func(u string) string { return u + "/tenant-b" }},
		{"a prefix of the path", func(u string) string { return u + "/tenant" }, func(u string) string { return u }},
		{"another scheme", func(u string) string { return u }, func(u string) string { return strings.Replace(u, "http://", "https://", 1) }},
		{"another port", func(u string) string { return u }, func(u string) string { return u[:strings.LastIndex(u, ":")] + ":1" }},
		{".well-known URL, another issuer", func(u string) string { return u + "/tenant/.well-known/openid-configuration" }, func(u string) string { return u }},
		{"RFC 8414 .well-known URL, another issuer", func(u string) string { return u + "/.well-known/oauth-authorization-server/tenant" }, func(u string) string { return u + "/other" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := newIssuerIdP(t, tc.issuer)
			v, err := New(Config{Audience: []string{testAudience}, IssuerBaseURL: tc.base(idp.URL), Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			var e *Error
			err = v.Warm(context.Background())
			if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "does not match") {
				t.Errorf("Warm = %v, want a 503 *Error saying the issuer does not match", err)
			}
			if err := v.Ready(); err == nil || !strings.Contains(err.Error(), "does not match") {
				t.Errorf("Ready = %v, want an error saying the issuer does not match", err)
			}
			// A token of the issuer the document announces, signed with the
			// key its jwks_uri serves.
			rec := serve(v, bearerReq(rs256(t, baseClaims(tc.issuer(idp.URL)))))
			s, b, c := unavailable("Failed to fetch authorization server metadata")
			checkResponse(t, rec, s, b, c)
			checkRetryAfter(t, rec.Header(), "30")
		})
	}
}

// Documents that announce the same issuer in another spelling are used.
func TestDiscoveryIssuerMatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   func(url string) string
		issuer func(url string) string
	}{
		{"trailing slash added", func(u string) string { return u }, func(u string) string { return u + "/" }},
		{"trailing slash removed", func(u string) string { return u + "/" }, func(u string) string { return u }},
		{"path, trailing slash", func(u string) string { return u + "/tenant/" }, func(u string) string { return u + "/tenant" }},
		{"upper-case scheme and host", func(u string) string { return u }, func(u string) string { return strings.ToUpper(u[:len("http://")]) + u[len("http://"):] + "/" }},
		{"host name case", func(u string) string { return "http://localhost" + u[strings.LastIndex(u, ":"):] }, func(u string) string {
			return "http://LOCALHOST" + u[strings.LastIndex(u, ":"):] + "/"
		}},
		{"base with a query", func(u string) string { return u + "/?tenant=x" }, func(u string) string { return u + "/" }},
		{"OIDC .well-known URL", func(u string) string { return u + "/tenant/.well-known/openid-configuration" }, func(u string) string { return u + "/tenant/" }},
		{"RFC 8414 .well-known URL", func(u string) string { return u + "/.well-known/oauth-authorization-server/tenant" }, func(u string) string { return u + "/tenant" }},
		{"RFC 8414 .well-known URL, root", func(u string) string { return u + "/.well-known/oauth-authorization-server" }, func(u string) string { return u + "/" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := newIssuerIdP(t, tc.issuer)
			v, err := New(Config{Audience: []string{testAudience}, IssuerBaseURL: tc.base(idp.URL), Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if err := v.Warm(context.Background()); err != nil {
				t.Fatalf("Warm: %v", err)
			}
			checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(tc.issuer(idp.URL))))), 200, okBody, "-")
		})
	}
}

// Issuer and DiscoveryIssuer name other issuers the document may announce:
// a discovery URL inside the network for a public issuer, and Entra ID's
// multi-tenant metadata, whose issuer is a template.
func TestDiscoveryIssuerSettings(t *testing.T) {
	const (
		public = "https://auth.example.com/realms/tasks"
		entra  = "https://login.microsoftonline.com/{tenantid}/v2.0"
		tenant = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
	)
	for _, tc := range []struct {
		name      string
		announced string
		mod       func(c *Config)
		iss       string // of the token
		ok        bool
	}{
		{"Issuer announced", public + "/", func(c *Config) { c.Issuer = public }, public, true},
		{"Issuer set, another announced", "https://evil.example.com", func(c *Config) { c.Issuer = public }, public, false},
		{"Entra template without DiscoveryIssuer", entra, func(c *Config) { c.Issuer = tenant }, tenant, false},
		{"Entra template with DiscoveryIssuer", entra, func(c *Config) { c.Issuer, c.DiscoveryIssuer = tenant, entra }, tenant, true},
		{"DiscoveryIssuer set, another announced", "https://evil.example.com", func(c *Config) { c.Issuer, c.DiscoveryIssuer = tenant, entra }, tenant, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := newIssuerIdP(t, func(string) string { return tc.announced })
			cfg := Config{Audience: []string{testAudience}, IssuerBaseURL: idp.URL, Now: fixedNow}
			tc.mod(&cfg)
			v, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			rec := serve(v, bearerReq(rs256(t, baseClaims(tc.iss))))
			if tc.ok {
				checkResponse(t, rec, 200, okBody, "-")
			} else {
				s, b, c := unavailable("Failed to fetch authorization server metadata")
				checkResponse(t, rec, s, b, c)
			}
		})
	}
}

func TestDiscoveryIssuerConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" means New succeeds
	}{
		{"custom .well-known URL", Config{IssuerBaseURL: "https://idp.example.com/.well-known/custom"},
			`'issuerBaseURL' "https://idp.example.com/.well-known/custom" does not say which issuer its metadata describes: set Issuer or DiscoveryIssuer`},
		{"custom .well-known URL with Issuer", Config{IssuerBaseURL: "https://idp.example.com/.well-known/custom", Issuer: "https://idp.example.com/"}, ""},
		{"custom .well-known URL with DiscoveryIssuer", Config{IssuerBaseURL: "https://idp.example.com/.well-known/custom", DiscoveryIssuer: "https://idp.example.com"}, ""},
		{"custom .well-known URL, Issuer not a URL", Config{IssuerBaseURL: "https://idp.example.com/.well-known/custom", Issuer: "my issuer"},
			`'issuerBaseURL' "https://idp.example.com/.well-known/custom" does not say which issuer its metadata describes: set Issuer or DiscoveryIssuer`},
		{"DiscoveryIssuer without IssuerBaseURL", Config{Issuer: testIssuer, JWKSURI: "https://idp.example.com/jwks", DiscoveryIssuer: "https://idp.example.com"},
			"DiscoveryIssuer needs an IssuerBaseURL"},
		{"DiscoveryIssuer not a URL", Config{IssuerBaseURL: "https://idp.example.com", DiscoveryIssuer: "https://idp.example.com/?x=1"},
			`DiscoveryIssuer "https://idp.example.com/?x=1" is not an issuer URL`},
		{"DiscoveryIssuer with Issuers", Config{Issuers: IssuersOptions{URLs: []string{"https://idp.example.com"}}, DiscoveryIssuer: "https://idp.example.com"},
			"DiscoveryIssuer is for single-issuer mode: with Issuers, each issuer's metadata must announce that issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Audience = []string{testAudience}
			v, err := New(tc.cfg)
			if err == nil {
				v.Close()
			}
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Errorf("New error = %v, want %q", err, tc.want)
			}
		})
	}
}
