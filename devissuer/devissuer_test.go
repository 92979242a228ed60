package devissuer_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/devissuer"
)

func getJSON(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
	return res
}

func TestDiscovery(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") || strings.HasSuffix(iss.URL(), "/") {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT", iss.URL())
	}
	var doc map[string]any
	getJSON(t, iss.URL()+"/.well-known/openid-configuration", &doc)
	if got, want := doc["issuer"], iss.URL()+"/"; got != want {
		t.Errorf("issuer = %v, want %v", got, want)
	}
	if got, want := doc["jwks_uri"], iss.URL()+"/.well-known/jwks.json"; got != want {
		t.Errorf("jwks_uri = %v, want %v", got, want)
	}
	if got := doc["id_token_signing_alg_values_supported"]; !slices.Equal(toStrings(got), []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v, want [RS256]", got)
	}
	if _, ok := doc["token_endpoint"]; ok {
		t.Errorf("token_endpoint advertised, but there is none")
	}
}

func toStrings(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, e := range a {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// publishedKey fetches the issuer's JWKS and decodes its one key by hand,
// checking that it carries nothing private.
func publishedKey(t *testing.T, iss *devissuer.Issuer) (kid string, pub *rsa.PublicKey) {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	getJSON(t, iss.URL()+"/.well-known/jwks.json", &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	var members []string
	for name := range k {
		members = append(members, name)
	}
	slices.Sort(members)
	if want := []string{"alg", "e", "kid", "kty", "n", "use"}; !slices.Equal(members, want) {
		t.Fatalf("JWK members = %v, want exactly %v (no private parts)", members, want)
	}
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] != iss.KeyID() {
		t.Fatalf("JWK = %v, want kty RSA, alg RS256, use sig, kid %s", k, iss.KeyID())
	}
	n, err1 := base64.RawURLEncoding.DecodeString(k["n"])
	e, err2 := base64.RawURLEncoding.DecodeString(k["e"])
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("JWK n/e: %v", err)
	}
	return k["kid"], &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

func TestJWKSPublishesPublicKey(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	_, pub := publishedKey(t, iss)
	if !pub.Equal(iss.PublicKey()) {
		t.Fatal("published key differs from the signing key's public half")
	}
}

func TestTokenVerifiesWithPublishedKey(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	iss := devissuer.NewTestServer(t, devissuer.WithClock(func() time.Time { return now }))
	kid, pub := publishedKey(t, iss)

	tok, err := iss.Token(devissuer.TokenRequest{
		Subject:     "dev|alice",
		Audience:    []string{"task-manager-api"},
		Scope:       "read:tasks write:tasks",
		Permissions: []string{"read:tasks"},
		TTL:         2 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != kid {
			return nil, errors.New("unknown kid")
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(iss.URL()+"/"),
		jwt.WithAudience("task-manager-api"),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now.Add(time.Minute) }),
	)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if parsed.Header["typ"] != "JWT" {
		t.Errorf("typ = %v, want JWT", parsed.Header["typ"])
	}
	want := map[string]any{
		"iss":         iss.URL() + "/",
		"sub":         "dev|alice",
		"aud":         []any{"task-manager-api", iss.URL() + "/userinfo"},
		"iat":         float64(now.Unix()),
		"exp":         float64(now.Add(2 * time.Hour).Unix()),
		"azp":         devissuer.DefaultClientID,
		"scope":       "read:tasks write:tasks",
		"permissions": []any{"read:tasks"},
	}
	got, _ := json.Marshal(claims)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("claims\n got %s\nwant %s", got, wantJSON)
	}

	// A token with one signature character changed no longer verifies.
	// (Not the last character: its low bits are padding.)
	i := len(tok) - 10
	tampered := tok[:i] + string("AB"[bool2int(tok[i] == 'A')]) + tok[i+1:]
	if _, err := jwt.Parse(tampered, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithTimeFunc(func() time.Time { return now })); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("tampered token: err = %v, want a signature error", err)
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTokenRequests(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	iss := devissuer.NewTestServer(t, devissuer.WithClock(func() time.Time { return now }))
	tests := []struct {
		name    string
		req     devissuer.TokenRequest
		wantErr string
		check   func(t *testing.T, c map[string]any)
	}{
		{name: "defaults", req: devissuer.TokenRequest{Subject: "u"}, check: func(t *testing.T, c map[string]any) {
			if got := c["exp"].(float64) - c["iat"].(float64); got != devissuer.DefaultTTL.Seconds() {
				t.Errorf("lifetime %vs, want %v", got, devissuer.DefaultTTL)
			}
			if got := toStrings(c["aud"]); !slices.Equal(got, []string{"task-manager-api", iss.URL() + "/userinfo"}) {
				t.Errorf("aud = %v", got)
			}
			for _, absent := range []string{"scope", "permissions"} {
				if _, ok := c[absent]; ok {
					t.Errorf("%s present, want absent", absent)
				}
			}
		}},
		{name: "no subject", req: devissuer.TokenRequest{}, check: func(t *testing.T, c map[string]any) {
			if _, ok := c["sub"]; ok {
				t.Errorf("sub = %v, want absent", c["sub"])
			}
		}},
		{name: "extra overrides and removes", req: devissuer.TokenRequest{
			Subject: "u", Extra: map[string]any{"sub": 42, "exp": nil, "org_id": "o1"},
		}, check: func(t *testing.T, c map[string]any) {
			if c["sub"] != float64(42) || c["org_id"] != "o1" {
				t.Errorf("sub = %v, org_id = %v", c["sub"], c["org_id"])
			}
			if _, ok := c["exp"]; ok {
				t.Errorf("exp present, want removed")
			}
		}},
		{name: "negative ttl is expired", req: devissuer.TokenRequest{Subject: "u", TTL: -time.Minute}, check: func(t *testing.T, c map[string]any) {
			if c["exp"].(float64) >= float64(now.Unix()) {
				t.Errorf("exp %v not before now %v", c["exp"], now.Unix())
			}
		}},
		{name: "ttl over max", req: devissuer.TokenRequest{Subject: "u", TTL: devissuer.MaxTTL + time.Second}, wantErr: "over the maximum"},
		{name: "empty audience", req: devissuer.TokenRequest{Subject: "u", Audience: []string{""}}, wantErr: "empty audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Token(tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestTokenWithoutAudienceOrURL(t *testing.T) {
	key := testKey(t)
	if _, err := devissuer.New(key, devissuer.WithURL("http://127.0.0.1:1")).Token(devissuer.TokenRequest{Subject: "u"}); err == nil || !strings.Contains(err.Error(), "no audience") {
		t.Errorf("no audience: err = %v", err)
	}
	unbound := devissuer.New(key, devissuer.WithAudience("a"))
	if _, err := unbound.Token(devissuer.TokenRequest{Subject: "u"}); err == nil || !strings.Contains(err.Error(), "URL not set") {
		t.Errorf("no URL: err = %v", err)
	}
	rec := httptest.NewRecorder()
	unbound.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/openid-configuration", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("discovery without URL: %d, want 503", rec.Code)
	}
	rec = httptest.NewRecorder()
	unbound.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST jwks: %d, want 405", rec.Code)
	}
}

var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testKey(t *testing.T) *rsa.PrivateKey {
	k, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taskapi-dev-key.pem")
	k1, err := devissuer.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if block, _ := pem.Decode(b); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("key file is not a PEM PKCS #8 key:\n%s", b)
	}
	k2, err := devissuer.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("reloaded key differs")
	}
	if a, b := devissuer.New(k1).KeyID(), devissuer.New(k2).KeyID(); a != b || a == "" {
		t.Errorf("kids %q and %q, want equal and non-empty", a, b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the key (no temporary left)", len(entries))
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pem")
	const n = 3
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = devissuer.LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	onDisk, err := devissuer.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if !k.Equal(onDisk) {
			t.Errorf("caller %d got a key other than the one on disk", i)
		}
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not pem", "hello", "no PEM block"},
		{"wrong type", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `"CERTIFICATE"`},
		{"garbage der", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".pem")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := devissuer.LoadOrCreateKey(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to contain %q and the path", err, tt.want)
			}
		})
	}
	if _, err := devissuer.LoadOrCreateKey(filepath.Join(dir, "missing-dir", "k.pem")); err == nil {
		t.Error("key in a missing directory: no error")
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.1:5001", true},
		{"localhost:0", true},
		{"[::1]:0", true},
		{":0", false},
		{"0.0.0.0:5001", false},
		{"[::]:0", false},
		{"192.0.2.10:0", false},
		{"example.com:0", false},
		{"127.0.0.1", false}, // no port
	}
	for _, tt := range tests {
		err := devissuer.CheckLoopback(tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestStart(t *testing.T) {
	var logs bytes.Buffer
	iss := devissuer.New(testKey(t), devissuer.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := iss.Start("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("Start(0.0.0.0:0) = %v, want a refusal", err)
	}
	if err := iss.Start("localhost:0"); err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT", iss.URL())
	}
	if err := iss.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start: no error")
	}
	var doc devissuer.Discovery
	getJSON(t, iss.URL()+devissuer.DiscoveryPath, &doc)
	if doc.Issuer != iss.URL()+"/" {
		t.Errorf("issuer = %q", doc.Issuer)
	}
	if !strings.Contains(logs.String(), "development only") || !strings.Contains(logs.String(), "loopback") {
		t.Errorf("log does not say development only / loopback:\n%s", logs.String())
	}
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(iss.URL() + devissuer.DiscoveryPath); err == nil {
		t.Error("issuer still answers after Close")
	}
}
