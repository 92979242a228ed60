package bearer

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The multi-issuer suite mirrors the MCD cases of jwt-verifier.test.ts in
// express-oauth2-jwt-bearer 1.10 against several local providers at once,
// each with its own discovery document, key set, key and hit counters.

// idpHost is one provider of an idpNet, reached under its own host name.
type idpHost struct {
	srv        *httptest.Server
	key        *rsa.PrivateKey
	metaIssuer string // overrides the announced issuer when set
	down       atomic.Bool
	discovery  atomic.Int64
	jwks       atomic.Int64
}

// idpNet is a set of providers under *.example.com names (the names
// httptest's certificate covers), and the client that reaches them: every
// dial to host:port goes to that host's server, whatever the port.
type idpNet struct {
	mu     sync.Mutex
	hosts  map[string]*idpHost
	client *http.Client
}

func newIdPNet(t *testing.T) *idpNet {
	n := &idpNet{hosts: map[string]*idpHost{}}
	// One TLS server only lends its certificate pool to the client.
	probe := httptest.NewTLSServer(http.NotFoundHandler())
	tr := probe.Client().Transport.(*http.Transport).Clone()
	probe.Close()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		h := n.hosts[strings.ToLower(host)]
		n.mu.Unlock()
		if h == nil {
			return nil, errors.New("no such test host " + host)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, h.srv.Listener.Addr().String())
	}
	n.client = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return n
}

// add starts a provider for host (https, or plain http when tls is false)
// signing with key.
func (n *idpNet) add(t *testing.T, host string, key *rsa.PrivateKey, tls bool) *idpHost {
	h := &idpHost{key: key}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		origin := scheme + "://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case strings.HasSuffix(p, "/.well-known/openid-configuration"):
			h.discovery.Add(1)
			iss := origin + strings.TrimSuffix(p, ".well-known/openid-configuration")
			if h.metaIssuer != "" {
				iss = h.metaIssuer
			}
			json.NewEncoder(w).Encode(map[string]any{
				"issuer":                                iss,
				"jwks_uri":                              origin + "/jwks.json",
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		case p == "/jwks.json":
			h.jwks.Add(1)
			w.Write(jwksJSON(t, jwk(&h.key.PublicKey, "kid", "RS256")))
		default:
			http.NotFound(w, r)
		}
	})
	if tls {
		h.srv = httptest.NewTLSServer(handler)
	} else {
		h.srv = httptest.NewServer(handler)
	}
	t.Cleanup(h.srv.Close)
	n.mu.Lock()
	n.hosts[host] = h
	n.mu.Unlock()
	return h
}

// hits returns the total number of requests the providers have served.
func (n *idpNet) hits() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var sum int64
	for _, h := range n.hosts {
		sum += h.discovery.Load() + h.jwks.Load()
	}
	return sum
}

// issuerToken signs a default token of iss with key.
func issuerToken(t testing.TB, key *rsa.PrivateKey, iss string, over map[string]any) string {
	return sign(t, jwt.SigningMethodRS256, key, nil, with(baseClaims(iss), over))
}

