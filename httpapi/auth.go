package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
)

// Scopes of the task and project routes, enforced when
// Config.RequireScopes is set.
const (
	ScopeRead   = "read:tasks"
	ScopeWrite  = "write:tasks"
	ScopeDelete = "delete:tasks"
)

// protect puts h behind authentication, the check of the token's sub (the
// user id every query is scoped by), and, when scopes are required and scope
// is not "", bearer.RequiredScopesOrPermissions(scope); then the subject's
// rate limit. Every answer of a protected route is private: Cache-Control:
// no-store (set for every response by common). Failures of these checks
// are counted by code in the metrics, and a client address whose
// authentication failures (401, 400) are over Config.AuthFailureLimit is
// answered 429 before its token is looked at.
func (s *server) protect(scope string, h http.HandlerFunc) http.Handler {
	var next http.Handler = h
	if s.subjects != nil {
		next = s.limitSubject(next)
	}
	// Without a scope to check, the subject's check is the last of
	// authentication: it marks the pass itself, one layer fewer.
	scoped := scope != "" && s.requireScopes
	if scoped {
		next = bearer.RequiredScopesOrPermissions(scope)(markAuthPassed(next))
	}
	subject := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := bearer.FromContext(r.Context())
		if !ok {
			bearer.WriteError(w, r, bearer.Unauthorized())
			return
		}
		if err := checkSubject(claims); err != nil {
			bearer.WriteError(w, r, err)
			return
		}
		st := state(r.Context())
		st.sub = claims.Subject()
		st.authPassed = !scoped
		next.ServeHTTP(w, r)
	})
	authenticated := s.withTimeout(s.authenticate(subject))
	if s.metrics == nil && s.failures == nil {
		return authenticated
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var addr string
		if s.failures != nil {
			addr = addrKey(s.clientAddr(r))
			if d := s.failures.take(addr, 0); !d.allowed {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.retryAfter))))
				s.countRateLimited("address")
				s.writeError(w, r, tooManyRequests)
				return
			}
		}
		st := state(r.Context())
		aw := &authWriter{ResponseWriter: w, st: st}
		authenticated.ServeHTTP(aw, r)
		if st.authPassed || aw.status < 400 {
			return
		}
		if s.metrics != nil {
			s.metrics.authFailures.WithLabelValues(failureCode(aw.head)).Inc()
		}
		if s.failures != nil && (aw.status == http.StatusUnauthorized || aw.status == http.StatusBadRequest) {
			s.failures.spend(addr)
		}
	})
}

// markAuthPassed notes that the request got through authentication and
// authorization: what follows is the route's own answer.
func markAuthPassed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state(r.Context()).authPassed = true
		next.ServeHTTP(w, r)
	})
}

// limitSubject applies the per-subject rate limit, with its RateLimit
// headers on every answer.
func (s *server) limitSubject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.subjects.take(state(r.Context()).sub, 1)
		s.subjects.setHeaders(w.Header(), d)
		if !d.allowed {
			s.countRateLimited("subject")
			s.writeError(w, r, tooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// countRateLimited counts a 429 of limit in the metrics.
func (s *server) countRateLimited(limit string) {
	if s.metrics != nil {
		s.metrics.rateLimited.WithLabelValues(limit).Inc()
	}
}

// maxFailureHead bounds how much of an authentication failure's body is
// kept to read its code.
const maxFailureHead = 512

// authWriter watches the answers given before authentication passed: their
// status, and the start of their body (for the error code).
type authWriter struct {
	http.ResponseWriter
	st     *requestState
	status int
	head   []byte
}

func (w *authWriter) WriteHeader(status int) {
	if !w.st.authPassed && w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *authWriter) Write(b []byte) (int, error) {
	if !w.st.authPassed {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if room := maxFailureHead - len(w.head); room > 0 {
			w.head = append(w.head, b[:min(room, len(b))]...)
		}
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *authWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authFailureCodes are the codes an authentication failure is counted by;
// any other is counted as "other", so that the label stays bounded.
var authFailureCodes = []string{"ERR_AUTH", bearer.CodeInvalidToken, bearer.CodeInvalidRequest,
	bearer.CodeInsufficientScope, bearer.CodeTemporarilyUnavailable, taskapi.EINTERNAL}

// failureCode returns the code of an authentication failure's body.
func failureCode(body []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &e) == nil && slices.Contains(authFailureCodes, e.Code) {
		return e.Code
	}
	return "other"
}

// checkSubject validates the "sub" claim as a user id.
func checkSubject(c *bearer.Claims) *bearer.Error {
	v, present := c.Payload["sub"]
	sub, isString := v.(string)
	switch {
	case !present || (isString && sub == ""):
		return bearer.InvalidToken("Missing 'sub' claim")
	case !isString, !utf8.ValidString(sub), utf8.RuneCountInString(sub) > taskapi.MaxUserIDLen:
		return bearer.InvalidToken("Unexpected 'sub' value")
	}
	return nil
}
