package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
)

// maxRequestIDLen bounds an X-Request-Id accepted from the client.
const maxRequestIDLen = 128

// requestID returns the id the request-id middleware gave the request
// ("" outside common).
func requestID(ctx context.Context) string {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		return st.id[0]
	}
	return ""
}

// idEncoding spells a generated request id as taskapi.NewID spells ids: 26
// lower-case characters for 128 bits.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idSources are ChaCha8 generators (math/rand/v2: cryptographically strong),
// each seeded with 32 bytes from crypto/rand when the pool makes it, so that
// a generated request id is as unguessable as 128 bits from crypto/rand
// without reading the kernel's generator on every request (a getrandom
// system call on kernels without its vDSO). A ChaCha8 is not safe for
// concurrent use: each is held by one request at a time.
var idSources = sync.Pool{New: func() any {
	var seed [32]byte
	rand.Read(seed[:]) // never fails (crypto/rand documents it)
	return mrand.NewChaCha8(seed)
}}

// newRequestID returns 128 random bits as 26 lower-case characters.
func newRequestID() string {
	var b [16]byte
	src := idSources.Get().(*mrand.ChaCha8)
	binary.LittleEndian.PutUint64(b[:8], src.Uint64())
	binary.LittleEndian.PutUint64(b[8:], src.Uint64())
	idSources.Put(src)
	var out [26]byte
	idEncoding.Encode(out[:], b[:])
	return string(out[:])
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

// requestState is the one allocation common makes per request: it is the
// request's context (the server's, answering requestStateKey with itself:
// one layer instead of one context.WithValue per value), the status writer
// of the access log and the metrics, the request id, and the requestInfo the inner layers fill in. Its Done, Err and Deadline
// are the parent's, so a context.WithTimeout under it is canceled by the
// server's context as directly as before.
type requestState struct {
	context.Context
	sw   statusWriter
	id   [1]string
	info requestInfo
}

type requestStateKey struct{}

// Value answers requestStateKey with st, any other key from the parent.
func (st *requestState) Value(key any) any {
	if key == (requestStateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

// infoFrom returns the requestInfo common put in ctx (a blank one outside
// common, so callers need not check).
func infoFrom(ctx context.Context) *requestInfo {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		return &st.info
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
		st := &requestState{Context: r.Context(), sw: statusWriter{ResponseWriter: w}}
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = newRequestID()
		}
		st.id[0] = id
		h := w.Header()
		h.Set("X-Request-Id", id)
		s.setSecurityHeaders(h, r)
		r = r.WithContext(st)
		sw := &st.sw
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
			end := time.Now()
			elapsed := end.Sub(start)
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
			s.logRequest(st, r, end, route, status, elapsed)
		}()
		if s.cors != nil && s.cors.apply(h, r) {
			preflight = true
			sw.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes the access log line of r, at Info, when the logger
// wants it. It hands the record to the logger's handler directly, as
// Logger.LogAttrs would, but without the record's caller (runtime.Callers
// on every request): only a handler with AddSource would show it, and it
// would name this function anyway.
func (s *server) logRequest(st *requestState, r *http.Request, end time.Time, route string, status int, elapsed time.Duration) {
	ctx := r.Context()
	lh := s.log.Handler()
	if !lh.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("request_id", st.id[0]),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", st.sw.bytes),
		slog.Duration("duration", elapsed),
		slog.String("sub", st.info.sub),
	}
	n := len(attrs)
	if st.info.sub == "" {
		n-- // no subject: no "sub" field
	}
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(attrs[:n]...) // at once: the attributes beyond the record's first 5 take one allocation
	_ = lh.Handle(ctx, rec)
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
		info := infoFrom(r.Context())
		info.sub = claims.Subject()
		info.authPassed = !scoped
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
