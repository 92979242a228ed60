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

// Extraction messages. The anchor answers an unusable header with an
// empty message; these say what is wrong instead.
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

// TokenFromRequest returns the access token of r, as the anchor looks for
// it: an "Authorization: Bearer <token>" header (split on single spaces
// into exactly two parts, the scheme in any case), an access_token query
// parameter (even empty), or an access_token field of an
// application/x-www-form-urlencoded body of at most maxBody bytes (read,
// then put back so the handler still gets the whole body). found is false
// when r carries no token at all. The errors are 400s: several sources
// (invalid_request "More than one method used for authentication"), an
// unusable header or a token in a JSON body (no error code).
func TokenFromRequest(r *http.Request, maxBody int64) (token string, found bool, err *Error) {
	n := 0
	switch hs := r.Header.Values("Authorization"); {
	case len(hs) > 1:
		return "", false, noInfo(msgManyHeaders)
	case len(hs) == 1 && hs[0] != "":
		scheme, tok, ok := strings.Cut(hs[0], " ")
		if !ok || tok == "" || strings.Contains(tok, " ") || !strings.EqualFold(scheme, "Bearer") {
			return "", false, noInfo(msgBadHeader)
		}
		token, n = tok, 1
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if vs, ok := q["access_token"]; ok {
			if len(vs) > 1 {
				return "", false, InvalidRequest(msgMultipleMethods)
			}
			token, n = vs[0], n+1
		}
	}
	if n > 1 {
		return "", false, InvalidRequest(msgMultipleMethods)
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
				return "", false, InvalidRequest(msgMultipleMethods)
			}
			token, n = vs[0], 1
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
				return "", false, noInfo(msgBodyNotForm)
			}
		}
	}
	return token, n == 1, nil
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
