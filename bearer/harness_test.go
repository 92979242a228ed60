package bearer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fixed clock of the tests.
var testNow = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return testNow }

const (
	testIssuer   = "https://issuer.example.com/"
	testAudience = "https://api/"
)

// Test keys, generated once: rsaKey is the provider's key "kid"; rsaOther
// is an attacker's RSA key; ecKey and edKey are other keys of the set.
var (
	keysOnce                  sync.Once
	rsaKey, rsaOther, rsaKey2 *rsa.PrivateKey
	ecKey                     *ecdsa.PrivateKey
	edKey                     ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&rsaKey, &rsaOther, &rsaKey2} {
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// absent, as a claim or header value, removes it.
type absentType struct{}

var absent = absentType{}

// baseClaims are the createJwt() defaults of the test suite of
// express-oauth2-jwt-bearer 1.10, at testNow.
func baseClaims(iss string) map[string]any {
	return map[string]any{
		"iss": iss,
		"sub": "me",
		"aud": testAudience,
		"iat": testNow.Unix(),
		"exp": testNow.Add(24 * time.Hour).Unix(),
	}
}

// with returns a copy of m with the overrides applied (absent deletes).
func with(m map[string]any, over map[string]any) map[string]any {
	out := maps.Clone(m)
	for k, v := range over {
		if v == absent {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// sign builds a token with the JOSE library: method and key, the header
// (kid "kid" by default, overrides applied) and claims.
func sign(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	tk := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	tk.Header["kid"] = "kid"
	for k, v := range header {
		if v == absent {
			delete(tk.Header, k)
		} else {
			tk.Header[k] = v
		}
	}
	s, err := tk.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// rs256 signs claims with the provider's RSA key under kid "kid".
func rs256(t testing.TB, claims map[string]any) string {
	testKeys(t)
	return sign(t, jwt.SigningMethodRS256, rsaKey, nil, claims)
}

// b64 encodes bytes as a JWS segment.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawToken assembles a deliberately malformed or unsigned token from raw
// segments.
func rawToken(header, payload, sig []byte) string {
	return b64(header) + "." + b64(payload) + "." + b64(sig)
}

// jwk is one key of a test JWKS.
func jwk(key any, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// jwksJSON marshals a key set.
func jwksJSON(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	return mustJSON(t, jose.JSONWebKeySet{Keys: keys})
}

// fakeIdP is a local identity provider: OIDC discovery, an RFC 8414
// document and a JWKS, each with a hit counter and switchable failures.
type fakeIdP struct {
	*httptest.Server
	discoveryHits, rfc8414Hits, jwksHits atomic.Int64

	mu              sync.Mutex
	jwks            []byte
	algs            []string
	discoveryStatus int // 0: 200
	jwksStatus      int
	discoveryBody   []byte // overrides the document when set
	jwksGarbage     bool
	oidc            bool          // serve the OIDC document (else only RFC 8414)
	hang            chan struct{} // when set, every request waits for it (or the client)
}

func newFakeIdP(t testing.TB, jwks []byte) *fakeIdP {
	f := &fakeIdP{jwks: jwks, algs: []string{"RS256"}, oidc: true}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.mu.Lock()
		if f.hang != nil {
			close(f.hang)
			f.hang = nil
		}
		f.mu.Unlock()
		f.Close()
	})
	return f
}

func (f *fakeIdP) set(fn func(f *fakeIdP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// heal undoes every failure switch (call under set).
func (f *fakeIdP) heal() {
	f.discoveryStatus, f.jwksStatus, f.discoveryBody, f.jwksGarbage, f.oidc = 0, 0, nil, false, true
}

// issuer is the issuer the discovery document announces.
func (f *fakeIdP) issuer() string { return f.URL + "/" }

func (f *fakeIdP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	doc := func() {
		if f.discoveryStatus != 0 {
			w.WriteHeader(f.discoveryStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if f.discoveryBody != nil {
			w.Write(f.discoveryBody)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                f.issuer(),
			"jwks_uri":                              f.URL + "/jwks.json",
			"id_token_signing_alg_values_supported": f.algs,
		})
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		f.discoveryHits.Add(1)
		if !f.oidc {
			http.NotFound(w, r)
			return
		}
		doc()
	case "/.well-known/oauth-authorization-server":
		f.rfc8414Hits.Add(1)
		doc()
	case "/jwks.json":
		f.jwksHits.Add(1)
		if f.jwksStatus != 0 {
			w.WriteHeader(f.jwksStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if f.jwksGarbage {
			io.WriteString(w, "<html>not json</html>")
			return
		}
		w.Write(f.jwks)
	default:
		http.NotFound(w, r)
	}
}

// okHandler answers 200 with the subject of the verified claims, or
// {"anonymous":true}.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if c, ok := FromContext(r.Context()); ok {
		json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject()})
		return
	}
	io.WriteString(w, `{"anonymous":true}`+"\n")
})

// serve runs req through the verifier's middleware, then the helpers, then
// okHandler.
func serve(v *Verifier, req *http.Request, helpers ...wrapper) *httptest.ResponseRecorder {
	var h http.Handler = okHandler
	for i := len(helpers) - 1; i >= 0; i-- {
		h = helpers[i](h)
	}
	rec := httptest.NewRecorder()
	v.Authenticate(h).ServeHTTP(rec, req)
	return rec
}

// bearerReq is a GET with an Authorization: Bearer header.
func bearerReq(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/tasks", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// formReq is a POST with an urlencoded body.
func formReq(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	return r
}

// challenge builds the expected invalid_token challenge.
func challenge(desc string) string {
	return `Bearer realm="api", error="invalid_token", error_description="` + desc + `"`
}

// body builds an expected error body.
func body(msg, code string) string {
	return string(mustJSONNoT(ErrorBody{Error: msg, Code: code}))
}

func mustJSONNoT(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// checkResponse asserts status, exact body and exact WWW-Authenticate ("-"
// means the header must be absent).
func checkResponse(t *testing.T, rec *httptest.ResponseRecorder, status int, wantBody, wantChallenge string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if got := strings.TrimSpace(rec.Body.String()); wantBody != "" && got != wantBody {
		t.Errorf("body = %s\nwant   %s", got, wantBody)
	}
	got, has := rec.Header()["Www-Authenticate"]
	switch {
	case wantChallenge == "-" && has:
		t.Errorf("WWW-Authenticate = %q, want none", got)
	case wantChallenge != "-" && (len(got) != 1 || got[0] != wantChallenge):
		t.Errorf("WWW-Authenticate = %q\nwant              %q", got, wantChallenge)
	}
}

// wrapper is what the authorization helpers return.
type wrapper = func(http.Handler) http.Handler