func TestIssuersStartupErrors(t *testing.T) {
	urls := IssuersOptions{URLs: []string{"https://tenant1.example.com"}}
	ok := func(o IssuersOptions) func(*Config) { return func(c *Config) { c.Issuers = o } }
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want string // "" means New succeeds
	}{
		{"mcd and issuerBaseURL", func(c *Config) { c.Issuers = urls; c.IssuerBaseURL = "https://tenant1.example.com" }, "You must not provide both 'mcd' and 'issuerBaseURL'"},
		{"mcd without issuers", ok(IssuersOptions{URLs: []string{}}), "Invalid MCD configuration: 'issuers' is required"},
		{"mcd and issuer", func(c *Config) {
			c.Issuers = urls
			c.Issuer, c.JWKSURI = "https://tenant1.example.com", "https://tenant1.example.com/.well-known/jwks.json"
		}, "You must not provide both 'mcd' and 'issuer'. Use 'mcd' for multi-issuer mode."},
		{"mcd and jwksUri", func(c *Config) { c.Issuers = urls; c.JWKSURI = "https://tenant1.example.com/jwks.json" }, "You must not provide both 'mcd' and 'jwksUri'. Use 'mcd' for multi-issuer mode."},
		{"mcd and secret", func(c *Config) { c.Issuers = urls; c.Secret = "my-secret" }, `Cannot use top-level "secret" with mcd mode. Specify secrets per-issuer in the issuer configuration: { issuer: "...", secret: "...", alg: "HS256" }`},
		{"mcd and publicKey", func(c *Config) { c.Issuers = urls; c.PublicKey = []byte("{}") }, `Cannot use top-level "publicKey" with mcd mode. Specify publicKey per-issuer in the issuer configuration: { issuer: "...", publicKey: "..." }`},
		{"mcd and tokenSigningAlg", func(c *Config) { c.Issuers = urls; c.TokenSigningAlg = "RS256" }, "Cannot use top-level 'tokenSigningAlg' with mcd mode. Specify TokenSigningAlg per issuer"},
		{"resolver and list", ok(IssuersOptions{URLs: urls.URLs, Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) { return nil, nil }}), "Issuers: Resolve excludes URLs and Configs"},
		{"symmetric alg without secret", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", TokenSigningAlg: "HS256"}}}),
			"Configuration error: Issuer 'https://tenant1.example.com/' specifies symmetric algorithm 'HS256' but no secret provided. Either provide a secret or use an asymmetric algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA)."},
		{"secret with asymmetric alg", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", TokenSigningAlg: "RS256", Secret: "s"}}}),
			"Configuration error: Issuer 'https://tenant1.example.com/' provides a secret but specifies asymmetric algorithm 'RS256'. Symmetric algorithms are: HS256, HS384, HS512."},
		{"secret without alg", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", Secret: "s"}}}),
			"Configuration error: Issuer 'https://tenant1.example.com/' provides a secret but no 'alg' specified. Specify one of: HS256, HS384, HS512."},
		{"publicKey and jwksUri", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", PublicKey: []byte("{}"), JWKSURI: "https://tenant1.example.com/jwks.json"}}}),
			"Configuration error: Issuer 'https://tenant1.example.com/' provides both 'publicKey' and 'jwksUri'. These are mutually exclusive."},
		{"publicKey and secret", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", PublicKey: []byte("{}"), Secret: "s", TokenSigningAlg: "HS256"}}}),
			"Configuration error: Issuer 'https://tenant1.example.com/' provides both 'publicKey' and 'secret'. Use 'publicKey' for asymmetric and 'secret' for symmetric verification."},
		{"userinfo", ok(IssuersOptions{URLs: []string{"https://user:pass@tenant1.example.com/"}}), "Invalid issuer URL: URLs must not contain userinfo (username:password)"},
		{"query", ok(IssuersOptions{URLs: []string{"https://tenant1.example.com/?debug=true&env=test"}}), "Invalid issuer URL: URLs must not contain query parameters"},
		{"fragment", ok(IssuersOptions{URLs: []string{"https://tenant1.example.com/#section"}}), "Invalid issuer URL: URLs must not contain fragments"},
		{"several problems: userinfo first", ok(IssuersOptions{URLs: []string{"https://user:pass@tenant1.example.com/?debug=true#section"}}), "Invalid issuer URL: URLs must not contain userinfo (username:password)"},
		{"http refused", ok(IssuersOptions{URLs: []string{"http://tenant1.example.com:8080/"}}), "HTTP issuer URL detected. Use HTTPS for security (AllowInsecureHTTP allows it for development)."},
		{"http jwksUri refused", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", JWKSURI: "http://tenant1.example.com/jwks.json"}}}), "HTTP issuer URL detected"},
		{"http allowed for development", ok(IssuersOptions{URLs: []string{"http://tenant1.example.com:8080/"}, AllowInsecureHTTP: true}), ""},
		{"same issuer twice after normalisation", ok(IssuersOptions{URLs: []string{"https://tenant1.example.com", "https://TENANT1.example.com:443/"}}), "is configured more than once"},
		{"unsupported per-issuer alg", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", TokenSigningAlg: "none"}}}), "specifies unsupported algorithm 'none'"},
		{"bad per-issuer PEM", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", PublicKey: []byte("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"), TokenSigningAlg: "RS256"}}}), "'publicKey' cannot be parsed"},
		{"string-only issuers", ok(urls), ""},
		{"symmetric issuer", ok(IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant1.example.com/", Secret: "a-32-byte-secret-for-hs256-tests", TokenSigningAlg: "HS256"}}}), ""},
		{"resolver is not called at startup", ok(IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
			panic("called at startup")
		}}), ""},
		{"audience still required", func(c *Config) { c.Issuers = urls; c.Audience = nil }, "An 'audience' is required to validate the 'aud' claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Audience: []string{testAudience}}
			tc.cfg(&cfg)
			v, err := New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				v.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeIssuer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://tenant1.example.com/", "https://tenant1.example.com"},
		{"https://TENANT1.EXAMPLE.COM:443/", "https://tenant1.example.com"},
		{"HTTPS://Tenant1.Example.com", "https://tenant1.example.com"},
		{"https://tenant1.example.com:8443/", "https://tenant1.example.com:8443"},
		{"https://tenant1.example.com:08443", "https://tenant1.example.com:8443"},
		{"http://tenant1.example.com:80/", "http://tenant1.example.com"},
		{"http://tenant1.example.com:8080/", "http://tenant1.example.com:8080"},
		{"https://tenant1.example.com/auth/tenant1/", "https://tenant1.example.com/auth/tenant1"},
		{"https://tenant1.example.com/Auth/", "https://tenant1.example.com/Auth"},
		{"tenant1.example.com", "https://tenant1.example.com"},
		{"tenant1.example.com/", "https://tenant1.example.com"},
		{"https://[::1]:443/", "https://[::1]"},
		{"https://tenant1.example.com/?", "https://tenant1.example.com"},
		{":::invalid:::url:::", ""},
		{"https://", ""},
		{"https://tenant1.example.com:99999/", ""},
	} {
		got, err := normalizeIssuer(tc.in, true)
		if tc.want == "" {
			if err == nil {
				t.Errorf("normalizeIssuer(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeIssuer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// multiSetup starts four providers: tenant1 and tenant2 (discovery),
// tenant3 on port 8443 and plain.example.com over http.
type multiSetup struct {
	net                    *idpNet
	t1, t2, t3, t4, plain  *idpHost
	k1, k2, k3, k4, kPlain *rsa.PrivateKey
}

func newMultiSetup(t *testing.T) *multiSetup {
	testKeys(t)
	s := &multiSetup{net: newIdPNet(t), k1: rsaKey, k2: rsaKey2, k3: rsaOther, k4: rsaKey, kPlain: rsaKey2}
	s.t1 = s.net.add(t, "tenant1.example.com", s.k1, true)
	s.t2 = s.net.add(t, "tenant2.example.com", s.k2, true)
	s.t3 = s.net.add(t, "tenant3.example.com", s.k3, true)
	s.t4 = s.net.add(t, "tenant4.example.com", s.k4, true)
	s.plain = s.net.add(t, "plain.example.com", s.kPlain, false)
	return s
}

func (s *multiSetup) config(o IssuersOptions) Config {
	return Config{Audience: []string{testAudience}, Issuers: o, HTTPClient: s.net.client, Now: fixedNow}
}

func TestIssuersVerify(t *testing.T) {
	s := newMultiSetup(t)
	testKeys(t)
	hsToken := func(t testing.TB, iss, secret string) string {
		return sign(t, jwt.SigningMethodHS256, []byte(secret), nil, baseClaims(iss))
	}
	staticKey := jwksJSON(t, jwk(&rsaOther.PublicKey, "kid", "RS256"))
	std := IssuersOptions{
		URLs: []string{"https://tenant1.example.com/", "https://tenant2.example.com", "https://tenant3.example.com:8443"},
		Configs: []IssuerConfig{
			{Issuer: "https://tenant4.example.com/auth/tenant4"},
			{Issuer: "https://symmetric.example.com/", Secret: "my-secret-of-32-bytes-for-hs256!", TokenSigningAlg: "HS256"},
			{Issuer: "https://static.example.com/", PublicKey: staticKey},
			{Issuer: "https://jwks-only.example.com/", JWKSURI: "https://tenant1.example.com/jwks.json"},
			{Issuer: "https://pem.example.com/", PublicKey: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey2.PublicKey))}), TokenSigningAlg: "RS256"},
			{Issuer: "https://jwk.example.com/", PublicKey: mustJSON(t, jwk(&rsaKey2.PublicKey, "kid", "RS256"))},
		},
	}
	const jwksMsg = `Unsupported algorithm "%s" for JWKS-based verification. Supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA`
	for _, tc := range []struct {
		name  string
		opts  *IssuersOptions // default std
		token func(t testing.TB) string
		want  string // "" means valid
		// fetches are the requests the providers must have served
		// (discovery + JWKS, all providers together).
		fetches int64
	}{
		{"static issuer (first URL)", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://tenant1.example.com/", nil) }, "", 2},
		{"static issuer (second URL, no trailing slash configured)", nil, func(t testing.TB) string { return issuerToken(t, s.k2, "https://tenant2.example.com/", nil) }, "", 2},
		{"issuer not allowed", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://unauthorized.example.com/", nil) }, msgIssuerNotAllowed, 0},
		{"missing iss", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "", map[string]any{"iss": absent}) }, msgMissingIss, 0},
		{"empty iss", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "", nil) }, msgMissingIss, 0},
		{"iss not a string", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "", map[string]any{"iss": 42}) }, msgIssuerNotAllowed, 0},
		{"normalised: case and default port", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://TENANT1.EXAMPLE.COM:443/", nil) }, "", 2},
		{"normalised: no scheme", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "tenant1.example.com", nil) }, "", 2},
		{"non-default https port", nil, func(t testing.TB) string { return issuerToken(t, s.k3, "https://tenant3.example.com:8443/", nil) }, "", 2},
		{"other port is another issuer", nil, func(t testing.TB) string { return issuerToken(t, s.k3, "https://tenant3.example.com:9443/", nil) }, msgIssuerNotAllowed, 0},
		{"issuer with a path", nil, func(t testing.TB) string {
			return issuerToken(t, s.k4, "https://tenant4.example.com/auth/tenant4/", nil)
		}, "", 2},
		{"another path is another issuer", nil, func(t testing.TB) string { return issuerToken(t, s.k4, "https://tenant4.example.com/auth/other/", nil) }, msgIssuerNotAllowed, 0},
		{"symmetric issuer", nil, func(t testing.TB) string {
			return hsToken(t, "https://symmetric.example.com/", "my-secret-of-32-bytes-for-hs256!")
		}, "", 0},
		{"symmetric issuer, wrong secret", nil, func(t testing.TB) string { return hsToken(t, "https://symmetric.example.com/", "other") }, msgSignature, 0},
		{"static public key issuer", nil, func(t testing.TB) string { return issuerToken(t, rsaOther, "https://static.example.com/", nil) }, "", 0},
		{"per-issuer PEM public key", nil, func(t testing.TB) string { return issuerToken(t, rsaKey2, "https://pem.example.com/", nil) }, "", 0},
		{"per-issuer JWK public key", nil, func(t testing.TB) string { return issuerToken(t, rsaKey2, "https://jwk.example.com/", nil) }, "", 0},
		{"another issuer's static key", nil, func(t testing.TB) string { return issuerToken(t, rsaKey2, "https://static.example.com/", nil) }, msgSignature, 0},
		{"jwksUri issuer: no discovery", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://jwks-only.example.com/", nil) }, "", 1},
		{"alg none rejected before any fetch", nil, func(t testing.TB) string {
			return rawToken([]byte(`{"alg":"none","typ":"JWT"}`), mustJSON(t, baseClaims("https://tenant1.example.com/")), nil)
		}, strings.ReplaceAll(jwksMsg, "%s", "none"), 0},
		{"HS256 token for an asymmetric issuer", nil, func(t testing.TB) string { return hsToken(t, "https://tenant1.example.com/", "my-secret-key") },
			strings.ReplaceAll(jwksMsg, "%s", "HS256"), 0},
		{"RS256 token for a symmetric issuer", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://symmetric.example.com/", nil) },
			`Unsupported algorithm "RS256" for secret-based verification. Supported: HS256, HS384, HS512`, 0},
		{"missing alg", nil, func(t testing.TB) string {
			return rawToken([]byte(`{"typ":"JWT"}`), mustJSON(t, baseClaims("https://tenant1.example.com/")), []byte("fake-signature"))
		}, msgAlgMissing, 0},
		{"malformed header", nil, func(t testing.TB) string { return "!!!notbase64!!!.payload.signature" }, msgFormatting, 0},
		{"token iss over http", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "http://tenant1.example.com/", nil) }, msgIssuerHTTP, 0},
		{"token iss with userinfo", nil, func(t testing.TB) string { return issuerToken(t, s.k1, "https://user:pw@tenant1.example.com/", nil) }, msgIssuerUserinfo, 0},
		{"token signed by another issuer's key", nil, func(t testing.TB) string { return issuerToken(t, s.k2, "https://tenant1.example.com/", nil) }, msgSignature, 2},
		{"other claims still checked", nil, func(t testing.TB) string {
			return issuerToken(t, s.k1, "https://tenant1.example.com/", map[string]any{"aud": "https://other/"})
		}, "Unexpected 'aud' value", 2},
		{"http issuer allowed for development", &IssuersOptions{URLs: []string{"http://plain.example.com:8080/"}, AllowInsecureHTTP: true},
			func(t testing.TB) string { return issuerToken(t, s.kPlain, "http://plain.example.com:8080/", nil) }, "", 2},
		{"mixed string and config", &IssuersOptions{URLs: []string{"https://tenant1.example.com/"}, Configs: []IssuerConfig{{Issuer: "https://tenant2.example.com/", TokenSigningAlg: "RS256"}}},
			func(t testing.TB) string { return issuerToken(t, s.k2, "https://tenant2.example.com/", nil) }, "", 2},
		{"pinned alg per issuer", &IssuersOptions{Configs: []IssuerConfig{{Issuer: "https://tenant2.example.com/", TokenSigningAlg: "PS256"}}},
			func(t testing.TB) string { return issuerToken(t, s.k2, "https://tenant2.example.com/", nil) }, msgUnexpectedAlg, 2}, // a claim check, after the signature, as in the Node library
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := std
			if tc.opts != nil {
				opts = *tc.opts
			}
			v, err := New(s.config(opts))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			before := s.net.hits()
			_, err = v.Verify(context.Background(), tc.token(t))
			checkVerify(t, err, tc.want)
			if got := s.net.hits() - before; got != tc.fetches {
				t.Errorf("provider requests = %d, want %d", got, tc.fetches)
			}
		})
	}
}

