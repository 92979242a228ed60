package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The client secret has characters that RFC 6749 §2.3.1 form-encodes
// before Basic encoding.
const (
	introClientID = "rs:api"
	introSecret   = "s3cr3t+/&=:sauce"
	opaqueToken   = "opaque-3Kf9xQ"
)

// fakeIntrospection is an authorization server with discovery and an
// introspection endpoint that authenticates the client by either method.
type fakeIntrospection struct {
	*httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	// answer writes the endpoint's answer once the client is
	// authenticated; tokens are what it was asked about.
	answer func(w http.ResponseWriter, token string)
	tokens []string
	basic  bool // the last request authenticated with Basic
	jwks   []byte
}

func newFakeIntrospection(t testing.TB) *fakeIntrospection {
	f := &fakeIntrospection{}
	f.Server = newBenchIntrospection(t, f)
	f.setAnswer(activeAnswer(nil))
	return f
}

// newBenchIntrospection starts the server of f.
func newBenchIntrospection(t testing.TB, f *fakeIntrospection) *httptest.Server {
	testKeys(t)
	f.jwks = jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256"))
	s := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(s.Close)
	return s
}

func (f *fakeIntrospection) setAnswer(a func(w http.ResponseWriter, token string)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func (f *fakeIntrospection) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]string{"issuer": f.URL + "/", "jwks_uri": f.URL + "/jwks", "introspection_endpoint": f.URL + "/introspect"})
		return
	case "/jwks":
		w.Write(f.jwks)
		return
	case "/introspect":
	default:
		http.NotFound(w, r)
		return
	}
	f.calls.Add(1)
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("token_type_hint") != "access_token" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != introClientID || secret != introSecret {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	f.mu.Lock()
	f.tokens = append(f.tokens, r.PostForm.Get("token"))
	f.basic = basic
	answer := f.answer
	f.mu.Unlock()
	answer(w, r.PostForm.Get("token"))
}

// activeAnswer answers an active token with good claims, over replaced
// by those of over (a nil value deletes the claim).
func activeAnswer(over map[string]any) func(http.ResponseWriter, string) {
	return func(w http.ResponseWriter, _ string) {
		m := map[string]any{"active": true, "iss": testIssuer, "aud": testAudience, "sub": "user-1",
			"client_id": "app", "scope": "read:tasks", "token_type": "Bearer",
			"iat": testNow.Unix() - 10, "exp": testNow.Unix() + 3600}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		json.NewEncoder(w).Encode(m)
	}
}

func rawAnswer(status int, body string) func(http.ResponseWriter, string) {
	return func(w http.ResponseWriter, _ string) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// introVerifier returns a verifier of JWTs (the test key) and of opaque
// tokens at f, with mod applied to its Config.
func introVerifier(t *testing.T, f *fakeIntrospection, clk *clock, mod func(*Config)) *Verifier {
	t.Helper()
	testKeys(t)
	cfg := Config{
		Audience:  []string{testAudience},
		Issuer:    testIssuer,
		PublicKey: jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")),
		Now:       clk.Now,
		Timeout:   300 * time.Millisecond,
		Introspection: IntrospectionOptions{Mode: JWTAndIntrospection, Endpoint: f.URL + "/introspect",
			ClientID: introClientID, ClientSecret: introSecret},
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// noSecret fails when err, in any form, shows the client secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			if strings.Contains(s, introSecret) || strings.Contains(s, url.QueryEscape(introSecret)) {
				t.Errorf("error shows the client secret: %s", s)
			}
		}
	}
}

