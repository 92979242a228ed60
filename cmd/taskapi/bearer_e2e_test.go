package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/taskapi/taskapi/devissuer"
)

// dpopClient holds a client's DPoP key pair and makes its proofs with
// go-jose, as a client library would.
type dpopClient struct {
	t      *testing.T
	signer jose.Signer
	jkt    string // the key's RFC 7638 thumbprint, for the token's cnf
}

func newDPoPClient(t *testing.T) *dpopClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{t: t, signer: signer, jkt: base64.RawURLEncoding.EncodeToString(thumb)}
}

// proof returns a DPoP proof of method and url for token.
func (c *dpopClient) proof(method, url, token string) string {
	c.t.Helper()
	ath := sha256.Sum256([]byte(token))
	payload, err := json.Marshal(map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(c.t, 16)),
		"htm": method,
		"htu": url,
		"iat": time.Now().Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(ath[:]),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	jws, err := c.signer.Sign(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// getWith sends GET url with the given Authorization and DPoP headers.
func getWith(t *testing.T, url, authorization, proof string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return do(t, req)
}

func TestServeDPoP(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	client := newDPoPClient(t)
	bound, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|dpop", Extra: map[string]any{"cnf": map[string]any{"jkt": client.jkt}}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|plain"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mode       string // mode: the DPoP variable set to true, if any
		scheme, token    string
		proof            bool
		status           int
		wantMsg          string
		challengeHasDPoP bool
	}{
		{"bound token with a proof", "", "DPoP", bound, true, 200, "", false},
		{"bound token as Bearer", "", "Bearer", bound, false, 401, "DPoP-bound token requires the DPoP authentication scheme, not Bearer.", true},
		{"plain Bearer token beside DPoP", "", "Bearer", plain, false, 200, "", false},
		{"DPOP_REQUIRED: plain Bearer token", "DPOP_REQUIRED", "Bearer", plain, false, 400, "This token must be sent as 'Authorization: DPoP <token>' with a DPoP proof header", true},
		{"DPOP_REQUIRED: bound token with a proof", "DPOP_REQUIRED", "DPoP", bound, true, 200, "", false},
		{"DPOP_DISABLED: DPoP scheme", "DPOP_DISABLED", "DPoP", bound, true, 400, "Authorization header must be 'Bearer <token>'", false},
		{"DPOP_DISABLED: bound token as Bearer", "DPOP_DISABLED", "Bearer", bound, false, 200, "", false},
	}
	bases := map[string]string{}
	for _, mode := range []string{"", "DPOP_REQUIRED", "DPOP_DISABLED"} {
		env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "DATABASE_URL": "sqlite:" + mode + "t.db"}
		if mode != "" {
			env[mode] = "true"
		}
		_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
		bases[mode] = "http://" + stderr.waitFor(t, listeningRE, done)[1]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := bases[tt.mode] + "/tasks"
			var proof string
			if tt.proof {
				proof = client.proof("GET", url, tt.token)
			}
			a := getWith(t, url, tt.scheme+" "+tt.token, proof)
			if a.status != tt.status || (tt.wantMsg != "" && a.body["error"] != tt.wantMsg) {
				t.Errorf("%d %v, want %d %q", a.status, a.body, tt.status, tt.wantMsg)
			}
			if ch := a.header.Get("WWW-Authenticate"); tt.status >= 400 && strings.Contains(ch, "DPoP algs=") != tt.challengeHasDPoP {
				t.Errorf("WWW-Authenticate %q: DPoP challenge %v, want %v", ch, !tt.challengeHasDPoP, tt.challengeHasDPoP)
			}
		})
	}
}

func TestServeIssuers(t *testing.T) {
	t.Chdir(t.TempDir())
	first, second, other := devissuer.NewTestServer(t), devissuer.NewTestServer(t), devissuer.NewTestServer(t)
	env := map[string]string{
		"ISSUERS":            first.Issuer() + ", " + second.Issuer(),
		"ISSUERS_ALLOW_HTTP": "true", // the test issuers are http://127.0.0.1
		"AUDIENCE":           "task-manager-api",
	}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]
	if a := get(t, base+"/ready", ""); a.status != http.StatusOK {
		t.Errorf("GET /ready with both issuers warmed: %d %v", a.status, a.body)
	}
	for _, tt := range []struct {
		name   string
		iss    *devissuer.Issuer
		status int
		msg    string
	}{
		{"first issuer", first, 200, ""},
		{"second issuer", second, 200, ""},
		{"unlisted issuer", other, 401, "Token issuer is not allowed"},
	} {
		tok, err := tt.iss.Token(devissuer.TokenRequest{Subject: "auth0|multi"})
		if err != nil {
			t.Fatal(err)
		}
		a := get(t, base+"/tasks", tok)
		if a.status != tt.status || (tt.msg != "" && a.body["error"] != tt.msg) {
			t.Errorf("%s: %d %v, want %d %q", tt.name, a.status, a.body, tt.status, tt.msg)
		}
	}

	// The same sub of the two issuers is two users: the second issuer's
	// sees and changes nothing of the first's.
	firstTok, _ := first.Token(devissuer.TokenRequest{Subject: "auth0|same"})
	secondTok, _ := second.Token(devissuer.TokenRequest{Subject: "auth0|same"})
	req, _ := http.NewRequest("POST", base+"/tasks", strings.NewReader(`{"name":"first issuer's"}`))
	req.Header.Set("Authorization", "Bearer "+firstTok)
	req.Header.Set("Content-Type", "application/json")
	created := do(t, req)
	id, _ := created.body["task"].(map[string]any)["id"].(string)
	if created.status != http.StatusCreated || id == "" {
		t.Fatalf("POST /tasks: %d %v", created.status, created.body)
	}
	if a := get(t, base+"/tasks/"+id, secondTok); a.status != http.StatusNotFound {
		t.Errorf("the second issuer's user reads the first's task: %d %v", a.status, a.body)
	}
	if a := get(t, base+"/tasks", secondTok); len(a.body["tasks"].([]any)) != 0 {
		t.Errorf("the second issuer's user lists the first's tasks: %v", a.body)
	}
	req, _ = http.NewRequest("DELETE", base+"/tasks/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+secondTok)
	if a := do(t, req); a.status != http.StatusNotFound {
		t.Errorf("the second issuer's user deletes the first's task: %d", a.status)
	}
	if a := get(t, base+"/tasks/"+id, firstTok); a.status != http.StatusOK {
		t.Errorf("the first issuer's user lost its task: %d %v", a.status, a.body)
	}
}