// checkVerify asserts that err is nil (want "") or a 401 invalid_token
// with message want.
func checkVerify(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify error = %v, want *Error %q", err, want)
	}
	if e.Status != http.StatusUnauthorized || e.Code != CodeInvalidToken || e.Message != want {
		t.Fatalf("Verify error = %d %s %q, want 401 invalid_token %q", e.Status, e.Code, e.Message, want)
	}
}

func TestIssuersDiscoveryIssuerMismatch(t *testing.T) {
	s := newMultiSetup(t)
	s.t1.metaIssuer = "https://evil.example.com/"
	v, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant1.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Verify(context.Background(), issuerToken(t, s.k1, "https://tenant1.example.com/", nil))
	checkVerify(t, err, msgMetadataIssuer)
	// A trailing-slash difference is not a mismatch.
	s.t2.metaIssuer = "https://tenant2.example.com"
	v2, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant2.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	_, err = v2.Verify(context.Background(), issuerToken(t, s.k2, "https://tenant2.example.com/", nil))
	checkVerify(t, err, "")
}

// An issuer's outage concerns its own tokens only: each issuer has its own
// key set cache.
func TestIssuersIndependentCaches(t *testing.T) {
	s := newMultiSetup(t)
	v, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant1.example.com/", "https://tenant2.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	tok1 := issuerToken(t, s.k1, "https://tenant1.example.com/", nil)
	tok2 := issuerToken(t, s.k2, "https://tenant2.example.com/", nil)
	s.t1.down.Store(true)
	_, err = v.Verify(ctx, tok1)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != CodeTemporarilyUnavailable ||
		e.Message != "Failed to fetch authorization server metadata" {
		t.Fatalf("tenant1 down: Verify error = %#v, want 503 temporarily_unavailable", err)
	}
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("tenant2 while tenant1 is down: %v", err)
	}
	if s.t2.discovery.Load() != 1 || s.t2.jwks.Load() != 1 {
		t.Errorf("tenant2 requests = %d discovery, %d JWKS; want 1, 1", s.t2.discovery.Load(), s.t2.jwks.Load())
	}
	// Through the middleware: 503 with Retry-After for tenant1, 200 for
	// tenant2.
	rec := serve(v, bearerReq(tok1))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" {
		t.Errorf("tenant1 answer = %d Retry-After %q, want 503 and 30", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve(v, bearerReq(tok2)); rec.Code != http.StatusOK {
		t.Errorf("tenant2 answer = %d %s, want 200", rec.Code, rec.Body)
	}
}