func TestIntrospectionAnswers(t *testing.T) {
	huge := `{"active":true,"pad":"` + strings.Repeat("x", 2<<10) + `"}`
	slow := func(w http.ResponseWriter, _ string) { time.Sleep(time.Second); w.Write([]byte(`{"active":true}`)) }
	cases := []struct {
		name   string
		answer func(http.ResponseWriter, string)
		secret string // "" : the right one
		status int
		code   string
		msg    string
	}{
		{"active", activeAnswer(nil), "", 200, "", ""},
		{"inactive", rawAnswer(200, `{"active":false}`), "", 401, CodeInvalidToken, msgInactive},
		{"wrong iss", activeAnswer(map[string]any{"iss": "https://evil.example.com/"}), "", 401, CodeInvalidToken, "Unexpected 'iss' value"},
		{"no iss", activeAnswer(map[string]any{"iss": nil}), "", 401, CodeInvalidToken, "Unexpected 'iss' value"},
		{"wrong aud", activeAnswer(map[string]any{"aud": "https://other/"}), "", 401, CodeInvalidToken, "Unexpected 'aud' value"},
		{"expired", activeAnswer(map[string]any{"exp": testNow.Unix() - 60}), "", 401, CodeInvalidToken, `"exp" claim timestamp check failed`},
		{"no exp", activeAnswer(map[string]any{"exp": nil}), "", 401, CodeInvalidToken, "Unexpected 'exp' value"},
		{"not yet valid", activeAnswer(map[string]any{"nbf": testNow.Unix() + 600}), "", 401, CodeInvalidToken, `"nbf" claim timestamp check failed`},
		{"refresh token", activeAnswer(map[string]any{"token_type": "refresh_token"}), "", 401, CodeInvalidToken, msgNotAccessToken},
		{"token_type not a string", activeAnswer(map[string]any{"token_type": 1}), "", 401, CodeInvalidToken, msgNotAccessToken},
		{"Hydra refresh token", activeAnswer(map[string]any{"token_type": nil, "token_use": "refresh_token"}), "", 401, CodeInvalidToken, msgNotAccessToken},
		{"Hydra access token", activeAnswer(map[string]any{"token_type": nil, "token_use": "access_token"}), "", 200, "", ""},
		{"provider 500", rawAnswer(500, `oops`), "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"provider timeout", slow, "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"not JSON", rawAnswer(200, `<html>hello</html>`), "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"JSON array", rawAnswer(200, `[{"active":true}]`), "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"active not boolean", rawAnswer(200, `{"active":"true","iss":"x"}`), "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"huge answer", rawAnswer(200, huge), "", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
		{"wrong client secret", activeAnswer(nil), "not-the-secret", 503, CodeTemporarilyUnavailable, msgIntrospectFails},
	}
	for _, tc := range cases {
		for _, method := range []string{ClientSecretBasic, ClientSecretPost} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				f := newFakeIntrospection(t)
				f.setAnswer(tc.answer)
				v := introVerifier(t, f, newClock(), func(c *Config) {
					c.Introspection.AuthMethod = method
					c.Introspection.MaxResponseBytes = 1 << 10
					if tc.secret != "" {
						c.Introspection.ClientSecret = tc.secret
					}
				})
				claims, err := v.Verify(context.Background(), opaqueToken)
				if tc.status == 200 {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if claims.Subject() != "user-1" || !claims.HasScope("read:tasks") || claims.Token != opaqueToken {
						t.Errorf("claims = %+v", claims)
					}
					if f.basic != (method == ClientSecretBasic) {
						t.Errorf("authenticated with Basic = %v", f.basic)
					}
					return
				}
				var e *Error
				if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code || e.Message != tc.msg {
					t.Fatalf("err = %#v, want %d %s %q", err, tc.status, tc.code, tc.msg)
				}
				if tc.status == 503 && e.RetryAfter <= 0 {
					t.Errorf("RetryAfter = %v, want > 0", e.RetryAfter)
				}
				noSecret(t, err)
			})
		}
	}
}

func TestIntrospectionWrongCredentialsIsAClearError(t *testing.T) {
	f := newFakeIntrospection(t)
	v := introVerifier(t, f, newClock(), func(c *Config) { c.Introspection.ClientSecret = "wrong-" + introSecret })
	err := v.Warm(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused the client credentials") || !strings.Contains(err.Error(), introClientID) {
		t.Fatalf("Warm = %v, want a refusal naming the client", err)
	}
	noSecret(t, err)
	if _, err := v.Verify(context.Background(), opaqueToken); err == nil {
		t.Fatal("Verify accepted a token with refused client credentials")
	}
	if err := v.Ready(); err == nil || !strings.Contains(err.Error(), "refused the client credentials") {
		t.Fatalf("Ready = %v, want the refusal", err)
	}
	good := introVerifier(t, f, newClock(), nil)
	if err := good.Warm(context.Background()); err != nil {
		t.Fatalf("Warm with good credentials = %v", err)
	}
	if err := good.Ready(); err != nil {
		t.Fatalf("Ready = %v", err)
	}
}