// gatedIdP is a development issuer that can be taken down (every request
// answered 503) and brought back.
type gatedIdP struct {
	*devissuer.Issuer
	down    atomic.Bool
	fetches atomic.Int64
}

func startGatedIdP(t *testing.T) *gatedIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedIdP{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fetches.Add(1)
		if g.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		g.Handler().ServeHTTP(w, r)
	}))
	g.Issuer = devissuer.New(key, devissuer.WithAudience("task-manager-api"), devissuer.WithURL("http://"+srv.Listener.Addr().String()))
	srv.Start()
	t.Cleanup(srv.Close)
	return g
}

func TestServeReadyFollowsSigningKeys(t *testing.T) {
	t.Chdir(t.TempDir())
	retry := warmRetryFirst
	warmRetryFirst = 20 * time.Millisecond
	t.Cleanup(func() { warmRetryFirst = retry })

	idp := startGatedIdP(t)
	idp.down.Store(true)
	env := map[string]string{"ISSUER_BASE_URL": idp.URL(), "AUDIENCE": "task-manager-api", "METRICS": "true"}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]

	// The provider was down at start: no keys have ever been fetched.
	a := get(t, base+"/ready", "")
	if a.status != http.StatusServiceUnavailable || a.body["error"] != "Not ready: token signing keys unavailable" {
		t.Fatalf("GET /ready before any key fetch: %d %v, want 503 Not ready: token signing keys unavailable", a.status, a.body)
	}

	// The provider comes back: the background retry fetches the keys,
	// with no request needed.
	idp.down.Store(false)
	deadline := time.Now().Add(20 * time.Second) // an upper bound, not a timing assumption
	for a = get(t, base+"/ready", ""); a.status != http.StatusOK; a = get(t, base+"/ready", "") {
		if time.Now().After(deadline) {
			t.Fatalf("GET /ready after the provider came back: still %d %v after 20s", a.status, a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The provider goes down again: the cached keys still verify, and
	// the instance stays ready; /ready itself fetches nothing.
	idp.down.Store(true)
	fetches := idp.fetches.Load()
	if a := get(t, base+"/ready", ""); a.status != http.StatusOK {
		t.Errorf("GET /ready with the provider down and keys cached: %d %v, want 200", a.status, a.body)
	}
	tok, err := idp.Token(devissuer.TokenRequest{Subject: "auth0|ready"})
	if err != nil {
		t.Fatal(err)
	}
	if a := get(t, base+"/tasks", tok); a.status != http.StatusOK {
		t.Errorf("GET /tasks with the provider down and keys cached: %d %v, want 200", a.status, a.body)
	}
	if n := idp.fetches.Load(); n != fetches {
		t.Errorf("the provider was asked %d times by /ready and a verified request; want none", n-fetches)
	}

	// A tampered token is refused by the verifier, and counted by its
	// code through the API's error handler.
	if a := get(t, base+"/tasks", tamper(tok)); a.status != http.StatusUnauthorized || a.body["code"] != "invalid_token" {
		t.Errorf("GET /tasks with a tampered token: %d %v, want 401 invalid_token", a.status, a.body)
	}

	// METRICS: the verifier's counters and the store's pools are scraped
	// with the HTTP metrics.
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`taskapi_auth_key_fetches_total{kind="jwks",result="ok"} 1`,
		`taskapi_auth_verifications_total{outcome="ok"} 1`,
		`go_sql_max_open_connections{db_name="sqlite_write"} 1`,
		`taskapi_http_requests_total{method="GET",route="/tasks",status="200"} 1`,
		`taskapi_auth_failures_total{code="invalid_token"} 1`,
		"\ngo_goroutines ", "\ngo_memstats_heap_alloc_bytes ", "\nprocess_resident_memory_bytes ", "\nprocess_open_fds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
	// What promtool check metrics checks, on the scraped text.
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("GET /metrics does not lint: %v %v", err, problems)
	}
}
