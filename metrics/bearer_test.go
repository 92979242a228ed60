package metrics

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taskapi/taskapi/bearer"
)

// TestBearerCollector verifies real tokens against a local provider and
// scrapes the verifier's counters.
func TestBearerCollector(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var jwksDown atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/", "jwks_uri": srv.URL + "/jwks"})
		case "/jwks":
			if jwksDown.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	var clock atomic.Int64
	clock.Store(now.Unix())
	v, err := bearer.New(bearer.Config{IssuerBaseURL: srv.URL, Audience: []string{"api"},
		Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	token := func(kid, sub string) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
			"iss": srv.URL + "/", "aud": "api", "sub": sub, "iat": now.Unix(), "exp": now.Add(48 * time.Hour).Unix(),
		})
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	good := token("k1", "alice")
	for _, tok := range []string{good, good, good, token("k1", "bob"), good + "x", token("k2", "carol")} {
		v.Verify(ctx, tok)
	}
	clock.Add(60) // past the Cooldown: an unknown kid refetches, and the key set is down
	jwksDown.Store(true)
	v.Verify(ctx, token("k3", "dave"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewBearerCollector(v.Stats))
	want := `
# HELP taskapi_auth_introspection_cache_lookups_total Lookups in the cache of token introspection answers, by result: hit or miss.
# TYPE taskapi_auth_introspection_cache_lookups_total counter
taskapi_auth_introspection_cache_lookups_total{result="hit"} 0
taskapi_auth_introspection_cache_lookups_total{result="miss"} 0
# HELP taskapi_auth_key_fetches_total Fetches from the identity provider, by kind (discovery, jwks, introspection: a token introspection request) and result (ok, error).
# TYPE taskapi_auth_key_fetches_total counter
taskapi_auth_key_fetches_total{kind="discovery",result="error"} 0
taskapi_auth_key_fetches_total{kind="discovery",result="ok"} 1
taskapi_auth_key_fetches_total{kind="introspection",result="error"} 0
taskapi_auth_key_fetches_total{kind="introspection",result="ok"} 0
taskapi_auth_key_fetches_total{kind="jwks",result="error"} 1
taskapi_auth_key_fetches_total{kind="jwks",result="ok"} 1
# HELP taskapi_auth_token_cache_evictions_total Verified tokens dropped from the full cache to make room.
# TYPE taskapi_auth_token_cache_evictions_total counter
taskapi_auth_token_cache_evictions_total 0
# HELP taskapi_auth_token_cache_lookups_total Lookups in the verified-token cache, by result: hit or miss.
# TYPE taskapi_auth_token_cache_lookups_total counter
taskapi_auth_token_cache_lookups_total{result="hit"} 2
taskapi_auth_token_cache_lookups_total{result="miss"} 5
# HELP taskapi_auth_unknown_kid_refetches_total Key set refetches started by a token whose key id was not in the cached set.
# TYPE taskapi_auth_unknown_kid_refetches_total counter
taskapi_auth_unknown_kid_refetches_total 1
# HELP taskapi_auth_verifications_total Access token verifications, by outcome: ok, invalid (401), unavailable (no usable signing keys: 503), error (500).
# TYPE taskapi_auth_verifications_total counter
taskapi_auth_verifications_total{outcome="error"} 0
taskapi_auth_verifications_total{outcome="invalid"} 2
taskapi_auth_verifications_total{outcome="ok"} 4
taskapi_auth_verifications_total{outcome="unavailable"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 16 {
		t.Errorf("%d series (%v), want 16", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
