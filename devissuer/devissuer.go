// Package devissuer is a development OAuth 2.0 token issuer: an
// OpenID-Connect-looking authorization server reduced to what a resource
// server needs to verify tokens (a discovery document and a JSON Web Key
// Set), plus a way to mint RS256 access tokens shaped like Auth0's.
//
// It exists for `taskapi dev` and for tests. Anyone who can call Token gets
// a token. With registered clients (WithClient) it also runs the
// authorization code flow with PKCE for browsers and native applications:
// a sign-in page that asks which user to be, with no password, a token
// endpoint and an end-session endpoint. It therefore serves only on
// loopback addresses (Start refuses any other; the sign-in endpoints also
// refuse requests naming another host) and must never stand in for a real
// identity provider.
package devissuer

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Paths the issuer serves, relative to its URL.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/.well-known/jwks.json"
)

// Defaults of a TokenRequest.
const (
	// DefaultTTL is the lifetime of a token whose request gives none:
	// Auth0's default for an API (86400 s).
	DefaultTTL = 24 * time.Hour
	// MaxTTL bounds the lifetime a request may ask for.
	MaxTTL = 365 * 24 * time.Hour
	// DefaultClientID is the "azp" of the tokens.
	DefaultClientID = "taskapi-dev"
)

// Issuer is a development token issuer. Its methods are safe for
// concurrent use once its URL is known (set by WithURL, Start or
// NewTestServer).
type Issuer struct {
	key      *rsa.PrivateKey
	kid      string
	signer   jose.Signer
	now      func() time.Time
	logger   *slog.Logger
	clientID string
	audience []string
	// The authorization code flow: registered clients, the user the
	// sign-in page proposes, and the requests, codes and sessions.
	clients        []Client
	defaultSubject string
	flows          *flowState

	mu     sync.Mutex
	url    string       // scheme://host:port, no trailing slash
	server *http.Server // set by Start
	done   chan struct{}
}

// Option configures an Issuer.
type Option func(*Issuer)

// WithURL sets the base URL the issuer is reachable at, for an Issuer whose
// Handler is served by the caller rather than by Start. A trailing slash is
// ignored.
func WithURL(u string) Option { return func(i *Issuer) { i.url = strings.TrimRight(u, "/") } }

// WithClock sets the clock that stamps iat and exp (default time.Now).
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.now = now } }

// WithLogger sets the logger Start reports to (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(i *Issuer) { i.logger = l } }

// WithClientID sets the "azp" claim of the tokens (default DefaultClientID).
func WithClientID(id string) Option { return func(i *Issuer) { i.clientID = id } }

// WithAudience sets the audience of a TokenRequest that names none.
func WithAudience(aud ...string) Option {
	return func(i *Issuer) { i.audience = append([]string(nil), aud...) }
}

// New returns an issuer that signs with key (RS256). Its key id is the
// RFC 7638 thumbprint of the public key, so the same key always gets the
// same kid. New panics if key is nil or cannot sign, a programming error.
func New(key *rsa.PrivateKey, opts ...Option) *Issuer {
	if key == nil {
		panic("devissuer: nil key")
	}
	i := &Issuer{key: key, now: time.Now, clientID: DefaultClientID, defaultSubject: DefaultSubject, flows: newFlowState()}
	for _, o := range opts {
		o(i)
	}
	if i.logger == nil {
		i.logger = slog.Default()
	}
	i.kid = KeyID(&key.PublicKey)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: i.kid, Algorithm: string(jose.RS256)}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		panic("devissuer: " + err.Error())
	}
	i.signer = signer
	return i
}

