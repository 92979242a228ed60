package devissuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1, OpenID
// Connect Core §3.1.3.3). There is no refresh token: an application signs
// in again, silently while the issuer's session lasts.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	IDToken     string `json:"id_token,omitempty"`
}

// tokenError is an error of the token endpoint (RFC 6749 §5.2).
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// allowCORS lets the registered applications' pages read the token
// endpoint's answers.
func (i *Issuer) allowCORS(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" && slices.Contains(i.origins(), o) {
		w.Header().Set("Access-Control-Allow-Origin", o)
	}
}

// tokenPreflight answers a CORS preflight of the token endpoint.
func (i *Issuer) tokenPreflight(w http.ResponseWriter, r *http.Request) {
	i.allowCORS(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// token exchanges an authorization code for tokens, checking the client,
// the redirect URI and the PKCE verifier (RFC 7636 §4.6). Clients are
// public: a client secret, if sent, is not checked.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	i.allowCORS(w, r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		writeBody(w, tokenError{code, desc})
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		fail(http.StatusBadRequest, "invalid_request", "send an application/x-www-form-urlencoded body")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}
	c := i.client(f.Get("client_id"))
	if c == nil {
		fail(http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}
	i.flows.mu.Lock()
	g, ok := i.flows.codes.take(f.Get("code"), i.now())
	i.flows.mu.Unlock()
	switch {
	case !ok:
		fail(http.StatusBadRequest, "invalid_grant", "the code is unknown, expired or already used")
		return
	case g.clientID != c.ID || g.redirectURI != f.Get("redirect_uri"):
		fail(http.StatusBadRequest, "invalid_grant", "the code was issued to another client or redirect_uri")
		return
	case !pkceMatches(f.Get("code_verifier"), g.challenge):
		fail(http.StatusBadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge")
		return
	}
	ttl := c.TokenTTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var aud []string
	if g.audience != "" {
		aud = []string{g.audience}
	}
	access, err := i.Token(TokenRequest{Subject: g.subject, Audience: aud, Scope: g.scope, TTL: ttl, Extra: map[string]any{"azp": c.ID}})
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "could not sign the token")
		return
	}
	res := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: g.scope}
	if slices.Contains(strings.Fields(g.scope), "openid") {
		if res.IDToken, err = i.idToken(g, ttl); err != nil {
			fail(http.StatusInternalServerError, "server_error", "could not sign the ID token")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, res)
}

// idToken signs the OpenID Connect ID token of a grant: its audience is the
// client, and it carries the request's nonce.
func (i *Issuer) idToken(g grant, ttl time.Duration) (string, error) {
	now := i.now()
	claims := map[string]any{
		"iss": i.Issuer(), "sub": g.subject, "aud": g.clientID, "azp": g.clientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "name": g.subject,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	return jwt.Signed(i.signer).Claims(claims).Serialize()
}

// pkceMatches checks an RFC 7636 code verifier (43 to 128 unreserved
// characters) against an S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// writeBody writes v as JSON; the caller has set the headers.
func writeBody(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v) // the types above always encode
	w.Write(append(b, '\n'))
}
