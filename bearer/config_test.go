package bearer

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

func TestNewStartupErrors(t *testing.T) {
	testKeys(t)
	aud := []string{testAudience}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&ecKey.PublicKey))})
	oct := mustJSON(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k"})
	private := mustJSON(t, jose.JSONWebKey{Key: rsaKey, KeyID: "k"})
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{Audience: aud}, msgNeedSource},
		{"issuer alone", Config{Audience: aud, Issuer: testIssuer}, msgNeedSource},
		{"jwksUri alone", Config{Audience: aud, JWKSURI: "https://x/jwks"}, msgNeedSource},
		{"no audience", Config{IssuerBaseURL: "https://x/"}, "An 'audience' is required to validate the 'aud' claim"},
		{"empty audience", Config{IssuerBaseURL: "https://x/", Audience: []string{""}}, "An 'audience' is required to validate the 'aud' claim"},
		{"secret and jwksUri", Config{Audience: aud, Issuer: testIssuer, Secret: "s", JWKSURI: "https://x/j"}, "You must not provide both a 'secret' and 'jwksUri'"},
		{"secret without alg", Config{Audience: aud, Issuer: testIssuer, Secret: "s"}, "You must provide a 'tokenSigningAlg' for validating symmetric algorithms"},
		{"secret with RS256", Config{Audience: aud, Issuer: testIssuer, Secret: "s", TokenSigningAlg: "RS256"}, "You must supply one of HS256, HS384, HS512 for 'tokenSigningAlg' to validate symmetrically signed tokens"},
		{"asymmetric HS256", Config{Audience: aud, IssuerBaseURL: "https://x/", TokenSigningAlg: "HS256"}, "You must supply one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA for 'tokenSigningAlg' to validate asymmetrically signed tokens"},
		{"ES256X", Config{Audience: aud, IssuerBaseURL: "https://x/", TokenSigningAlg: "ES256X"}, "You must supply one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA for 'tokenSigningAlg' to validate asymmetrically signed tokens"},
		{"publicKey and issuerBaseURL", Config{Audience: aud, IssuerBaseURL: "https://x/", PublicKey: pemKey}, "You must not provide both a 'publicKey' and 'issuerBaseURL'"},
		{"publicKey and jwksUri", Config{Audience: aud, Issuer: testIssuer, JWKSURI: "https://x/j", PublicKey: pemKey}, "You must not provide both a 'publicKey' and 'jwksUri'"},
		{"publicKey and secret", Config{Audience: aud, Issuer: testIssuer, Secret: "s", TokenSigningAlg: "HS256", PublicKey: pemKey}, "You must not provide both a 'publicKey' and 'secret'"},
		{"PEM without alg", Config{Audience: aud, Issuer: testIssuer, PublicKey: pemKey}, "You must provide a 'tokenSigningAlg' with a PEM 'publicKey'"},
		{"PEM of the wrong type", Config{Audience: aud, Issuer: testIssuer, PublicKey: ecPEM, TokenSigningAlg: "RS256"}, "'publicKey' cannot verify RS256 signatures (wrong key type, curve or size)"},
		{"oct JWK", Config{Audience: aud, Issuer: testIssuer, PublicKey: oct}, `'publicKey' must not be a symmetric (kty "oct") key`},
		{"private JWK", Config{Audience: aud, Issuer: testIssuer, PublicKey: private}, "'publicKey' must be a public key, not a private one"},
		{"garbage key", Config{Audience: aud, Issuer: testIssuer, PublicKey: []byte("hello")}, "'publicKey' must be a PEM public key, a JWK or a JWKS"},
		{"empty JWKS", Config{Audience: aud, Issuer: testIssuer, PublicKey: []byte(`{"keys":[]}`)}, "'publicKey' JWKS has no keys"},
		{"relative issuerBaseURL", Config{Audience: aud, IssuerBaseURL: "/x"}, "'issuerBaseURL' must be an absolute http or https URL"},
		{"ftp jwksUri", Config{Audience: aud, Issuer: testIssuer, JWKSURI: "ftp://x/j"}, "'jwksUri' must be an absolute http or https URL"},
		{"negative maxTokenAge", Config{Audience: aud, IssuerBaseURL: "https://x/", MaxTokenAge: -time.Second}, "'maxTokenAge' must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg)
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q\nwant  %q", err, tc.want)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"ISSUER_BASE_URL":   " https://tenant.auth0.com/ ",
		"AUDIENCE":          "task-manager-api, https://b/ https://c/",
		"ISSUER":            "https://tenant.auth0.com/",
		"JWKS_URI":          "https://tenant.auth0.com/.well-known/jwks.json",
		"SECRET":            "s3cret",
		"TOKEN_SIGNING_ALG": "HS256",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{
		IssuerBaseURL: "https://tenant.auth0.com/", Audience: []string{"task-manager-api", "https://b/", "https://c/"},
		Issuer: "https://tenant.auth0.com/", JWKSURI: "https://tenant.auth0.com/.well-known/jwks.json", Secret: "s3cret", TokenSigningAlg: "HS256",
	}
	if cfg.IssuerBaseURL != want.IssuerBaseURL || !slices.Equal(cfg.Audience, want.Audience) || cfg.Issuer != want.Issuer ||
		cfg.JWKSURI != want.JWKSURI || cfg.Secret != want.Secret || cfg.TokenSigningAlg != want.TokenSigningAlg {
		t.Errorf("ConfigFromEnv = %+v\nwant %+v", cfg, want)
	}
	if cfg := ConfigFromEnv(func(string) string { return "" }); len(cfg.Audience) != 0 || cfg.IssuerBaseURL != "" {
		t.Errorf("empty environment gave %+v", cfg)
	}
}