func TestIntrospectionScopesAndHandlerClaims(t *testing.T) {
	f := newFakeIntrospection(t)
	v := introVerifier(t, f, newClock(), nil)
	for _, tc := range []struct {
		scope  string
		status int
	}{{"read:tasks", 200}, {"write:tasks", 403}} {
		rec := serve(v, bearerReq(opaqueToken), Must(RequiredScopes(tc.scope)))
		if rec.Code != tc.status {
			t.Errorf("scope %s: status %d, want %d (%s)", tc.scope, rec.Code, tc.status, rec.Body)
		}
		if tc.status == 200 && !strings.Contains(rec.Body.String(), `"sub":"user-1"`) {
			t.Errorf("handler saw %s", rec.Body)
		}
	}
	// Decode works on introspected claims as on a JWT's.
	c, err := v.Verify(context.Background(), opaqueToken)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeClaims[struct {
		ClientID string `json:"client_id"`
	}](c)
	if err != nil || got.ClientID != "app" {
		t.Errorf("DecodeClaims = %+v, %v", got, err)
	}
}

func TestIntrospectionModes(t *testing.T) {
	testKeys(t)
	jwtToken := rs256(t, baseClaims(testIssuer))
	for _, tc := range []struct {
		mode      IntrospectionMode
		token     string
		wantCalls int32
	}{
		{JWTAndIntrospection, jwtToken, 0},
		{JWTAndIntrospection, opaqueToken, 1},
		{IntrospectionOnly, jwtToken, 1},
		{JWTOnly, opaqueToken, 0},
	} {
		f := newFakeIntrospection(t)
		v := introVerifier(t, f, newClock(), func(c *Config) {
			c.Introspection.Mode = tc.mode
			c.Audience = []string{testAudience, "https://api.example.com/"}
		})
		_, err := v.Verify(context.Background(), tc.token)
		if got := f.calls.Load(); got != tc.wantCalls {
			t.Errorf("mode %d, token %.10s…: %d introspections, want %d (err %v)", tc.mode, tc.token, got, tc.wantCalls, err)
		}
		if tc.mode == JWTOnly && err == nil {
			t.Errorf("JWTOnly accepted an opaque token")
		}
	}
}

func TestIntrospectionDiscoveredEndpoint(t *testing.T) {
	f := newFakeIntrospection(t)
	testKeys(t)
	f.setAnswer(func(w http.ResponseWriter, tok string) {
		activeAnswer(map[string]any{"iss": f.URL + "/"})(w, tok)
	})
	v := introVerifier(t, f, newClock(), func(c *Config) {
		c.Issuer, c.PublicKey, c.IssuerBaseURL, c.Introspection.Endpoint = "", nil, f.URL, ""
	})
	if _, err := v.Verify(context.Background(), opaqueToken); err != nil || f.calls.Load() != 1 {
		t.Fatalf("Verify = %v after %d introspections", err, f.calls.Load())
	}
}

