package bearer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer"
)

// provider is a stand-in OpenID provider for the examples: discovery at
// /.well-known/openid-configuration, its RSA key at /jwks.json.
func provider() (*httptest.Server, *rsa.PrivateKey) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL + "/", "jwks_uri": srv.URL + "/jwks.json"})
	})
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600") // honoured: keys kept an hour
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	return srv, key
}

// issue signs an RS256 access token as the provider would.
func issue(key *rsa.PrivateKey, issuer string, extra jwt.MapClaims) string {
	claims := jwt.MapClaims{"iss": issuer, "sub": "auth0|42", "aud": "task-manager-api",
		"scope": "read:tasks", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = "k1"
	s, _ := t.SignedString(key)
	return s
}

// An RS256 token from a provider found by OpenID Connect discovery: the
// issuer's URL and the API's audience are all the configuration.
func Example_discovery() {
	idp, key := provider()
	defer idp.Close()

	v, err := bearer.New(bearer.Config{
		IssuerBaseURL: idp.URL, // discovery, then the jwks_uri it names
		Audience:      []string{"task-manager-api"},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	if err := v.Warm(context.Background()); err != nil { // optional: fetch before serving
		panic(err)
	}
	api := v.Authenticate(bearer.Must(bearer.RequiredScopes("read:tasks"))(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := bearer.FromContext(r.Context())
			fmt.Fprintf(w, "tasks of %s", claims.Subject())
		})))

	for _, token := range []string{issue(key, idp.URL+"/", nil), issue(key, "https://evil.example/", nil)} {
		r := httptest.NewRequest(http.MethodGet, "/tasks", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 tasks of auth0|42
	// 401 {"error":"Unexpected 'iss' value","code":"invalid_token"}
}

// A claim check that looks something up with the request's context and
// says why it refuses; the payload decoded into the caller's own type.
func Example_customClaimCheck() {
	idp, key := provider()
	defer idp.Close()

	suspended := map[string]bool{"globex": true} // a tenant table, say
	v, _ := bearer.New(bearer.Config{
		IssuerBaseURL: idp.URL,
		Audience:      []string{"task-manager-api"},
		Validators: map[string]bearer.Validator{
			"https://example.com/tenant": func(ctx context.Context, value any, _ *bearer.Claims) error {
				tenant, _ := value.(string)
				if tenant == "" {
					return bearer.ErrUnexpectedValue // "Unexpected '<claim>' value"
				}
				if suspended[tenant] {
					return fmt.Errorf("Tenant %s is suspended", tenant) // the client's message
				}
				return nil
			},
			"azp": bearer.Equals("my-spa"), // the simple kind
		},
	})
	defer v.Close()

	type myClaims struct {
		Subject string `json:"sub"`
		Tenant  string `json:"https://example.com/tenant"`
	}
	for _, tenant := range []string{"acme", "globex"} {
		token := issue(key, idp.URL+"/", jwt.MapClaims{"https://example.com/tenant": tenant, "azp": "my-spa"})
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			var e *bearer.Error
			errors.As(err, &e)
			fmt.Println(e.Status, e.Message)
			continue
		}
		mine, _ := bearer.DecodeClaims[myClaims](claims)
		fmt.Printf("%+v\n", mine)
	}
	// Output:
	// {Subject:auth0|42 Tenant:acme}
	// 401 Tenant globex is suspended
}

// The token in a cookie, for a browser client; the header, the query and
// the form body still work, one at a time.
func Example_cookie() {
	idp, key := provider()
	defer idp.Close()
	v, _ := bearer.New(bearer.Config{
		IssuerBaseURL: idp.URL,
		Audience:      []string{"task-manager-api"},
		TokenCookie:   "access_token", // set it HttpOnly, Secure, SameSite
	})
	defer v.Close()
	api := v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject())
	}))
	token := issue(key, idp.URL+"/", nil)

	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.AddCookie(&http.Cookie{Name: "access_token", Value: token})
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	r.Header.Set("Authorization", "Bearer "+token) // and a header too
	w = httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 hello auth0|42
	// 400 {"error":"More than one method used for authentication","code":"invalid_request"}
}

// A DPoP-bound token (RFC 9449): the client proves it holds the key the
// token is bound to with a proof per request; a replayed proof is refused.
func Example_dPoP() {
	idp, key := provider()
	defer idp.Close()
	v, _ := bearer.New(bearer.Config{
		IssuerBaseURL: idp.URL,
		Audience:      []string{"task-manager-api"},
		DPoP:          bearer.DPoPOptions{Required: true}, // DPoP only; the zero value accepts both
	})
	defer v.Close()
	api := v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proof, _ := bearer.ProofFromContext(r.Context())
		fmt.Fprintf(w, "bound to %s", proof.Thumbprint[:8])
	}))

	// The client's key, and the token the provider bound to it (cnf.jkt).
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := jose.JSONWebKey{Key: &clientKey.PublicKey}
	thumb, _ := pub.Thumbprint(crypto.SHA256)
	jkt := base64.RawURLEncoding.EncodeToString(thumb)
	token := issue(key, idp.URL+"/", jwt.MapClaims{"cnf": map[string]any{"jkt": jkt}})

	// The proof: the method and URL of this request, the token's hash.
	ath := sha256.Sum256([]byte(token))
	p := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"htm": "GET", "htu": "https://api.example.com/tasks", "iat": time.Now().Unix(),
		"jti": "proof-1", "ath": base64.RawURLEncoding.EncodeToString(ath[:]),
	})
	p.Header["typ"] = "dpop+jwt"
	p.Header["jwk"] = pub
	proof, _ := p.SignedString(clientKey)

	for range 2 { // the same proof twice
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/tasks", nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String() == "bound to "+jkt[:8])
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println(c)
		}
	}
	// Output:
	// 200 true
	// 400 false
	// DPoP error="invalid_dpop_proof", error_description="DPoP proof 'jti' has already been used", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES256K ES384 ES512 EdDSA"
}
