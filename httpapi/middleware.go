package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
)

// requestState is what the layers of one request tell each other: the
// request id, and once authentication has run, the user (subject and
// issuer) and its rows, whether it passed, and the code and status of its
// failure (WriteAuthError).
type requestState struct {
	id         string
	sub        string
	issuer     string              // the issuer of sub's user (Config.UserIssuer)
	data       taskapi.IssuerStore // the rows of issuer's users
	authPassed bool
	authCode   string // a metrics label (see authFailureCodes); "" when none was recorded
	authStatus int
}

type stateKey struct{}

// state returns the request state common put in ctx (a blank one outside
// common, so callers need not check).
func state(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// requestID returns the request's id ("" outside common).
func requestID(ctx context.Context) string { return state(ctx).id }

// maxRequestIDLen bounds an X-Request-Id accepted from the client.
const maxRequestIDLen = 128

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
		st := &requestState{id: r.Header.Get("X-Request-Id")}
		if !saneRequestID(st.id) {
			st.id = strings.ToLower(rand.Text()) // 128 random bits, spelled as ids are
		}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		h := w.Header()
		h.Set("X-Request-Id", st.id)
		s.setSecurityHeaders(h, r)
		sw := &statusWriter{ResponseWriter: w}
		preflight := false
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
					slog.String("request_id", st.id),
					slog.String("panic", fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			elapsed := time.Since(start)
			status := cmp.Or(sw.status, http.StatusOK)
			route := routeLabel(r.Pattern) // set by the mux on this very request
			switch {
			case preflight:
				route = routePreflight
			case route == "":
				route = routeUnmatched
			}
			if s.metrics != nil {
				s.metrics.observe(route, methodLabel(r.Method), status, elapsed)
			}
			attrs := []slog.Attr{
				slog.String("request_id", st.id),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", elapsed),
			}
			if st.sub != "" {
				attrs = append(attrs, slog.String("sub", st.sub))
			}
			if st.issuer != "" {
				attrs = append(attrs, slog.String("iss", st.issuer))
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

// dispatch serves a request through mux, answering unknown routes and
// methods in the API's error shape.
func (s *server) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, s: s, r: r}, r)
	})
}

// muxErrorWriter turns the plain-text 404 and 405 answers the mux gives a
// request that matched no route (r.Pattern is "") into the API's JSON error
// shape; 405 keeps its Allow.
type muxErrorWriter struct {
	http.ResponseWriter
	s        *server
	r        *http.Request
	replaced bool
}

func (w *muxErrorWriter) WriteHeader(status int) {
	var err *taskapi.Error
	switch {
	case w.r.Pattern != "":
	case status == http.StatusNotFound:
		err = taskapi.Errorf(taskapi.ENOTFOUND, "Not found")
	case status == http.StatusMethodNotAllowed:
		err = taskapi.Errorf(EMETHODNOTALLOWED, "Method %s not allowed; allowed: %s", truncate(w.r.Method, 32), w.Header().Get("Allow"))
	}
	if err == nil {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	w.s.writeError(w.ResponseWriter, w.r, err)
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the mux's text
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *muxErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