// Warm fetches every static issuer's metadata and keys; Close stops them.
func TestIssuersWarm(t *testing.T) {
	s := newMultiSetup(t)
	v, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant1.example.com/", "https://tenant2.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*idpHost{"tenant1": s.t1, "tenant2": s.t2} {
		if h.discovery.Load() != 1 || h.jwks.Load() != 1 {
			t.Errorf("%s requests after Warm = %d, %d; want 1, 1", name, h.discovery.Load(), h.jwks.Load())
		}
	}
	s.t2.down.Store(true)
	v.Close()
	v2, _ := New(s.config(IssuersOptions{URLs: []string{"https://tenant2.example.com/"}}))
	defer v2.Close()
	if err := v2.Warm(context.Background()); err == nil || !strings.Contains(err.Error(), "https://tenant2.example.com") {
		t.Errorf("Warm with tenant2 down = %v, want an error naming it", err)
	}
}

func TestIssuersResolver(t *testing.T) {
	s := newMultiSetup(t)
	ctx := context.Background()
	tok1 := issuerToken(t, s.k1, "https://tenant1.example.com/", nil)
	tok2 := issuerToken(t, s.k2, "https://tenant2.example.com/", nil)
	t.Run("static answer", func(t *testing.T) {
		var got IssuerRequest
		v, err := New(s.config(IssuersOptions{Resolve: func(_ context.Context, r IssuerRequest) ([]IssuerConfig, error) {
			got = r
			return IssuerURLs("https://tenant1.example.com/"), nil
		}}))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		_, err = v.Verify(ctx, issuerToken(t, s.k1, "https://TENANT1.example.com/", nil))
		checkVerify(t, err, "")
		if got.Issuer != "https://TENANT1.example.com/" || got.Normalized != "https://tenant1.example.com" || got.Request != nil {
			t.Errorf("resolver got %+v", got)
		}
		_, err = v.Verify(ctx, tok2)
		checkVerify(t, err, msgIssuerNotAllowed)
	})
	t.Run("resolver failures", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			answer  []IssuerConfig
			err     error
			status  int
			message string
		}{
			{"empty list", []IssuerConfig{}, nil, 401, msgNoIssuers},
			{"unusable issuer matches nothing", IssuerURLs(":::invalid:::url:::"), nil, 401, msgIssuerNotAllowed},
			{"http issuer matches nothing", IssuerURLs("http://tenant1.example.com/"), nil, 401, msgIssuerNotAllowed},
			{"symmetric alg without secret", []IssuerConfig{{Issuer: "https://tenant1.example.com/", TokenSigningAlg: "HS256"}}, nil, 401,
				"Issuer specifies symmetric algorithm 'HS256' but no secret provided. Either provide a secret or use an asymmetric algorithm (" + asymmetricList + ")."},
			{"secret with asymmetric alg", []IssuerConfig{{Issuer: "https://tenant1.example.com/", TokenSigningAlg: "RS256", Secret: "s"}}, nil, 401,
				"Issuer provides a secret but specifies asymmetric algorithm 'RS256'. Symmetric algorithms are: HS256, HS384, HS512."},
			{"secret without alg", []IssuerConfig{{Issuer: "https://tenant1.example.com/", Secret: "s"}}, nil, 401,
				"Issuer provides a secret but no 'alg' specified. Specify one of: HS256, HS384, HS512."},
			{"publicKey and secret", []IssuerConfig{{Issuer: "https://tenant1.example.com/", PublicKey: []byte("{}"), Secret: "s", TokenSigningAlg: "HS256"}}, nil, 401,
				"Issuer provides both 'publicKey' and 'secret'. Use 'publicKey' for asymmetric and 'secret' for symmetric verification."},
			{"resolver error", nil, errors.New("database is down"), 503, msgResolverFailed},
			{"resolver *Error", nil, &Error{Status: 403, Code: "tenant_suspended", Message: "Tenant suspended"}, 403, "Tenant suspended"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v, err := New(s.config(IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
					return tc.answer, tc.err
				}}))
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				before := s.net.hits()
				_, err = v.Verify(ctx, tok1)
				var e *Error
				if !errors.As(err, &e) || e.Status != tc.status || e.Message != tc.message {
					t.Fatalf("Verify error = %#v, want %d %q", err, tc.status, tc.message)
				}
				if tc.err != nil && tc.status == 503 && !errors.Is(err, tc.err) {
					t.Errorf("the resolver's error is not kept as the cause")
				}
				if s.net.hits() != before {
					t.Errorf("providers were asked for keys")
				}
			})
		}
	})
	t.Run("per request, through the middleware", func(t *testing.T) {
		// The accepted issuer depends on the Host: tenant1's token is
		// accepted on a.api and refused on b.api, also once cached.
		v, err := New(s.config(IssuersOptions{Resolve: func(_ context.Context, r IssuerRequest) ([]IssuerConfig, error) {
			if r.Request == nil {
				return nil, errors.New("no request")
			}
			if r.Request.Host == "a.api" {
				return IssuerURLs("https://tenant1.example.com/"), nil
			}
			return IssuerURLs("https://tenant2.example.com/"), nil
		}}))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		before := s.t1.jwks.Load() + s.t1.discovery.Load()
		on := func(host, token string) *http.Request {
			r := bearerReq(token)
			r.Host = host
			return r
		}
		for i, tc := range []struct {
			host, token string
			status      int
		}{
			{"a.api", tok1, 200},
			{"a.api", tok1, 200}, // cached
			{"b.api", tok1, 401}, // not served from the cache
			{"b.api", tok2, 200},
			{"a.api", tok2, 401},
		} {
			rec := serve(v, on(tc.host, tc.token))
			if rec.Code != tc.status {
				t.Errorf("request %d (%s): status %d, want %d (%s)", i, tc.host, rec.Code, tc.status, rec.Body)
			}
			if tc.status == 401 && !strings.Contains(rec.Body.String(), msgIssuerNotAllowed) {
				t.Errorf("request %d: body %s, want %q", i, rec.Body, msgIssuerNotAllowed)
			}
		}
		if got := s.t1.jwks.Load() + s.t1.discovery.Load() - before; got != 2 {
			t.Errorf("tenant1 requests = %d, want 2 (one discovery, one JWKS)", got)
		}
	})
	t.Run("bounded number of key sets", func(t *testing.T) {
		s := newMultiSetup(t)
		v, err := New(s.config(IssuersOptions{MaxResolved: 2, Resolve: func(_ context.Context, r IssuerRequest) ([]IssuerConfig, error) {
			return IssuerURLs(r.Normalized), nil // every issuer the token names
		}}))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		toks := map[string]string{
			"t1": issuerToken(t, s.k1, "https://tenant1.example.com/", nil),
			"t2": issuerToken(t, s.k2, "https://tenant2.example.com/", nil),
			"t3": issuerToken(t, s.k3, "https://tenant3.example.com/", nil),
		}
		for _, name := range []string{"t1", "t2", "t1", "t3"} {
			if _, err := v.Verify(ctx, toks[name]); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if n := v.issuers.resolvedLen(); n != 2 {
			t.Errorf("resolved issuers kept = %d, want 2", n)
		}
		// t2 was the least recently used: it was dropped with its key
		// set and its cached token, so it is fetched again.
		if _, err := v.Verify(ctx, toks["t2"]); err != nil {
			t.Fatal(err)
		}
		if got := s.t2.jwks.Load(); got != 2 {
			t.Errorf("tenant2 JWKS fetches = %d, want 2 (refetched after eviction)", got)
		}
		if got := s.t1.jwks.Load(); got != 1 {
			t.Errorf("tenant1 JWKS fetches = %d, want 1 (kept)", got)
		}
	})
	t.Run("closed verifier", func(t *testing.T) {
		v, err := New(s.config(IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
			return IssuerURLs("https://tenant3.example.com/"), nil
		}}))
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		_, err = v.Verify(ctx, issuerToken(t, s.k3, "https://tenant3.example.com/", nil))
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
			t.Fatalf("Verify after Close = %v, want 503", err)
		}
	})
}