// KeyID returns the key id the issuer gives pub: its RFC 7638 SHA-256
// thumbprint, base64url-encoded.
func KeyID(pub *rsa.PublicKey) string {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil { // only for unsupported key types; pub is RSA
		panic("devissuer: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// URL returns the issuer's base URL without a trailing slash, the value for
// ISSUER_BASE_URL; "" until the URL is known.
func (i *Issuer) URL() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.url
}

// Issuer returns the "iss" of the tokens: the URL with a trailing slash,
// as Auth0 writes it.
func (i *Issuer) Issuer() string { return i.URL() + "/" }

// KeyID returns the "kid" of the signing key.
func (i *Issuer) KeyID() string { return i.kid }

// PublicKey returns the public half of the signing key.
func (i *Issuer) PublicKey() *rsa.PublicKey { return &i.key.PublicKey }

// Discovery is the issuer's OpenID Connect discovery document: the members
// a resource server reads and, with registered clients, those of the
// authorization code flow.
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint,omitempty"`
	EndSessionEndpoint                string   `json:"end_session_endpoint,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// Handler returns the HTTP handler of the discovery document and the key
// set (both readable by any origin's scripts, as public documents) and,
// with registered clients, of the authorization, token and end-session
// endpoints. It answers 503 while the issuer's URL is unknown.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, func(w http.ResponseWriter, r *http.Request) {
		base := i.URL()
		if base == "" {
			http.Error(w, "issuer URL not set", http.StatusServiceUnavailable)
			return
		}
		doc := Discovery{
			Issuer:                           base + "/",
			JWKSURI:                          base + JWKSPath,
			IDTokenSigningAlgValuesSupported: []string{string(jose.RS256)},
			SubjectTypesSupported:            []string{"public"},
			ResponseTypesSupported:           []string{"token"},
		}
		if len(i.clients) > 0 {
			doc.ResponseTypesSupported = []string{"code"}
			doc.AuthorizationEndpoint = base + AuthorizePath
			doc.TokenEndpoint = base + TokenPath
			doc.EndSessionEndpoint = base + EndSessionPath
			doc.ScopesSupported = supportedScopes
			doc.GrantTypesSupported = []string{"authorization_code"}
			doc.CodeChallengeMethodsSupported = []string{"S256"}
			doc.TokenEndpointAuthMethodsSupported = []string{"none"}
			doc.AuthorizationResponseIssParameter = true
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeJSON(w, doc)
	})
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeJSON(w, i.JWKS())
	})
	if len(i.clients) > 0 {
		i.mountFlows(mux)
	}
	return mux
}

// JWKS returns the published key set: the public key only, with its kid,
// alg RS256 and use "sig".
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &i.key.PublicKey,
		KeyID:     i.kid,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(append(b, '\n'))
}

// TokenRequest describes an access token to mint.
type TokenRequest struct {
	// Subject is the "sub" claim; omitted when empty (to test tokens
	// without one).
	Subject string
	// Audience is the API identifier(s); the "aud" claim is these followed
	// by the issuer's userinfo URL, as Auth0 issues it. Empty: the
	// issuer's WithAudience default; without one Token fails.
	Audience []string
	// Scope is the space-separated "scope" claim; omitted when empty.
	Scope string
	// Permissions is Auth0's RBAC "permissions" claim; omitted when nil.
	Permissions []string
	// TTL is the lifetime (default DefaultTTL, at most MaxTTL). A negative
	// TTL mints a token that has already expired, for tests.
	TTL time.Duration
	// Extra claims are set last and override the ones above; a nil value
	// removes a claim (to test tokens without exp, say).
	Extra map[string]any
}

// Token mints a signed access token (RS256, header kid and typ JWT) with
// iss, sub, aud, iat, exp, azp and, when given, scope and permissions.
func (i *Issuer) Token(req TokenRequest) (string, error) {
	base := i.URL()
	if base == "" {
		return "", errors.New("devissuer: issuer URL not set: call Start first or use WithURL")
	}
	aud := req.Audience
	if len(aud) == 0 {
		aud = i.audience
	}
	if len(aud) == 0 {
		return "", errors.New("devissuer: token request has no audience")
	}
	for _, a := range aud {
		if a == "" {
			return "", errors.New("devissuer: empty audience")
		}
	}
	ttl := req.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl > MaxTTL:
		return "", fmt.Errorf("devissuer: ttl %v is over the maximum %v", ttl, MaxTTL)
	}
	iss := base + "/"
	now := i.now()
	claims := map[string]any{
		"iss": iss,
		"aud": append(append([]string(nil), aud...), iss+"userinfo"),
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"azp": i.clientID,
	}
	if req.Subject != "" {
		claims["sub"] = req.Subject
	}
	if req.Scope != "" {
		claims["scope"] = req.Scope
	}
	if req.Permissions != nil {
		claims["permissions"] = req.Permissions
	}
	maps.Copy(claims, req.Extra)
	for k, v := range req.Extra {
		if v == nil {
			delete(claims, k)
		}
	}
	tok, err := jwt.Signed(i.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("devissuer: sign token: %w", err)
	}
	return tok, nil
}
