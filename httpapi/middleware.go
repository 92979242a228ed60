package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
)

// maxRequestIDLen bounds an X-Request-Id accepted from the client.
const maxRequestIDLen = 128

type requestIDKey struct{}

// requestID returns the id the request-id middleware gave the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID reports whether a client's X-Request-Id may be reused: 1 to
// 128 characters among letters, digits and - _ . :
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestInfo is what the inner layers of a request learn for the outer
// ones: the authenticated subject (for the access log) and whether
// authentication passed (to tell its failures from the route's answers).
type requestInfo struct {
	sub        string
	authPassed bool
}

type requestInfoKey struct{}

// infoFrom returns the requestInfo common put in ctx (a blank one outside
// common, so callers need not check).
func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// Security headers of every response.
const (
	contentSecurityPolicy   = "default-src 'none'; frame-ancestors 'none'"
	strictTransportSecurity = "max-age=63072000; includeSubDomains"
)

// setSecurityHeaders sets the headers every response carries: no sniffing,
// no referrer, no framing, no active content, no caching (GET /openapi.json
// overrides Cache-Control: it is the one public document), and HSTS when the
// request came over TLS (directly, or to a trusted proxy that says so in
// X-Forwarded-Proto).
func (s *server) setSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil || (r.Header.Get("X-Forwarded-Proto") == "https" && s.trusted(parseAddr(r.RemoteAddr))) {
		h.Set("Strict-Transport-Security", strictTransportSecurity)
	}
}

// common is the middleware every request goes through, outermost first:
// the request id (a sane X-Request-Id is kept, otherwise one is made; it
// is echoed in the response), the security headers, the metrics and the
// access log, panic recovery, and CORS (an allowed preflight is answered
// here, 204, without a token).
func (s *server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = taskapi.NewID()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		s.setSecurityHeaders(h, r)
		info := &requestInfo{}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		r = r.WithContext(context.WithValue(ctx, requestInfoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		var preflight bool
		if s.metrics != nil {
			s.metrics.inFlight.Inc()
			defer s.metrics.inFlight.Dec()
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("request_id", id),
					slog.String("panic", fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			elapsed := time.Since(start)
			status := cmp.Or(sw.status, http.StatusOK)
			route := r.Pattern // set by the mux on this very request
			switch {
			case preflight:
				route = routePreflight
			case route == "":
				route = routeUnmatched
			}
			if s.metrics != nil {
				s.metrics.observe(route, status, elapsed)
			}
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", elapsed),
			}
			if info.sub != "" {
				attrs = append(attrs, slog.String("sub", info.sub))
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		if s.cors != nil && s.cors.apply(h, r) {
			preflight = true
			sw.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// muxErrorWriter turns the plain-text 404 and 405 answers of
// http.ServeMux into the API's JSON error shape (405 keeps its Allow).
type muxErrorWriter struct {
	http.ResponseWriter
	s         *server
	r         *http.Request
	swallowed bool
}

func (w *muxErrorWriter) WriteHeader(status int) {
	var err *taskapi.Error
	switch status {
	case http.StatusNotFound:
		err = taskapi.Errorf(taskapi.ENOTFOUND, "Not found")
	case http.StatusMethodNotAllowed:
		err = taskapi.Errorf(EMETHODNOTALLOWED, "Method %s not allowed; allowed: %s", truncate(w.r.Method, 32), w.Header().Get("Allow"))
	default:
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.swallowed = true
	w.s.writeError(w.ResponseWriter, w.r, err)
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.swallowed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// dispatch serves a request through mux, answering unknown routes and
// methods in the API's error shape.
func (s *server) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := mux.Handler(r); pattern == "" {
			h.ServeHTTP(&muxErrorWriter{ResponseWriter: w, s: s, r: r}, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

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
	next = markAuthPassed(next)
	if scope != "" && s.requireScopes {
		next = bearer.RequiredScopesOrPermissions(scope)(next)
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
		infoFrom(r.Context()).sub = claims.Subject()
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
		info := infoFrom(r.Context())
		aw := &authWriter{ResponseWriter: w, info: info}
		authenticated.ServeHTTP(aw, r)
		if info.authPassed || aw.status < 400 {
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

// withTimeout bounds next's request context by Config.RequestTimeout:
// whatever waits on it (a key fetch, the store) gives up then, and the
// store answers EUNAVAILABLE. The client is answered by next as usual.
func (s *server) withTimeout(next http.Handler) http.Handler {
	if s.timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// markAuthPassed notes that the request got through authentication and
// authorization: what follows is the route's own answer.
func markAuthPassed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).authPassed = true
		next.ServeHTTP(w, r)
	})
}

// limitSubject applies the per-subject rate limit, with its RateLimit
// headers on every answer.
func (s *server) limitSubject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.subjects.take(infoFrom(r.Context()).sub, 1)
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
	info   *requestInfo
	status int
	head   []byte
}

func (w *authWriter) WriteHeader(status int) {
	if !w.info.authPassed && w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *authWriter) Write(b []byte) (int, error) {
	if !w.info.authPassed {
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
