package httpapi

import (
	"cmp"
	"errors"
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

// WriteAuthError answers an authentication or authorization failure
// exactly as bearer.WriteError does, and records its code for the metrics
// and the per-address limit on failures. It is the bearer.ErrorHandler
// of the verifier behind Config.Authenticate (bearer.Config.ErrorHandler);
// the server answers its own checks of the token with it too.
func WriteAuthError(w http.ResponseWriter, r *http.Request, err error) {
	st := state(r.Context())
	st.authCode, st.authStatus = taskapi.EINTERNAL, http.StatusInternalServerError
	var e *bearer.Error
	if errors.As(err, &e) {
		st.authCode, st.authStatus = cmp.Or(e.Code, "ERR_AUTH"), e.Status
	}
	if !slices.Contains(authFailureCodes, st.authCode) {
		st.authCode = "other"
	}
	bearer.WriteError(w, r, err)
}

var _ bearer.ErrorHandler = WriteAuthError

// authFailureCodes are the codes an authentication failure is counted by;
// any other is counted as "other", so that the label stays bounded.
var authFailureCodes = []string{"ERR_AUTH", bearer.CodeInvalidToken, bearer.CodeInvalidRequest,
	bearer.CodeInsufficientScope, bearer.CodeTemporarilyUnavailable, taskapi.EINTERNAL}

// protect puts h behind authentication, the check of the token's sub (the
// user id every query is scoped by) and, when scopes are required and
// scope is not "", of its scope; then the subject's rate limit, and the
// Idempotency-Key of a write (idempotent), just before h. Failures
// of these checks are counted by code in the metrics, and a client address
// whose authentication failures (401, 400) are over
// Config.AuthFailureLimit is answered 429 before its token is looked at.
func (s *server) protect(scope string, h http.HandlerFunc) http.Handler {
	var next http.Handler = h
	next = s.idempotent(next)
	if s.subjects != nil {
		next = s.limitSubject(next)
	}
	if !s.requireScopes {
		scope = ""
	}
	checked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := bearer.FromContext(r.Context())
		if !ok {
			WriteAuthError(w, r, bearer.Unauthorized())
			return
		}
		if err := checkSubject(claims); err != nil {
			WriteAuthError(w, r, err)
			return
		}
		st := state(r.Context())
		st.sub, st.issuer = claims.Subject(), s.userIssuer(claims)
		st.data = s.store.ForIssuer(st.issuer)
		if err := checkScope(claims, scope); err != nil {
			WriteAuthError(w, r, err)
			return
		}
		st.authPassed = true
		next.ServeHTTP(w, r)
	})
	authenticated := s.withTimeout(s.authenticate(checked))
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
		sw := &statusWriter{ResponseWriter: w}
		authenticated.ServeHTTP(sw, r)
		st := state(r.Context())
		code, status := st.authCode, st.authStatus
		if code == "" { // not answered by WriteAuthError: judge by the status
			code, status = "other", sw.status
		}
		if st.authPassed || status < 400 {
			return
		}
		if s.metrics != nil {
			s.metrics.authFailures.WithLabelValues(code).Inc()
		}
		if s.failures != nil && (status == http.StatusUnauthorized || status == http.StatusBadRequest) {
			s.failures.spend(addr)
		}
	})
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

// checkScope checks that scope ("": none) is in the "scope" or the
// "permissions" claim, with the answers of
// bearer.RequiredScopesOrPermissions(scope).
func checkScope(c *bearer.Claims, scope string) *bearer.Error {
	if scope == "" {
		return nil
	}
	_, hasScope := c.Payload["scope"]
	_, hasPerms := c.Payload["permissions"]
	switch {
	case !hasScope && !hasPerms:
		return bearer.InsufficientScope("Missing 'scope' or 'permissions' claim", []string{scope})
	case !c.HasScope(scope) && !c.HasPermission(scope):
		return bearer.InsufficientScope("Insufficient Scope", []string{scope})
	}
	return nil
}

// limitSubject applies the per-subject rate limit, with its RateLimit
// headers on every answer.
func (s *server) limitSubject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r.Context())
		d := s.subjects.take(strconv.Itoa(len(st.issuer))+":"+st.issuer+st.sub, 1)
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