func TestIntrospectionCache(t *testing.T) {
	ctx := context.Background()
	t.Run("active until the bound, then asked again", func(t *testing.T) {
		f := newFakeIntrospection(t)
		clk := newClock()
		v := introVerifier(t, f, clk, func(c *Config) { c.Introspection.CacheMaxAge = 30 * time.Second })
		for range 3 {
			if _, err := v.Verify(ctx, opaqueToken); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("%d introspections for three requests, want 1", n)
		}
		f.setAnswer(rawAnswer(200, `{"active":false}`)) // revoked
		clk.Add(29 * time.Second)
		if _, err := v.Verify(ctx, opaqueToken); err != nil {
			t.Fatalf("within the bound: %v", err)
		}
		clk.Add(time.Second)
		if _, err := v.Verify(ctx, opaqueToken); err == nil {
			t.Fatal("revoked token accepted after the cache bound")
		}
	})
	t.Run("never beyond exp", func(t *testing.T) {
		f := newFakeIntrospection(t)
		f.setAnswer(activeAnswer(map[string]any{"exp": testNow.Unix() + 10}))
		clk := newClock()
		v := introVerifier(t, f, clk, nil)
		if _, err := v.Verify(ctx, opaqueToken); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Second)
		v.Verify(ctx, opaqueToken)
		if n := f.calls.Load(); n != 2 {
			t.Fatalf("%d introspections, want 2: the answer was reused past exp", n)
		}
	})
	t.Run("inactive briefly", func(t *testing.T) {
		f := newFakeIntrospection(t)
		f.setAnswer(rawAnswer(200, `{"active":false}`))
		clk := newClock()
		v := introVerifier(t, f, clk, func(c *Config) { c.Introspection.InactiveCacheMaxAge = 2 * time.Second })
		v.Verify(ctx, opaqueToken)
		v.Verify(ctx, opaqueToken)
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("%d introspections, want 1", n)
		}
		clk.Add(2 * time.Second)
		v.Verify(ctx, opaqueToken)
		if n := f.calls.Load(); n != 2 {
			t.Fatalf("%d introspections, want 2", n)
		}
	})
	t.Run("failures are not cached", func(t *testing.T) {
		f := newFakeIntrospection(t)
		f.setAnswer(rawAnswer(500, ""))
		v := introVerifier(t, f, newClock(), nil)
		v.Verify(ctx, opaqueToken)
		f.setAnswer(activeAnswer(nil))
		if _, err := v.Verify(ctx, opaqueToken); err != nil {
			t.Fatalf("after the provider recovered: %v", err)
		}
		v.Verify(ctx, opaqueToken)
		s := v.Stats()
		if s.IntrospectionErrors != 1 || s.IntrospectionRequests != 1 || s.IntrospectionCacheMisses != 2 || s.IntrospectionCacheHits != 1 ||
			s.VerifyUnavailable != 1 || s.VerifyOK != 2 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("concurrent requests share one call", func(t *testing.T) {
		f := newFakeIntrospection(t)
		f.setAnswer(func(w http.ResponseWriter, tok string) {
			time.Sleep(100 * time.Millisecond)
			activeAnswer(nil)(w, tok)
		})
		v := introVerifier(t, f, newClock(), nil)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := v.Verify(ctx, opaqueToken)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("%d introspections for 20 concurrent requests, want 1", n)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		f := newFakeIntrospection(t)
		v := introVerifier(t, f, newClock(), func(c *Config) { c.Introspection.CacheSize = 2 })
		for i := range 5 {
			v.Verify(ctx, fmt.Sprintf("opaque-%d", i))
		}
		if n := len(v.introspection.cache.m); n > 2 {
			t.Fatalf("cache holds %d answers, bound 2", n)
		}
		for k := range v.introspection.cache.m {
			if strings.Contains(string(k[:]), "opaque-") {
				t.Fatal("cache keyed by the raw token")
			}
		}
	})
}

func TestIntrospectionConfig(t *testing.T) {
	base := func() Config {
		return Config{Audience: []string{"api"}, Issuer: testIssuer, Introspection: IntrospectionOptions{
			Mode: IntrospectionOnly, Endpoint: "https://idp.example.com/introspect", ClientID: "rs", ClientSecret: introSecret}}
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" : accepted
	}{
		{"introspection only needs no keys", func(*Config) {}, ""},
		{"no secret", func(c *Config) { c.Introspection.ClientSecret = "" }, "Introspection needs a ClientID and a ClientSecret"},
		{"no client", func(c *Config) { c.Introspection.ClientID = "" }, "Introspection needs a ClientID and a ClientSecret"},
		{"bad method", func(c *Config) { c.Introspection.AuthMethod = "none" }, "Introspection.AuthMethod must be client_secret_basic or client_secret_post"},
		{"bad mode", func(c *Config) {
			c.Introspection.Mode, c.Secret, c.TokenSigningAlg = 7, strings.Repeat("k", 32), "HS256"
		}, "Introspection.Mode is unknown"},
		{"http off loopback", func(c *Config) { c.Introspection.Endpoint = "http://idp.example.com/i" }, "introspection endpoint uses plain http off loopback"},
		{"relative endpoint", func(c *Config) { c.Introspection.Endpoint = "/i" }, "introspection endpoint must be an absolute http or https URL"},
		{"no endpoint to discover", func(c *Config) { c.Introspection.Endpoint = "" }, msgNeedSource},
		{"both modes need keys for JWTs", func(c *Config) { c.Introspection.Mode = JWTAndIntrospection }, msgNeedSource},
		{"negative bound", func(c *Config) { c.Introspection.CacheMaxAge = -1 }, "Introspection durations and sizes must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mod(&cfg)
			_, err := New(cfg)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Fatalf("New = %v, want %q", err, tc.want)
			}
		})
	}
	if s := fmt.Sprintf("%v %+v %#v", base(), base(), base()); strings.Contains(s, introSecret) {
		t.Fatalf("printed Config shows the client secret: %s", s)
	}
}