// Secret mode: HS256/384/512 with a pinned algorithm, no network.
func TestSecretMode(t *testing.T) {
	testKeys(t)
	secret := []byte("a-32-byte-secret-for-hs256-tests")
	v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, Secret: string(secret), TokenSigningAlg: "HS256", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	claims := baseClaims(testIssuer)
	cases := []struct {
		name  string
		token string
		msg   string // "" for success
	}{
		{"HS256", sign(t, jwt.SigningMethodHS256, secret, nil, claims), ""},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret"), nil, claims), msgSignature},
		{"HS384 while HS256 is pinned", sign(t, jwt.SigningMethodHS384, secret, nil, claims), msgUnexpectedAlg},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, nil, claims), `Unsupported algorithm "RS256" for secret-based verification. Supported: HS256, HS384, HS512`},
		{"none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claims), `Unsupported algorithm "none" for secret-based verification. Supported: HS256, HS384, HS512`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(v, bearerReq(tc.token))
			if tc.msg == "" {
				checkResponse(t, rec, 200, okBody, "-")
				return
			}
			s, b, c := invalid(tc.msg)
			checkResponse(t, rec, s, b, c)
		})
	}
}

// A secret with an issuer base URL: discovery gives the issuer and the
// algorithm list, the secret verifies.
func TestSecretWithDiscovery(t *testing.T) {
	idp := newFakeIdP(t, jwksJSON(t))
	secret := []byte("a-32-byte-secret-for-hs256-tests")
	cfg := Config{Audience: []string{testAudience}, IssuerBaseURL: idp.URL, Secret: string(secret), TokenSigningAlg: "HS256", Now: fixedNow}
	requireKeyset(t, cfg)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := sign(t, jwt.SigningMethodHS256, secret, nil, baseClaims(idp.issuer()))
	s, b, c := invalid(msgUnexpectedAlg) // the document lists RS256 only
	checkResponse(t, serve(v, bearerReq(tok)), s, b, c)
	idp.set(func(f *fakeIdP) { f.algs = []string{"RS256", "HS256"} })
	v2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	checkResponse(t, serve(v2, bearerReq(tok)), 200, okBody, "-")
}

