package bearer

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The cost of a DPoP-bound request beside a plain Bearer one, through the
// whole middleware, with the same Auth0-shaped RS256 token and the same
// verified-token cache (the default, so the token itself is a cache hit in
// both): the difference is the proof (go-jose parse, ES256 signature with
// the embedded key, claims, htu, thumbprint, replay cache). Run with
//
//	go test -run '^$' -bench 'Middleware(Bearer|DPoP)$|RawES256' -benchmem -count 3 ./bearer/

func benchMiddlewareVerifier(b *testing.B) *Verifier {
	return auth0Verifier(b, true)
}

// auth0Claims are the claims of auth0Token.
func auth0Claims() map[string]any {
	return map[string]any{
		"iss":   auth0Issuer,
		"sub":   "google-oauth2|109876543210987654321",
		"aud":   []string{"task-manager-api", "https://tenant.auth0.com/userinfo"},
		"iat":   testNow.Unix() - 60,
		"exp":   testNow.Unix() + 86400 - 60,
		"scope": "openid email",
		"azp":   "Zx3kQm9Vt7Lp2Rs8Wn4Yb6Hc1Jd5Fg0A",
	}
}

// signAuth0 signs claims as auth0Token does.
func signAuth0(b *testing.B, claims map[string]any) string {
	testKeys(b)
	return sign(b, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2"}, claims)
}

func BenchmarkMiddlewareBearer(b *testing.B) {
	tok := signAuth0(b, auth0Claims())
	h := benchMiddlewareVerifier(b).Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, dpopURL, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkMiddlewareDPoP sends a fresh proof (new jti) each time, as a
// client does; the proofs are signed before the timer starts.
func BenchmarkMiddlewareDPoP(b *testing.B) {
	es := esClient(b)
	claims := auth0Claims()
	claims["cnf"] = map[string]any{"jkt": es.jkt}
	tok := signAuth0(b, claims)
	h := benchMiddlewareVerifier(b).Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = dpopReq("DPoP", tok, signProof(b, es, nil, proofClaims(tok)))
	}
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(w, reqs[i])
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkRawES256Verify is the floor of a proof: SHA-256 of its signing
// input and one P-256 signature check, nothing else.
func BenchmarkRawES256Verify(b *testing.B) {
	es := esClient(b)
	proof := signProof(b, es, nil, proofClaims("token"))
	i := strings.LastIndexByte(proof, '.')
	input, sig := proof[:i], must(base64.RawURLEncoding.DecodeString(proof[i+1:]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	pub := &ecKey.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(input))
		if !ecdsa.Verify(pub, h[:], rr, ss) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkMiddlewareInterleaved runs a Bearer request, a DPoP request and
// the raw ES256 check in turn within each iteration, so that all three see
// the same load on a shared machine, and reports each one's mean and the
// ratios.
func BenchmarkMiddlewareInterleaved(b *testing.B) {
	es := esClient(b)
	plain := signAuth0(b, auth0Claims())
	claims := auth0Claims()
	claims["cnf"] = map[string]any{"jkt": es.jkt}
	bound := signAuth0(b, claims)
	h := benchMiddlewareVerifier(b).Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	bearer := httptest.NewRequest(http.MethodGet, dpopURL, nil)
	bearer.Header.Set("Authorization", "Bearer "+plain)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = dpopReq("DPoP", bound, signProof(b, es, nil, proofClaims(bound)))
	}
	proof := reqs[0].Header.Get("DPoP")
	i := strings.LastIndexByte(proof, '.')
	input, sig := proof[:i], must(base64.RawURLEncoding.DecodeString(proof[i+1:]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	w := httptest.NewRecorder()
	var tBearer, tDPoP, tRaw time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		t0 := time.Now()
		h.ServeHTTP(w, bearer)
		t1 := time.Now()
		h.ServeHTTP(w, reqs[n])
		t2 := time.Now()
		hs := sha256.Sum256([]byte(input))
		if !ecdsa.Verify(&ecKey.PublicKey, hs[:], rr, ss) {
			b.Fatal("verify failed")
		}
		t3 := time.Now()
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		tBearer, tDPoP, tRaw = tBearer+t1.Sub(t0), tDPoP+t2.Sub(t1), tRaw+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tBearer.Nanoseconds())/n, "bearer-ns")
	b.ReportMetric(float64(tDPoP.Nanoseconds())/n, "dpop-ns")
	b.ReportMetric(float64(tRaw.Nanoseconds())/n, "es256-ns")
	b.ReportMetric(float64(tDPoP)/float64(tBearer), "dpop/bearer")
	b.ReportMetric(float64(tDPoP)/float64(tRaw), "dpop/es256")
}
