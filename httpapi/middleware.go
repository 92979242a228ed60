package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
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

// common is the middleware every request goes through, outermost first:
// the request id (a sane X-Request-Id is kept, otherwise one is made; it
// is echoed in the response), the access log, and panic recovery.
func (s *server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = taskapi.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
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
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)))
		}()
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
// is not "", bearer.RequiredScopesOrPermissions(scope).
func (s *server) protect(scope string, h http.HandlerFunc) http.Handler {
	var next http.Handler = h
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
		next.ServeHTTP(w, r)
	})
	return s.authenticate(subject)
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
