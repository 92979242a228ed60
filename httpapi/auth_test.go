package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

// TestAuthFailureCodes checks how failures are counted: by the code
// WriteAuthError recorded ("other" beyond the known ones), and as "other"
// by their status when the Authenticate middleware answered without it.
// Both feed the per-address limit when they are a 401 or a 400.
func TestAuthFailureCodes(t *testing.T) {
	unavailable := &bearer.Error{Status: 503, Code: bearer.CodeTemporarilyUnavailable, Message: "later", RetryAfter: time.Second}
	answer := map[string]func(http.ResponseWriter, *http.Request){
		"recorded": func(w http.ResponseWriter, r *http.Request) { WriteAuthError(w, r, bearer.InvalidToken("bad")) },
		"400":      func(w http.ResponseWriter, r *http.Request) { WriteAuthError(w, r, bearer.InvalidRequest("x")) },
		"unlisted": func(w http.ResponseWriter, r *http.Request) {
			WriteAuthError(w, r, &bearer.Error{Status: 401, Code: "use_dpop_nonce"})
		},
		"unrecorded":  func(w http.ResponseWriter, r *http.Request) { bearer.WriteError(w, r, bearer.InvalidToken("bad")) },
		"unrecorded5": func(w http.ResponseWriter, r *http.Request) { bearer.WriteError(w, r, unavailable) },
	}
	s := newTestServer(t, func(c *Config) {
		c.Metrics = true
		c.AuthFailureLimit = RateLimit{Rate: 0.001, Burst: 4}
		c.Authenticate = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				answer[r.Header.Get("X-Answer")](w, r)
			})
		}
	})
	for _, a := range []string{"recorded", "400", "unlisted", "unrecorded5", "unrecorded"} {
		s.do(req{method: "GET", path: "/tasks", header: map[string]string{"X-Answer": a}})
	}
	s.do(req{method: "GET", path: "/tasks", header: map[string]string{"X-Answer": "recorded"}}).want(t, 429, ERATELIMIT)
	text := s.scrape()
	for series, want := range map[string]float64{
		`taskapi_auth_failures_total{code="invalid_token"}`:   1,
		`taskapi_auth_failures_total{code="invalid_request"}`: 1,
		`taskapi_auth_failures_total{code="other"}`:           3,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// Outside the server, WriteAuthError is bearer.WriteError.
	for _, err := range []error{bearer.Unauthorized(), bearer.InsufficientScope("Insufficient Scope", []string{"a"}), http.ErrAbortHandler} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		WriteAuthError(got, r, err)
		bearer.WriteError(want, r, err)
		if got.Code != want.Code || got.Body.String() != want.Body.String() || len(got.Header()) != len(want.Header()) {
			t.Errorf("%v: %d %v %s, want %d %v %s", err, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
