package bearer

import (
	"errors"
	"net/http"
)

// Token sources beside the Authorization header, the query and the form
// body: Config.TokenCookie and Config.TokenExtractor.

// msgBadCookie answers a TokenCookie that is present more than once.
const msgManyCookies = "Only one token cookie is allowed"

// extraTokens returns the tokens the configured cookie and extractor
// find in r, each a separate method for the "more than one method" rule.
func (v *Verifier) extraTokens(r *http.Request) ([]string, *Error) {
	var found []string
	if v.tokenCookie != "" {
		n := 0
		var value string
		for _, c := range r.CookiesNamed(v.tokenCookie) {
			n, value = n+1, c.Value
		}
		if n > 1 {
			return nil, InvalidRequest(msgManyCookies)
		}
		if n == 1 {
			found = append(found, value)
		}
	}
	if v.tokenExtractor != nil {
		tok, err := v.tokenExtractor(r)
		var e *Error
		switch {
		case errors.As(err, &e):
			return nil, e
		case err != nil:
			return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: err.Error(), Err: err}
		case tok != "":
			found = append(found, tok)
		}
	}
	return found, nil
}

// validCookieName reports whether s is an RFC 6265 cookie name: an RFC
// 7230 token.
func validCookieName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || isSeparator(c) {
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}
