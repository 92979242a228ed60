package bearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// newStatic returns a Verifier over the test RSA key, DPoP disabled (plain
// challenges), with cfg's changes.
func newStatic(t *testing.T, change func(*Config)) *Verifier {
	t.Helper()
	cfg := staticConfig(t)
	cfg.DPoP.Disabled = true
	if change != nil {
		change(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

type tenantKey struct{}

// Validators get the request's context, say why they refuse, and run on
// every request, a cache hit included.
func TestValidatorsContextAndError(t *testing.T) {
	var revoked atomic.Bool
	v := newStatic(t, func(c *Config) {
		c.Validators = map[string]Validator{
			"org": func(ctx context.Context, value any, c *Claims) error {
				if want, _ := ctx.Value(tenantKey{}).(string); value != want {
					return errors.New(`Tenant "` + want + `" only`)
				}
				return nil
			},
			"jti": func(_ context.Context, value any, _ *Claims) error {
				if revoked.Load() {
					return errors.New("Token revoked")
				}
				return nil
			},
			"plan": func(context.Context, any, *Claims) error {
				return InsufficientScope("Upgrade your plan", []string{"plan:pro"})
			},
		}
	})
	good := rs256(t, with(baseClaims(testIssuer), map[string]any{"org": "acme", "jti": "1"}))
	req := func(tok, tenant string) *http.Request {
		r := bearerReq(tok)
		return r.WithContext(context.WithValue(r.Context(), tenantKey{}, tenant))
	}
	v2 := newStatic(t, func(c *Config) {
		c.Validators = map[string]Validator{"plan": func(context.Context, any, *Claims) error {
			return InsufficientScope("Upgrade your plan", []string{"plan:pro"})
		}, "org": Equals("acme"), "n": Equals(2), "on": Matches(func(v any) bool { return v == true })}
	})
	for _, tc := range []struct {
		name          string
		v             *Verifier
		r             *http.Request
		status        int
		body, chall   string
		revokedBefore bool
	}{
		{"context reaches the validator", v, req(good, "acme"), 403, body("Upgrade your plan", CodeInsufficientScope),
			`Bearer realm="api", error="insufficient_scope", error_description="Upgrade your plan", scope="plan:pro"`, false},
		{"error text reaches the client", v, req(good, "other"), 401, body(`Tenant "other" only`, CodeInvalidToken), challenge(`Tenant 'other' only`), false},
		{"Equals and Matches pass", v2, bearerReq(rs256(t, with(baseClaims(testIssuer), map[string]any{"org": "acme", "n": 2.0, "on": true, "plan": "x"}))), 403,
			body("Upgrade your plan", CodeInsufficientScope), `Bearer realm="api", error="insufficient_scope", error_description="Upgrade your plan", scope="plan:pro"`, false},
		{"Equals refuses with the Node message", v2, bearerReq(rs256(t, with(baseClaims(testIssuer), map[string]any{"org": "evil", "n": 2, "on": true}))), 401,
			body("Unexpected 'org' value", CodeInvalidToken), challenge("Unexpected 'org' value"), false},
		{"Matches refuses", v2, bearerReq(rs256(t, with(baseClaims(testIssuer), map[string]any{"org": "acme", "n": 2, "on": "true"}))), 401,
			body("Unexpected 'on' value", CodeInvalidToken), challenge("Unexpected 'on' value"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkResponse(t, serve(tc.v, tc.r), tc.status, tc.body, tc.chall)
		})
	}

	// On a cache hit too: the same token, revoked after it was cached.
	v3 := newStatic(t, func(c *Config) {
		c.Validators = map[string]Validator{"jti": func(context.Context, any, *Claims) error {
			if revoked.Load() {
				return errors.New("Token revoked")
			}
			return nil
		}}
	})
	tok := rs256(t, with(baseClaims(testIssuer), map[string]any{"jti": "x"}))
	checkResponse(t, serve(v3, bearerReq(tok)), 200, okBody, "-")
	revoked.Store(true)
	checkResponse(t, serve(v3, bearerReq(tok)), 401, body("Token revoked", CodeInvalidToken), challenge("Token revoked"))
	if st := v3.Stats(); st.CacheHits == 0 {
		t.Errorf("second request was not a cache hit: %+v", st)
	}
}

// Options that go together are checked together, each message naming
// both; a nil Validator is refused rather than turning a check off.
func TestConfigMisuse(t *testing.T) {
	ok := func(context.Context, any, *Claims) error { return nil }
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"nil Validator", func(c *Config) { c.Validators = map[string]Validator{"iss": nil} }, `Validators["iss"] is nil`},
		{"negative tolerance", func(c *Config) { c.ClockTolerance = -1 }, "ClockTolerance must not be negative"},
		{"no tolerance and a tolerance", func(c *Config) { c.NoClockTolerance, c.ClockTolerance = true, 1 }, "NoClockTolerance and ClockTolerance"},
		{"negative cache", func(c *Config) { c.TokenCacheSize = -1 }, "TokenCacheSize must not be negative"},
		{"no cache and a size", func(c *Config) { c.NoTokenCache, c.TokenCacheSize = true, 5 }, "NoTokenCache and TokenCacheSize"},
		{"negative stale", func(c *Config) { c.StaleIfError = -1 }, "StaleIfError must not be negative"},
		{"no stale and stale", func(c *Config) { c.NoStaleKeys, c.StaleIfError = true, 1 }, "NoStaleKeys and StaleIfError"},
		{"skip aud and an aud validator", func(c *Config) { c.SkipAudienceCheck, c.Validators = true, map[string]Validator{"aud": ok} }, `SkipAudienceCheck and Validators["aud"]`},
		{"skip iss and an iss validator", func(c *Config) { c.SkipIssuerCheck, c.Validators = true, map[string]Validator{"iss": ok} }, `SkipIssuerCheck and Validators["iss"]`},
		{"no exp and an exp validator", func(c *Config) { c.AllowNoExpiry, c.Validators = true, map[string]Validator{"exp": ok} }, `AllowNoExpiry and Validators["exp"]`},
		{"bad cookie name", func(c *Config) { c.TokenCookie = "a b" }, "TokenCookie must be a cookie name"},
		{"negative replay cache", func(c *Config) { c.DPoP.ReplayCacheSize = -1 }, "ReplayCacheSize must not be negative"},
		{"no replay cache and a size", func(c *Config) { c.DPoP.NoReplayCache, c.DPoP.ReplayCacheSize = true, 3 }, "NoReplayCache and ReplayCacheSize"},
		{"Keys without Issuer", func(c *Config) {
			c.Issuer, c.PublicKey, c.IssuerBaseURL, c.Keys = "", nil, "https://x.example/", mapKeys{}
		}, "Keys needs an Issuer"},
		{"Keys and IssuerBaseURL", func(c *Config) { c.PublicKey, c.IssuerBaseURL, c.Keys = nil, "https://x.example/", mapKeys{} }, "Keys and IssuerBaseURL"},
		{"Keys and Secret", func(c *Config) {
			c.PublicKey, c.Secret, c.TokenSigningAlg, c.Keys = nil, strings.Repeat("s", 32), "HS256", mapKeys{}
		}, "Keys and Secret"},
		{"Keys and PublicKey", func(c *Config) { c.Keys = mapKeys{} }, "Keys and PublicKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := staticConfig(t)
			tc.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
	// The named Skip fields do what they say, and only that.
	noExp := rs256(t, with(baseClaims(testIssuer), map[string]any{"exp": absent}))
	checkResponse(t, serve(newStatic(t, nil), bearerReq(noExp)), 401, body("Unexpected 'exp' value", CodeInvalidToken), challenge("Unexpected 'exp' value"))
	checkResponse(t, serve(newStatic(t, func(c *Config) { c.AllowNoExpiry = true }), bearerReq(noExp)), 200, okBody, "-")
	expired := rs256(t, with(baseClaims(testIssuer), map[string]any{"exp": testNow.Unix() - 60}))
	checkResponse(t, serve(newStatic(t, func(c *Config) { c.AllowNoExpiry = true }), bearerReq(expired)), 401,
		body(`"exp" claim timestamp check failed`, CodeInvalidToken), challenge(`'exp' claim timestamp check failed`))
	otherAud := rs256(t, with(baseClaims(testIssuer), map[string]any{"aud": "https://other/"}))
	checkResponse(t, serve(newStatic(t, func(c *Config) { c.SkipAudienceCheck = true }), bearerReq(otherAud)), 200, okBody, "-")
	checkResponse(t, serve(newStatic(t, nil), bearerReq(otherAud)), 401, body("Unexpected 'aud' value", CodeInvalidToken), challenge("Unexpected 'aud' value"))
}

// Claims.Decode and DecodeClaims read the verified payload into the
// caller's type, as signed.
func TestTypedClaims(t *testing.T) {
	type custom struct {
		Sub    string   `json:"sub"`
		Tenant string   `json:"https://example.com/tenant"`
		Roles  []string `json:"roles"`
		Big    int64    `json:"big"`
	}
	const big = math.MaxInt64 - 1 // not exact as a float64
	tok := rs256(t, with(baseClaims(testIssuer), map[string]any{"https://example.com/tenant": "acme", "roles": []string{"a", "b"}, "big": int64(big)}))
	v := newStatic(t, nil)
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeClaims[custom](c)
	if err != nil || got.Sub != "me" || got.Tenant != "acme" || len(got.Roles) != 2 || got.Big != big {
		t.Fatalf("DecodeClaims = %+v, %v", got, err)
	}
	var again custom
	if err := c.Decode(&again); err != nil || again.Big != big {
		t.Fatalf("Decode = %+v, %v", again, err)
	}
	// A type that does not fit is an error, not a zero value.
	if _, err := DecodeClaims[struct {
		Roles int `json:"roles"`
	}](c); err == nil {
		t.Error("roles into an int: no error")
	}
	// Claims not made by verification decode from Payload.
	n := (Profile{ScopeClaims: []string{"scp"}}).Normalize(&Claims{Payload: map[string]any{"scp": []any{"x"}}})
	if s, err := DecodeClaims[struct {
		Scope string `json:"scope"`
	}](n); err != nil || s.Scope != "x" {
		t.Errorf("normalised claims: %+v %v", s, err)
	}
}

// A cookie and a custom extractor are token sources like the others: one
// method at a time.
func TestTokenSources(t *testing.T) {
	tok := rs256(t, baseClaims(testIssuer))
	cookieV := newStatic(t, func(c *Config) { c.TokenCookie = "at" })
	extract := func(r *http.Request) (string, error) {
		switch h := r.Header.Get("X-Token"); h {
		case "bad":
			return "", errors.New("X-Token must be a JWT")
		case "teapot":
			return "", &Error{Status: 418, Code: "teapot", Message: "no"}
		default:
			return h, nil
		}
	}
	extV := newStatic(t, func(c *Config) { c.TokenExtractor = extract })
	bothV := newStatic(t, func(c *Config) { c.TokenCookie, c.TokenExtractor = "at", extract })
	multiple := body(msgMultipleMethods, CodeInvalidRequest)
	multipleChall := `Bearer realm="api", error="invalid_request", error_description="More than one method used for authentication"`
	get := func(mod func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/tasks", nil)
		mod(r)
		return r
	}
	cookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: tok}) }
	for _, tc := range []struct {
		name   string
		v      *Verifier
		r      *http.Request
		status int
		body   string
		chall  string
	}{
		{"cookie", cookieV, get(cookie), 200, okBody, "-"},
		{"cookie and header", cookieV, get(func(r *http.Request) { cookie(r); r.Header.Set("Authorization", "Bearer "+tok) }), 400, multiple, multipleChall},
		{"cookie and query", cookieV, get(func(r *http.Request) { cookie(r); r.URL.RawQuery = "access_token=" + tok }), 400, multiple, multipleChall},
		{"two cookies", cookieV, get(func(r *http.Request) { cookie(r); cookie(r) }), 400, body(msgManyCookies, CodeInvalidRequest),
			`Bearer realm="api", error="invalid_request", error_description="Only one token cookie is allowed"`},
		{"cookie of another name ignored", cookieV, get(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: tok}) }), 401, body("Unauthorized", "ERR_AUTH"), bareChallenge},
		{"cookie not configured: ignored", extV, get(cookie), 401, body("Unauthorized", "ERR_AUTH"), bareChallenge},
		{"forged cookie token", cookieV, get(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: "x.y.z"}) }), 401,
			body(msgFormatting, CodeInvalidToken), challenge(msgFormatting)},
		{"extractor", extV, get(func(r *http.Request) { r.Header.Set("X-Token", tok) }), 200, okBody, "-"},
		{"extractor and header", extV, get(func(r *http.Request) { r.Header.Set("X-Token", tok); r.Header.Set("Authorization", "Bearer "+tok) }), 400, multiple, multipleChall},
		{"extractor error", extV, get(func(r *http.Request) { r.Header.Set("X-Token", "bad") }), 400, body("X-Token must be a JWT", CodeInvalidRequest),
			`Bearer realm="api", error="invalid_request", error_description="X-Token must be a JWT"`},
		{"extractor *Error", extV, get(func(r *http.Request) { r.Header.Set("X-Token", "teapot") }), 418, body("no", "teapot"), "-"},
		{"cookie and extractor", bothV, get(func(r *http.Request) { cookie(r); r.Header.Set("X-Token", tok) }), 400, multiple, multipleChall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkResponse(t, serve(tc.v, tc.r), tc.status, tc.body, tc.chall)
		})
	}
}