// A cached token is served only while its issuer's key is in that
// issuer's key set.
func TestIssuersTokenCache(t *testing.T) {
	s := newMultiSetup(t)
	v, err := New(s.config(IssuersOptions{URLs: []string{"https://tenant1.example.com/", "https://tenant2.example.com/"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	tok1 := issuerToken(t, s.k1, "https://tenant1.example.com/", nil)
	c1, err := v.Verify(ctx, tok1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Verify(ctx, tok1)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("second Verify of the same token was not a cache hit")
	}
	if v.cache.len() != 1 {
		t.Errorf("cache holds %d tokens, want 1", v.cache.len())
	}
}

// issuersBenchVerifier accepts auth0Token's issuer among three static
// issuers, or through a Resolve function.
func issuersBenchVerifier(b *testing.B, resolve bool, cacheSize int) *Verifier {
	key := jwksJSON(b, jwk(&rsaKey.PublicKey, "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2", "RS256"))
	configs := []IssuerConfig{
		{Issuer: "https://tenant1.example.com/", PublicKey: key},
		{Issuer: "https://tenant2.example.com/", PublicKey: key},
		{Issuer: auth0Issuer, PublicKey: key},
	}
	o := IssuersOptions{Configs: configs}
	if resolve {
		o = IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) { return configs, nil }}
	}
	v, err := New(Config{Audience: []string{"task-manager-api"}, Issuers: o, Now: fixedNow, TokenCacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

// Compare with BenchmarkVerifyNoCache and BenchmarkVerifyCacheHit: the
// multi-issuer cost is the unverified decoding of the token and the
// issuer match (and in Resolve mode, the resolver call and a keyed hash).
func BenchmarkVerifyIssuers(b *testing.B) {
	tok := auth0Token(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name      string
		resolve   bool
		cacheSize int
	}{
		{"StaticNoCache", false, -1},
		{"StaticCacheHit", false, 0},
		{"ResolveNoCache", true, -1},
		{"ResolveCacheHit", true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := issuersBenchVerifier(b, bc.resolve, bc.cacheSize)
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Concurrent requests for more issuers than MaxResolved: evictions race
// with verifications (run with -race). A request whose issuer is evicted
// while it fetches may get a 503; nothing else may fail.
func TestIssuersResolverConcurrentEviction(t *testing.T) {
	s := newMultiSetup(t)
	v, err := New(s.config(IssuersOptions{MaxResolved: 1, Resolve: func(_ context.Context, r IssuerRequest) ([]IssuerConfig, error) {
		return IssuerURLs(r.Normalized), nil
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	toks := []string{
		issuerToken(t, s.k1, "https://tenant1.example.com/", nil),
		issuerToken(t, s.k2, "https://tenant2.example.com/", nil),
		issuerToken(t, s.k3, "https://tenant3.example.com/", nil),
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				_, err := v.Verify(context.Background(), toks[(g+i)%len(toks)])
				var e *Error
				if err != nil && (!errors.As(err, &e) || e.Status != http.StatusServiceUnavailable) {
					t.Errorf("Verify: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if n := v.issuers.resolvedLen(); n > 1 {
		t.Errorf("resolved issuers kept = %d, want at most 1", n)
	}
}

// Normalisation never panics, and what it returns is a bare https or http
// origin with a path: lower-case scheme and host, no userinfo, query or
// fragment, no default port. (One trailing "/" is removed, as
// express-oauth2-jwt-bearer 1.10 does: a path ending in "//" keeps one.)
func FuzzNormalizeIssuer(f *testing.F) {
	for _, s := range []string{"https://TENANT1.EXAMPLE.COM:443/", "tenant1.example.com", "http://h:80/a/", "https://[::1]:8443/x", "https://u:p@h/?q#f", ":::", "https://h:0443", "0//#", "h//?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := normalizeIssuer(raw, true)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil {
			t.Fatalf("normalizeIssuer(%q) = %q, which does not parse: %v", raw, out, perr)
		}
		// The path ends where an (empty) query or fragment begins: "h//#"
		// has the path "//", which keeps one "/".
		rawPath := raw
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			rawPath = raw[:i]
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			u.Host != strings.ToLower(u.Host) || (strings.HasSuffix(out, "/") && !strings.HasSuffix(rawPath, "//")) ||
			(u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
			t.Fatalf("normalizeIssuer(%q) = %q", raw, out)
		}
	})
}
