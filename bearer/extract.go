package bearer

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Extraction messages. express-oauth2-jwt-bearer 1.10 answers an unusable
// header with an empty message; these say what is wrong instead.
const (
	msgMultipleMethods = "More than one method used for authentication"
	msgBadHeader       = "Authorization header must be 'Bearer <token>'"
	msgManyHeaders     = "Only one Authorization header is allowed"
	msgBodyNotForm     = "An access_token in the request body must be application/x-www-form-urlencoded"
)

// noInfo returns a 400 that carries no error code, so that its challenge
// is the bare `Bearer realm="api"` (RFC 6750 §3.1).
func noInfo(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: msg}
}

// TokenFromRequest returns the access token of r, as
// express-oauth2-jwt-bearer 1.10 looks for it with DPoP disabled: an
// "Authorization: Bearer <token>" header (split on single spaces into
// exactly two parts, the scheme in any case), an access_token query
// parameter (even empty), or an access_token field of an
// application/x-www-form-urlencoded body of at most maxBody bytes (read,
// then put back so the handler still gets the whole body). found is false
// when r carries no token at all. The errors are 400s: several sources
// (invalid_request "More than one method used for authentication"), an
// unusable header or a token in a JSON body (no error code); err is then
// an *Error. The middleware applies the same rules, the configured
// TokenCookie and TokenExtractor, and the DPoP rules when DPoP is enabled.
func TokenFromRequest(r *http.Request, maxBody int64) (token string, found bool, err error) {
	c, e := extractCredentials(r, maxBody, false, nil)
	if e != nil {
		return "", false, e
	}
	return c.token, c.found, nil
}

// credentials is where a request's token was found.
type credentials struct {
	token string
	found bool
	// fromHeader: the token came from the Authorization header.
	fromHeader bool
}

// authScheme returns the lower-case scheme of r's Authorization header
// when it has exactly two space-separated parts (getAuthScheme of
// express-oauth2-jwt-bearer 1.10), else "".
func authScheme(r *http.Request) string {
	hs := r.Header.Values("Authorization")
	if len(hs) != 1 {
		return ""
	}
	scheme, rest, ok := strings.Cut(hs[0], " ")
	if !ok || strings.Contains(rest, " ") {
		return ""
	}
	return strings.ToLower(scheme)
}

// extractCredentials finds the token as getToken of
// express-oauth2-jwt-bearer 1.10 does. With dpop, "DPoP <token>" is a
// header token too, and a DPoP proof header without an Authorization header
// is a 400 with no error code. extra are the tokens found in the other
// configured places (Verifier.extraTokens), each one more method.
func extractCredentials(r *http.Request, maxBody int64, dpop bool, extra []string) (credentials, *Error) {
	var c credentials
	n := 0
	hs := r.Header.Values("Authorization")
	if dpop && len(hs) == 0 && len(r.Header.Values(dpopProofHeader)) > 0 {
		return credentials{}, noInfo(msgProofNoToken)
	}
	unusable := false
	switch {
	case len(hs) > 1:
		return credentials{}, noInfo(msgManyHeaders)
	case len(hs) == 1:
		// An empty value too is a header that cannot be used: 400, as in
		// express-oauth2-jwt-bearer 1.10 (not a request without a token).
		scheme, tok, ok := strings.Cut(hs[0], " ")
		if !ok || tok == "" || strings.Contains(tok, " ") {
			return credentials{}, noInfo(msgBadHeader)
		}
		if strings.EqualFold(scheme, "Bearer") || (dpop && strings.EqualFold(scheme, "DPoP")) {
			c.token, c.fromHeader, n = tok, true, 1
		} else {
			unusable = true
		}
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if vs, ok := q["access_token"]; ok {
			if len(vs) > 1 {
				return credentials{}, InvalidRequest(msgMultipleMethods)
			}
			c.token, n = vs[0], n+1
		}
	}
	if n > 1 {
		return credentials{}, InvalidRequest(msgMultipleMethods)
	}
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		form := r.PostForm
		if form == nil {
			body, ok := peekBody(r, maxBody)
			if !ok {
				break
			}
			form, _ = url.ParseQuery(string(body))
		}
		if vs, ok := form["access_token"]; ok {
			if len(vs) > 1 || n > 0 {
				return credentials{}, InvalidRequest(msgMultipleMethods)
			}
			c.token, n = vs[0], 1
		}
	case "application/json":
		if n > 0 {
			break
		}
		if body, ok := peekBody(r, maxBody); ok {
			var probe struct {
				AccessToken json.RawMessage `json:"access_token"`
			}
			if json.Unmarshal(body, &probe) == nil && probe.AccessToken != nil {
				return credentials{}, noInfo(msgBodyNotForm)
			}
		}
	}
	for _, tok := range extra {
		if n > 0 {
			return credentials{}, InvalidRequest(msgMultipleMethods)
		}
		c.token, n = tok, 1
	}
	if unusable && (n == 0 || !dpop) {
		// Another scheme: a 400 alone or with DPoP disabled; beside a
		// query or body token, the DPoP rules decide (RFC 6750 §3.1).
		return credentials{}, noInfo(msgBadHeader)
	}
	c.found = n == 1
	return c, nil
}

// mediaType returns the media type of r's body, lower case, or "" when r
// has no body.
func mediaType(r *http.Request) string {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return ""
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// peekBody reads up to max bytes of r's body and puts them back in front of
// the rest, so the handler reads the body unchanged. ok is false when the
// body is larger than max or cannot be read.
func peekBody(r *http.Request, max int64) (body []byte, ok bool) {
	buf, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), r.Body), Closer: r.Body}
	if err != nil || int64(len(buf)) > max {
		return nil, false
	}
	return buf, true
}

// replayBody is a request body whose first bytes were already read.
type replayBody struct {
	io.Reader
	io.Closer
}
