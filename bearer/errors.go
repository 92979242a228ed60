package bearer

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes of RFC 6750 §3.1 and RFC 6749 §4.1.2.1, as the "code" of an
// Error.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is an authentication or authorization failure, with everything
// needed to answer it: the HTTP status, the OAuth error code ("" when the
// answer must carry no error information, RFC 6750 §3.1), a message, the
// scopes an insufficient_scope error asks for, and how long a client should
// wait after a 503.
type Error struct {
	Status     int
	Code       string
	Message    string
	Scopes     []string
	RetryAfter time.Duration
	// Err is the underlying cause, if any (a network error, say). It is
	// never shown to the client.
	Err error
	// WWWAuthenticate, when set, is the whole WWW-Authenticate value, and
	// Challenge returns it. The middleware sets it, with DPoP enabled, on
	// the error it hands to the ErrorHandler: the Bearer and DPoP
	// challenges in one value, as express-oauth2-jwt-bearer 1.10 writes them.
	WWWAuthenticate string
}

// Error implements the error interface with the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Unauthorized is the answer to a request with no token at all: 401 with
// no error code, as RFC 6750 §3.1 asks.
func Unauthorized() *Error {
	return &Error{Status: http.StatusUnauthorized, Message: "Unauthorized"}
}

// InvalidToken returns a 401 invalid_token error.
func InvalidToken(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msg}
}

// InvalidRequest returns a 400 invalid_request error.
func InvalidRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: msg}
}

// InsufficientScope returns a 403 insufficient_scope error naming the
// scopes that were asked for.
func InsufficientScope(msg string, scopes []string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeInsufficientScope, Message: msg, Scopes: scopes}
}

// Challenge returns the value of the WWW-Authenticate header for e: its
// WWWAuthenticate when set, else the plain RFC 6750 form,
// `Bearer realm="api"`, then the error code, its description (with every
// `"` replaced by `'`, as express-oauth2-jwt-bearer 1.10 does) and the
// scopes, when present.
func (e *Error) Challenge() string {
	if e.WWWAuthenticate != "" {
		return e.WWWAuthenticate
	}
	var b strings.Builder
	b.WriteString(`Bearer realm="api"`)
	if e.Code != "" {
		b.WriteString(`, error="`)
		b.WriteString(e.Code)
		b.WriteString(`", error_description="`)
		b.WriteString(strings.ReplaceAll(e.Message, `"`, `'`))
		b.WriteByte('"')
	}
	if len(e.Scopes) > 0 {
		b.WriteString(`, scope="`)
		b.WriteString(strings.Join(e.Scopes, " "))
		b.WriteByte('"')
	}
	return b.String()
}

// ErrorBody is the JSON body WriteError answers with, the tutorial's:
// {"error": message, "code": code}, the code being "ERR_AUTH" when the
// error has none.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// WriteError answers err the way the tutorial's error handler does: the
// error's status, its WWW-Authenticate challenge, Retry-After on a 503, and
// the body {"error": message, "code": code or "ERR_AUTH"}. An err that is
// not an *Error is answered 500 without its text.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "ERR_INTERNAL", Message: "Internal error"}
	}
	h := w.Header()
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusBadRequest {
		h.Set("WWW-Authenticate", e.Challenge())
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	code := e.Code
	if code == "" {
		code = "ERR_AUTH"
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(ErrorBody{Error: e.Message, Code: code})
}