// SkipCORSPreflight lets a preflight, and only a preflight, through.
func TestCORSPreflight(t *testing.T) {
	on := newStatic(t, func(c *Config) { c.SkipCORSPreflight = true })
	off := newStatic(t, nil)
	req := func(method string, h map[string]string) *http.Request {
		r := httptest.NewRequest(method, "/tasks", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	preflight := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"}
	anonymous := `{"anonymous":true}`
	unauthorized := body("Unauthorized", "ERR_AUTH")
	for _, tc := range []struct {
		name   string
		v      *Verifier
		r      *http.Request
		status int
		body   string
	}{
		{"preflight passes without claims", on, req(http.MethodOptions, preflight), 200, anonymous},
		{"off: preflight needs a token", off, req(http.MethodOptions, preflight), 401, unauthorized},
		{"OPTIONS without Access-Control-Request-Method", on, req(http.MethodOptions, map[string]string{"Origin": "https://a.example"}), 401, unauthorized},
		{"OPTIONS without Origin", on, req(http.MethodOptions, map[string]string{"Access-Control-Request-Method": "GET"}), 401, unauthorized},
		{"GET dressed as a preflight", on, req(http.MethodGet, preflight), 401, unauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chall := bareChallenge
			if tc.status == 200 {
				chall = "-"
			}
			checkResponse(t, serve(tc.v, tc.r), tc.status, tc.body, chall)
		})
	}
	// A scope helper behind it still refuses a preflight: the CORS handler
	// must answer it first.
	rec := serve(on, req(http.MethodOptions, preflight), Must(RequiredScopes("x")))
	if rec.Code != 401 {
		t.Errorf("preflight through a scope helper: %d, want 401", rec.Code)
	}
}

// mapKeys is a caller's KeySet: keys by kid, counting the questions.
type mapKeys struct {
	keys  map[string]crypto.PublicKey
	calls *atomic.Int64
	err   error
}

func (m mapKeys) Key(_ context.Context, kid, _ string) (crypto.PublicKey, error) {
	if m.calls != nil {
		m.calls.Add(1)
	}
	if m.err != nil {
		return nil, m.err
	}
	if k, ok := m.keys[kid]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}

// A caller's KeySet supplies the keys; the algorithm rules stay.
func TestCallerKeySet(t *testing.T) {
	testKeys(t)
	calls := new(atomic.Int64)
	keys := mapKeys{keys: map[string]crypto.PublicKey{"kid": &rsaKey.PublicKey, "ec": &ecKey.PublicKey, "hmac": []byte("a-secret-a-secret-a-secret-12345")}, calls: calls}
	mk := func(change func(*Config)) *Verifier {
		return newStatic(t, func(c *Config) {
			c.PublicKey, c.Keys = nil, keys
			if change != nil {
				change(c)
			}
		})
	}
	v := mk(nil)
	claims := baseClaims(testIssuer)
	hs := sign(t, jwt.SigningMethodHS256, []byte("a-secret-a-secret-a-secret-12345"), map[string]any{"kid": "hmac"}, claims)
	rsAsEC := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "ec"}, claims)
	es := sign(t, jwt.SigningMethodES256, ecKey, map[string]any{"kid": "ec"}, claims)
	noKey := challenge(msgNoKey)
	for _, tc := range []struct {
		name   string
		v      *Verifier
		tok    string
		status int
		body   string
		chall  string
		asked  bool // whether the KeySet is asked
	}{
		{"RS256 from the caller's set", v, rs256(t, claims), 200, okBody, "-", true},
		{"ES256 from the caller's set", v, es, 200, okBody, "-", true},
		{"HS256 refused before the set is asked", v, hs, 401, body(`Unsupported algorithm "HS256" for JWKS-based verification. Supported: `+asymmetricList, CodeInvalidToken), challenge(`Unsupported algorithm 'HS256' for JWKS-based verification. Supported: ` + asymmetricList), false},
		{"an RSA token on an EC key: no applicable key", v, rsAsEC, 401, body(msgNoKey, CodeInvalidToken), noKey, true},
		{"unknown kid", v, sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "nope"}, claims), 401, body(msgNoKey, CodeInvalidToken), noKey, true},
		{"TokenSigningAlg pins", mk(func(c *Config) { c.TokenSigningAlg = "RS256" }), es, 401, body("Unexpected 'alg' value", CodeInvalidToken), challenge("Unexpected 'alg' value"), true},
		{"an outage is a 503", mk(func(c *Config) { c.Keys = mapKeys{err: errors.New("kms: connection refused")} }), rs256(t, claims), 503,
			body("Unable to get the signing key", CodeTemporarilyUnavailable), "-", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			checkResponse(t, serve(tc.v, bearerReq(tc.tok)), tc.status, tc.body, tc.chall)
			if asked := calls.Load() > before; asked != tc.asked {
				t.Errorf("KeySet asked: %v, want %v", asked, tc.asked)
			}
		})
	}
	// A cache hit asks again: a key removed from the set stops its tokens.
	rot := mapKeys{keys: map[string]crypto.PublicKey{"kid": &rsaKey.PublicKey}}
	rv := mk(func(c *Config) { c.Keys = rot })
	tok := rs256(t, claims)
	checkResponse(t, serve(rv, bearerReq(tok)), 200, okBody, "-")
	delete(rot.keys, "kid")
	checkResponse(t, serve(rv, bearerReq(tok)), 401, body(msgNoKey, CodeInvalidToken), noKey)

	// A KeySet that answers a nil key inside a non-nil interface (a typed
	// nil) is refused, not a panic, on a miss and on a cache hit.
	typedNil := mapKeys{keys: map[string]crypto.PublicKey{"kid": &rsaKey.PublicKey}}
	nv := mk(func(c *Config) { c.Keys = typedNil })
	checkResponse(t, serve(nv, bearerReq(tok)), 200, okBody, "-")
	typedNil.keys["kid"] = (*rsa.PublicKey)(nil)
	checkResponse(t, serve(nv, bearerReq(tok)), 401, body(msgNoKey, CodeInvalidToken), noKey)
	typedNil.keys["ec"] = (*ecdsa.PublicKey)(nil)
	checkResponse(t, serve(nv, bearerReq(es)), 401, body(msgNoKey, CodeInvalidToken), noKey)

	// NewStaticKeySet reads what PublicKey reads.
	ks, err := NewStaticKeySet(jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")), "")
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, serve(mk(func(c *Config) { c.Keys = ks }), bearerReq(tok)), 200, okBody, "-")
	if _, err := ks.Key(t.Context(), "other", "RS256"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("unknown kid: %v, want ErrKeyNotFound", err)
	}
}