// Static public keys: PEM (SPKI and PKCS #1) with a pinned algorithm, a
// single JWK, a JWKS; ECDSA and Ed25519 too.
func TestPublicKeyModes(t *testing.T) {
	testKeys(t)
	spki := func(k any) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(k))})
	}
	claims := baseClaims(testIssuer)
	cases := []struct {
		name  string
		key   []byte
		alg   string
		token string
	}{
		{"RSA SPKI PEM", spki(&rsaKey.PublicKey), "RS256", rs256(t, claims)},
		{"RSA PKCS1 PEM", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}), "PS256", sign(t, jwt.SigningMethodPS256, rsaKey, nil, claims)},
		{"EC PEM", spki(&ecKey.PublicKey), "ES256", sign(t, jwt.SigningMethodES256, ecKey, nil, claims)},
		{"Ed25519 PEM", spki(edKey.Public()), "EdDSA", sign(t, jwt.SigningMethodEdDSA, edKey, nil, claims)},
		{"single JWK", mustJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")), "", rs256(t, claims)},
		{"JWK without alg, RS512 token", mustJSON(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "kid"}), "", sign(t, jwt.SigningMethodRS512, rsaKey, nil, claims)},
		{"JWKS", jwksJSON(t, jwk(&rsaKey2.PublicKey, "k2", "RS256"), jwk(&rsaKey.PublicKey, "kid", "RS256")), "RS256", rs256(t, claims)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, PublicKey: tc.key, TokenSigningAlg: tc.alg, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, serve(v, bearerReq(tc.token)), 200, okBody, "-")
		})
	}
	// A JWKS with two keys for a token without kid is ambiguous.
	v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, PublicKey: jwksJSON(t, jwk(&rsaKey2.PublicKey, "k2", "RS256"), jwk(&rsaKey.PublicKey, "kid", "RS256")), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	s, b, c := invalid(msgMultipleKeys)
	checkResponse(t, serve(v, bearerReq(sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": absent}, claims))), s, b, c)
}

// The verified-token cache: hits return the same claims, re-check time,
// forget tokens whose key left the set, never keep failures, stay bounded.
func TestTokenCache(t *testing.T) {
	testKeys(t)
	ctx := context.Background()
	clk := newClock()
	cfg, _ := modes[0].setup(t)
	cfg.Now = clk.Now
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := rs256(t, with(baseClaims(testIssuer), map[string]any{"exp": testNow.Unix() + 60, "nbf": testNow.Unix() - 1}))
	c1, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Verify(ctx, tok)
	if err != nil || c1 != c2 {
		t.Fatalf("second Verify: %v, same claims %v; want a cache hit", err, c1 == c2)
	}
	clk.Add(64 * time.Second) // exp + 4 s: inside the tolerance
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("inside tolerance: %v", err)
	}
	clk.Add(2 * time.Second)
	var e *Error
	if _, err := v.Verify(ctx, tok); !errors.As(err, &e) || e.Message != `"exp" claim timestamp check failed` {
		t.Fatalf("after exp: %v", err)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("expired entry still cached (%d entries)", n)
	}
	// Failures are never cached.
	bad := sign(t, jwt.SigningMethodRS256, rsaOther, nil, baseClaims(testIssuer))
	for range 2 {
		if _, err := v.Verify(ctx, bad); err == nil {
			t.Fatal("bad token accepted")
		}
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("failure cached (%d entries)", n)
	}
	// A token not yet valid (nbf beyond the tolerance on a later clock) is
	// never served from the cache before its nbf: entries re-check nbf.
	v.cache.put(&[32]byte{1}, &cacheEntry{claims: c1, nbf: float64(clk.Now().Unix() + 60), hasNbf: true})
	if got := v.cache.get(t.Context(), &[32]byte{1}, v, float64(clk.Now().Unix())); got != nil {
		t.Error("entry served before its nbf")
	}
	// Bounded.
	small, err := New(Config{Audience: cfg.Audience, Issuer: cfg.Issuer, PublicKey: cfg.PublicKey, Now: fixedNow, TokenCacheSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := small.Verify(ctx, rs256(t, with(baseClaims(testIssuer), map[string]any{"n": i}))); err != nil {
			t.Fatal(err)
		}
	}
	if n := small.cache.len(); n > 32 || n < 16 {
		t.Errorf("cache holds %d entries, want at most 32", n)
	}
	// Off.
	off, err := New(Config{Audience: cfg.Audience, Issuer: cfg.Issuer, PublicKey: cfg.PublicKey, Now: fixedNow, NoTokenCache: true})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := off.Verify(ctx, tok)
	b, _ := off.Verify(ctx, tok)
	if off.cache != nil || a == nil || a == b {
		t.Error("cache not off")
	}
}

// A cached token is dropped once its key has left the key set.
func TestTokenCacheKeyRotatedOut(t *testing.T) {
	clk := newClock()
	idp, v := idpVerifier(t, clk, nil, jwk(&rsaKey.PublicKey, "kid", "RS256"))
	ctx := context.Background()
	tok := rs256(t, baseClaims(idp.issuer()))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The provider drops "kid" and publishes "kid2"; a kid2 token after
	// the cooldown makes the set refresh.
	idp.set(func(f *fakeIdP) { f.jwks = jwksJSON(t, jwk(&rsaKey2.PublicKey, "kid2", "RS256")) })
	clk.Add(31 * time.Second)
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "kid2"}, baseClaims(idp.issuer()))); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := v.Verify(ctx, tok); !errors.As(err, &e) || e.Message != msgNoKey {
		t.Fatalf("token of a removed key: %v, want %q", err, msgNoKey)
	}
}

