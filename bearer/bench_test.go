package bearer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Benchmarks for a typical Auth0 RS256 access token. Run with
//
//	go test -run '^$' -bench . -benchmem -count 3 ./bearer/
//
// BenchmarkRawRSAVerify is the floor: hashing the signing input and
// rsa.VerifyPKCS1v15, nothing else.

const auth0Issuer = "https://tenant.auth0.com/"

// auth0Token returns a token shaped like an Auth0 access token.
func auth0Token(b *testing.B) string {
	testKeys(b)
	return sign(b, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2"}, map[string]any{
		"iss":   auth0Issuer,
		"sub":   "google-oauth2|109876543210987654321",
		"aud":   []string{"task-manager-api", "https://tenant.auth0.com/userinfo"},
		"iat":   testNow.Unix() - 60,
		"exp":   testNow.Unix() + 86400 - 60,
		"scope": "openid email",
		"azp":   "Zx3kQm9Vt7Lp2Rs8Wn4Yb6Hc1Jd5Fg0A",
	})
}

func auth0Verifier(b *testing.B, cache bool) *Verifier {
	v, err := New(Config{
		Audience:     []string{"task-manager-api"},
		Issuer:       auth0Issuer,
		PublicKey:    jwksJSON(b, jwk(&rsaKey.PublicKey, "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2", "RS256")),
		Now:          fixedNow,
		NoTokenCache: !cache,
	})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func BenchmarkRawRSAVerify(b *testing.B) {
	tok := auth0Token(b)
	i := strings.LastIndexByte(tok, '.')
	input, sig := tok[:i], must(base64.RawURLEncoding.DecodeString(tok[i+1:]))
	pub := &rsaKey.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(input))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyNoCache(b *testing.B) {
	tok := auth0Token(b)
	v := auth0Verifier(b, false)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNoCacheDiscovery is the same through the discovery path:
// a local provider, warmed before the loop.
func BenchmarkVerifyNoCacheDiscovery(b *testing.B) {
	tok := auth0Token(b)
	idp := newFakeIdP(b, jwksJSON(b, jwk(&rsaKey.PublicKey, "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2", "RS256")))
	v, err := New(Config{Audience: []string{"task-manager-api"}, IssuerBaseURL: idp.URL, Issuer: auth0Issuer, Now: time.Now, NoTokenCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	if err := v.Warm(ctx); err != nil {
		b.Skip("keyset:", err)
	}
	v.now = fixedNow
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCacheHit(b *testing.B) {
	tok := auth0Token(b)
	v := auth0Verifier(b, true)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoJoseVerify is the same work with go-jose v4 instead, for
// comparison: parse, verify with the pinned alg, decode the claims.
func BenchmarkGoJoseVerify(b *testing.B) {
	tok := auth0Token(b)
	pub := &rsaKey.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			b.Fatal(err)
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			b.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGolangJWTParse is golang-jwt v5 alone, for comparison.
func BenchmarkGolangJWTParse(b *testing.B) {
	tok := auth0Token(b)
	pub := &rsaKey.PublicKey
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseWithClaims(tok, jwt.MapClaims{}, keyFunc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInterleaved runs the floor (SHA-256 and rsa.VerifyPKCS1v15),
// Verify without cache, Verify on a cache hit, golang-jwt alone and go-jose
// in turn within each iteration, so that all see the same load on a shared
// machine, and reports each one's mean and its ratio to the floor.
func BenchmarkInterleaved(b *testing.B) {
	tok := auth0Token(b)
	i := strings.LastIndexByte(tok, '.')
	input, sig := tok[:i], must(base64.RawURLEncoding.DecodeString(tok[i+1:]))
	pub := &rsaKey.PublicKey
	v := auth0Verifier(b, false)
	cached := auth0Verifier(b, true)
	ctx := context.Background()
	if _, err := cached.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
	var floor, verify, hit, gojose, golangjwt time.Duration
	for b.Loop() {
		t0 := time.Now()
		h := sha256.Sum256([]byte(input))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			b.Fatal(err)
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			b.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if _, err := p.ParseWithClaims(tok, jwt.MapClaims{}, keyFunc); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		if _, err := cached.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		floor, verify, gojose, golangjwt = floor+t1.Sub(t0), verify+t2.Sub(t1), gojose+t3.Sub(t2), golangjwt+t4.Sub(t3)
		hit += t5.Sub(t4)
	}
	n := float64(b.N)
	b.ReportMetric(float64(floor.Nanoseconds())/n, "floor-ns")
	b.ReportMetric(float64(verify.Nanoseconds())/n, "verify-ns")
	b.ReportMetric(float64(gojose.Nanoseconds())/n, "gojose-ns")
	b.ReportMetric(float64(golangjwt.Nanoseconds())/n, "golangjwt-ns")
	b.ReportMetric(float64(hit.Nanoseconds())/n, "hit-ns")
	b.ReportMetric(float64(hit)/float64(floor), "hit/floor")
	b.ReportMetric(float64(verify)/float64(floor), "verify/floor")
	b.ReportMetric(float64(gojose)/float64(floor), "gojose/floor")
	b.ReportMetric(float64(golangjwt)/float64(floor), "golangjwt/floor")
}