// From a trusted proxy, RFC 7239 Forwarded (before X-Forwarded-*) and
// X-Forwarded-Prefix give the URL a DPoP proof must name.
func TestForwardedHeaders(t *testing.T) {
	v := newStatic(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	const trusted, untrusted = "10.0.0.2:1", "192.0.2.1:1"
	for _, tc := range []struct {
		name, remote string
		h            map[string][]string
		want         string // htu, or the 400 message
	}{
		{"Forwarded host and proto", trusted, map[string][]string{"Forwarded": {`for=192.0.2.60;proto=https;host=api.example.com`}}, "https://api.example.com/tasks"},
		{"quoted host with port", trusted, map[string][]string{"Forwarded": {`Host="api.example.com:8443"; PROTO=https`}}, "https://api.example.com:8443/tasks"},
		{"first element only", trusted, map[string][]string{"Forwarded": {`host=a.example;proto=https, host=b.example`}}, "https://a.example/tasks"},
		{"first field only", trusted, map[string][]string{"Forwarded": {`host=a.example`, `host=b.example`}}, "http://a.example/tasks"},
		{"Forwarded wins over X-Forwarded-Host", trusted, map[string][]string{"Forwarded": {`host=a.example`}, "X-Forwarded-Host": {"b.example"}}, "http://a.example/tasks"},
		{"Forwarded without host keeps Host", trusted, map[string][]string{"Forwarded": {`for=1.2.3.4;proto=https`}}, "https://internal:3000/tasks"},
		{"untrusted peer: ignored", untrusted, map[string][]string{"Forwarded": {`host=evil.example;proto=https`}, "X-Forwarded-Prefix": {"/evil"}}, "http://internal:3000/tasks"},
		{"prefix", trusted, map[string][]string{"Forwarded": {`host=api.example.com;proto=https`}, "X-Forwarded-Prefix": {"/v1/"}}, "https://api.example.com/v1/tasks"},
		{"prefix with X-Forwarded-Host", trusted, map[string][]string{"X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Prefix": {"/api, /other"}}, "http://api.example.com/api/tasks"},
		{"prefix /: none", trusted, map[string][]string{"X-Forwarded-Prefix": {"/"}}, "http://internal:3000/tasks"},
		{"bad element", trusted, map[string][]string{"Forwarded": {`host`}}, msgInvalidForwarded},
		{"unterminated quote", trusted, map[string][]string{"Forwarded": {`host="a.example`}}, msgInvalidForwarded},
		{"repeated parameter", trusted, map[string][]string{"Forwarded": {`host=a.example;host=b.example`}}, msgInvalidForwarded},
		{"junk after a value", trusted, map[string][]string{"Forwarded": {`host=a.example x`}}, msgInvalidForwarded},
		{"host injection", trusted, map[string][]string{"Forwarded": {`host="a.example/evil?"`}}, msgInvalidHost},
		{"bad proto", trusted, map[string][]string{"Forwarded": {`proto=ftp`}}, msgInvalidProto},
		{"relative prefix", trusted, map[string][]string{"X-Forwarded-Prefix": {"v1"}}, msgInvalidPrefix},
		{"prefix //", trusted, map[string][]string{"X-Forwarded-Prefix": {"//evil.example"}}, msgInvalidPrefix},
		{"prefix with a query", trusted, map[string][]string{"X-Forwarded-Prefix": {"/v1?x=1"}}, msgInvalidPrefix},
		{"prefix with a dot segment", trusted, map[string][]string{"X-Forwarded-Prefix": {"/v1/../admin"}}, msgInvalidPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://internal:3000/tasks", nil)
			r.RemoteAddr = tc.remote
			for k, vs := range tc.h {
				r.Header[k] = vs
			}
			o, e := v.requestOrigin(r)
			got := ""
			if e != nil {
				got = e.Message
				if e.Status != 400 || e.Code != CodeInvalidRequest {
					t.Errorf("error %+v, want 400 invalid_request", e)
				}
			} else {
				got = o.htu(r)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// End to end: a proof naming the public URL passes behind the proxy.
	es := esClient(t)
	tok := boundToken(t, es, nil)
	r := httptest.NewRequest(http.MethodGet, "http://internal:3000/tasks", nil)
	r.RemoteAddr = trusted
	r.Header.Set("Forwarded", `host=api.example.com;proto=https`)
	r.Header.Set("X-Forwarded-Prefix", "/v1")
	r.Header.Set("Authorization", "DPoP "+tok)
	r.Header.Set("DPoP", signProof(t, es, nil, with(proofClaims(tok), map[string]any{"htu": "https://api.example.com/v1/tasks"})))
	dv, err := New(with2(staticConfig(t), func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }))
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, serve(dv, r), 200, okBody, "-")
}

// with2 returns cfg changed by fn.
func with2(cfg Config, fn func(*Config)) Config { fn(&cfg); return cfg }

// The Forwarded parser never panics and only reads the first element.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{`host=a;proto=https`, `for="[2001:db8::1]:80";host="x\"y"`, `a=b, c=d`, `;;`, `host="`, `=`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		el, err := firstForwarded([]string{s})
		if err == nil && strings.Count(s, ",") == 0 && el.host != "" && !strings.Contains(s, el.host) && !strings.Contains(s, `\`) {
			t.Fatalf("host %q not from %q", el.host, s)
		}
	})
}

// An issuer of Config.Issuers may have its own caller's KeySet; only that
// issuer's tokens are verified with it, and a Resolve function may not
// return one.
func TestIssuerKeys(t *testing.T) {
	testKeys(t)
	a := mapKeys{keys: map[string]crypto.PublicKey{"kid": &rsaKey.PublicKey}}
	b := mapKeys{keys: map[string]crypto.PublicKey{"kid": &rsaOther.PublicKey}}
	cfg := Config{Audience: []string{testAudience}, Now: fixedNow, DPoP: DPoPOptions{Disabled: true},
		Issuers: IssuersOptions{Configs: []IssuerConfig{
			{Issuer: "https://a.example.com/", Keys: a},
			{Issuer: "https://b.example.com/", Keys: b},
		}}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ok := rs256(t, baseClaims("https://a.example.com/"))
	checkResponse(t, serve(v, bearerReq(ok)), 200, okBody, "-")
	// The same key's token claiming the other issuer: b's keys refuse it.
	forged := rs256(t, baseClaims("https://b.example.com/"))
	checkResponse(t, serve(v, bearerReq(forged)), 401, body(msgSignature, CodeInvalidToken), challenge(msgSignature))

	bad := cfg
	bad.Issuers.Configs = []IssuerConfig{{Issuer: "https://a.example.com/", Keys: a, JWKSURI: "https://a.example.com/jwks"}}
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "provides 'Keys' and another key source") {
		t.Errorf("Keys and JWKSURI: %v", err)
	}
	res := cfg
	res.Issuers = IssuersOptions{Resolve: func(context.Context, IssuerRequest) ([]IssuerConfig, error) {
		return []IssuerConfig{{Issuer: "https://a.example.com/", Keys: a}}, nil
	}}
	rv, err := New(res)
	if err != nil {
		t.Fatal(err)
	}
	if rec := serve(rv, bearerReq(ok)); rec.Code != http.StatusInternalServerError {
		t.Errorf("Resolve returning Keys: %d, want 500 (a configuration error)", rec.Code)
	}
}
