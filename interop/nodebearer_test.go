package interop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer"
)

// nodeBearerDir holds express-oauth2-jwt-bearer 1.10 behind Express, and npm
// jose (nodebearer/server.js; install with npm ci --prefix interop/nodebearer).
var nodeBearerDir = filepath.Join("nodebearer")

// requireNodeBearer skips the test when node or the installed Node library is
// missing, and fails it instead when CI is set.
func requireNodeBearer(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	why := ""
	switch {
	case err != nil:
		why = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(nodeBearerDir, "node_modules", "express-oauth2-jwt-bearer")); err != nil {
			why = "express-oauth2-jwt-bearer is not installed: run npm ci --prefix interop/nodebearer"
		}
	}
	if why == "" {
		return node
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("DIFFERENTIAL TEST NOT RUN under CI: %s", why)
	}
	t.Skipf("SKIPPING the differential test against express-oauth2-jwt-bearer 1.10: %s", why)
	return ""
}

// startNodeBearer starts nodebearer/server.js for the issuer and audience.
func startNodeBearer(t *testing.T, issuer, audience string) string {
	t.Helper()
	node := requireNodeBearer(t)
	p, line, err := launchNode(node, nodeBearerDir, "server.js", "--issuer", issuer, "--audience", audience)
	if p != nil {
		t.Cleanup(p.stop)
	}
	if err != nil {
		t.Fatal(err)
	}
	var hello struct{ URL string }
	if json.Unmarshal([]byte(line), &hello) != nil || hello.URL == "" {
		t.Fatalf("the Node server did not start: %q", line)
	}
	return hello.URL
}

// joseCall asks npm jose, through the Node server's /jose route, to sign,
// verify or compute a thumbprint (see nodebearer/server.js).
func joseCall(t *testing.T, nodeURL string, req map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(nodeURL+"/jose", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Result, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Error != "" {
		t.Fatalf("npm jose %v: %s", req["op"], out.Error)
	}
	return out.Result
}

// sharedIdP is the identity provider both sides use: discovery and a key
// set with RSA keys (one pinned to RS256, one with no alg), a P-256 key and
// a secp256k1 key.
type sharedIdP struct {
	URL, Issuer string
	rsa, rsaAny *rsa.PrivateKey
	p256        *ecdsa.PrivateKey
	k1          *secp256k1.PrivateKey
}

// discoveredAlgs is the metadata's id_token_signing_alg_values_supported:
// every asymmetric alg but PS512.
var discoveredAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES256K", "ES384", "ES512", "EdDSA"}

func startSharedIdP(t *testing.T) *sharedIdP {
	t.Helper()
	idp := &sharedIdP{}
	var err error
	if idp.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if idp.rsaAny, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if idp.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if idp.k1, err = secp256k1.GeneratePrivateKey(); err != nil {
		t.Fatal(err)
	}
	keys := []any{
		jose.JSONWebKey{Key: &idp.rsa.PublicKey, KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: &idp.rsaAny.PublicKey, KeyID: "rsa-any"},
		jose.JSONWebKey{Key: &idp.p256.PublicKey, KeyID: "p256", Algorithm: "ES256", Use: "sig"},
		withMembers(k1JWK(idp.k1.PubKey()), map[string]any{"kid": "k1", "alg": "ES256K", "use": "sig"}),
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	idp.URL, idp.Issuer = srv.URL, srv.URL+"/"
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": idp.Issuer, "jwks_uri": idp.URL + "/jwks", "id_token_signing_alg_values_supported": discoveredAlgs})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	return idp
}

// k1JWK is a public secp256k1 JWK; k1PrivateJWK the private one, for npm
// jose.
func k1JWK(pub *secp256k1.PublicKey) map[string]any {
	var x, y [32]byte
	pub.X().FillBytes(x[:])
	pub.Y().FillBytes(y[:])
	return map[string]any{"kty": "EC", "crv": "secp256k1", "x": b64(x[:]), "y": b64(y[:])}
}

func k1PrivateJWK(priv *secp256k1.PrivateKey) map[string]any {
	return withMembers(k1JWK(priv.PubKey()), map[string]any{"d": b64(priv.Serialize())})
}

func withMembers(m map[string]any, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(v any) string {
	b, _ := json.Marshal(v)
	return b64(b)
}

// signCompact signs header and the raw payload segment with golang-jwt's
// method for alg (bearer's for ES256K).
func signCompact(t *testing.T, alg string, key any, header map[string]any, payloadSegment string) string {
	t.Helper()
	input := b64JSON(header) + "." + payloadSegment
	m := jwt.GetSigningMethod(alg)
	if alg == "ES256K" {
		m = bearer.SigningMethodES256K
	}
	sig, err := m.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// ath is a DPoP proof's "ath" for token.
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64(sum[:])
}

// answer is what one side answered.
type answer struct {
	Status    int
	Code      string
	Error     string
	Challenge string
}

// spec is one request, sent alike to both sides (base is the side's URL).
type spec struct {
	method, path, contentType, body string
	headers                         [][2]string
}

func send(t *testing.T, base string, s spec) answer {
	t.Helper()
	method := s.method
	if method == "" {
		method = http.MethodGet
	}
	path := s.path
	if path == "" {
		path = "/tasks"
	}
	var body *bytes.Reader
	if s.body != "" {
		body = bytes.NewReader([]byte(s.body))
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range s.headers {
		req.Header.Add(h[0], h[1])
	}
	if s.contentType != "" {
		req.Header.Set("Content-Type", s.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error *string `json:"error"`
		Code  *string `json:"code"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	a := answer{Status: resp.StatusCode, Challenge: resp.Header.Get("WWW-Authenticate")}
	if out.Code != nil {
		a.Code = *out.Code
	}
	if out.Error != nil {
		a.Error = *out.Error
	}
	return a
}

func now() int64 { return time.Now().Unix() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