// Extraction reads a form body without taking it from the handler, and
// leaves a body over the cap alone.
func TestExtractionKeepsBody(t *testing.T) {
	testKeys(t)
	cfg, _ := modes[0].setup(t)
	cfg.MaxBodyBytes = 1024
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	form := "title=Buy+milk&access_token=" + rs256(t, baseClaims(testIssuer)) + "&done=false"
	var got string
	h := v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, formReq("/tasks", form))
	if rec.Code != 200 || got != form {
		t.Errorf("status %d, handler read %q, want the whole body", rec.Code, got)
	}
	h = v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("title") != "Buy milk" {
			t.Errorf("handler's form: %v %v", r.PostForm, err)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), formReq("/tasks", form))

	big := "access_token=x&pad=" + strings.Repeat("a", 2000)
	r := formReq("/tasks", big)
	tok, found, e := TokenFromRequest(r, 1024)
	if tok != "" || found || e != nil {
		t.Errorf("over-cap body: %q %v %v, want not searched", tok, found, e)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != big {
		t.Errorf("over-cap body changed: %d bytes", len(b))
	}
	// A form the application already parsed is used as is.
	r = formReq("/tasks", "access_token=abc")
	r.ParseForm()
	if tok, found, e := TokenFromRequest(r, 1024); tok != "abc" || !found || e != nil {
		t.Errorf("parsed form: %q %v %v", tok, found, e)
	}
	// Other content types are not read.
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("access_token=abc"))
	r.Header.Set("Content-Type", "text/plain")
	if _, found, e := TokenFromRequest(r, 1024); found || e != nil {
		t.Errorf("text/plain body: %v %v", found, e)
	}
}

// TestNewRefusesShortSecret: an HMAC secret shorter than the algorithm's
// hash (RFC 7518 §3.2) is refused at start, for one issuer and per issuer
// of Issuers; one of exactly that size is accepted.
func TestNewRefusesShortSecret(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		size int
	}{{"HS256", 32}, {"HS384", 48}, {"HS512", 64}} {
		t.Run(tc.alg, func(t *testing.T) {
			cfg := Config{Audience: []string{testAudience}, Issuer: testIssuer, TokenSigningAlg: tc.alg, Secret: strings.Repeat("s", tc.size-1)}
			want := fmt.Sprintf("'secret' is %d bytes: %s needs at least %d (RFC 7518 §3.2)", tc.size-1, tc.alg, tc.size)
			if v, err := New(cfg); err == nil || err.Error() != want {
				if v != nil {
					v.Close()
				}
				t.Errorf("%d bytes: err = %v\nwant %q", tc.size-1, err, want)
			}
			cfg.Secret = strings.Repeat("s", tc.size)
			v, err := New(cfg)
			if err != nil {
				t.Fatalf("%d bytes: %v", tc.size, err)
			}
			v.Close()

			ic := IssuerConfig{Issuer: "https://symmetric.example.com/", Secret: strings.Repeat("s", tc.size-1), TokenSigningAlg: tc.alg}
			want = fmt.Sprintf("Configuration error: Issuer 'https://symmetric.example.com/' provides a secret shorter than the %d bytes %s needs (RFC 7518 §3.2).", tc.size, tc.alg)
			if v, err := New(Config{Audience: []string{testAudience}, Issuers: IssuersOptions{Configs: []IssuerConfig{ic}}}); err == nil || err.Error() != want {
				if v != nil {
					v.Close()
				}
				t.Errorf("per issuer: err = %v\nwant %q", err, want)
			}
		})
	}
	if MinSecretBytes("") != 32 || MinSecretBytes("HS512") != 64 {
		t.Errorf("MinSecretBytes: %d without an algorithm, %d for HS512", MinSecretBytes(""), MinSecretBytes("HS512"))
	}
}
