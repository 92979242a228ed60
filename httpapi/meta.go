package httpapi

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
)

// openAPIDocument is the API's OpenAPI 3.1 description, served at
// GET /openapi.json.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the API's OpenAPI 3.1 document (JSON). The caller must not
// modify it.
func OpenAPI() []byte { return openAPIDocument }

// okJSON is the answer of GET /health, and of GET /ready when ready.
var okJSON = struct {
	OK bool `json:"ok"`
}{true}

// health answers GET /health: the process is up.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, okJSON)
}

// readyTimeout bounds the checks of GET /ready.
const readyTimeout = 2 * time.Second

// ready answers GET /ready: 200 when the store answers and Config.Ready
// (the signing keys, say) succeeds, 503 ERR_UNAVAILABLE naming the failing
// component otherwise. The cause goes only to the log, unless Config.Ready
// answers a *taskapi.Error of code EUNAVAILABLE: its message is the answer.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	component := ""
	err := s.store.Ping(ctx)
	if err != nil {
		component = "database"
	} else if s.readyCheck != nil {
		if err = s.readyCheck(ctx); err != nil {
			component = "token signing keys"
		}
	}
	if err != nil {
		answer := taskapi.Errorf(taskapi.EUNAVAILABLE, "Not ready: %s unavailable", component)
		level := slog.LevelWarn
		var own *taskapi.Error
		if component != "database" && errors.As(err, &own) && own.Code == taskapi.EUNAVAILABLE {
			// The hook's own words ("Shutting down"): no fault of a
			// component, nothing to warn about.
			answer, component, level = own, "", slog.LevelDebug
		}
		s.log.LogAttrs(r.Context(), level, "not ready",
			slog.String("request_id", requestID(r.Context())),
			slog.String("component", component),
			slog.String("error", err.Error()))
		// Logged above, so not through writeError, whose warning would
		// blame the store.
		w.Header().Set("Retry-After", "1")
		s.writeErrorBody(w, http.StatusServiceUnavailable, errorBody{Error: answer.Message, Code: answer.Code})
		return
	}
	s.writeJSON(w, r, http.StatusOK, okJSON)
}

// openAPI answers GET /openapi.json.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPIDocument)
}

// meJSON is the body of GET /me.
type meJSON struct {
	Sub         string     `json:"sub"`
	Scopes      []string   `json:"scopes"`
	Permissions []string   `json:"permissions"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Exp         any        `json:"exp"` // the claim as the token has it, a number or null
}

// me answers GET /me: who the token says the caller is.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	c, _ := bearer.FromContext(r.Context())
	m := meJSON{Sub: c.Subject(), Scopes: c.Scopes(), Permissions: c.Permissions()}
	if m.Scopes == nil {
		m.Scopes = []string{}
	}
	if m.Permissions == nil {
		m.Permissions = []string{}
	}
	if exp, ok := c.Payload["exp"].(float64); ok {
		m.Exp = exp
	}
	// A time past year 9999 (a valid NumericDate all the same) has no RFC
	// 3339 form: expires_at is null, exp still tells it.
	if exp := c.Expiry().UTC(); !exp.IsZero() && exp.Year() <= 9999 {
		m.ExpiresAt = &exp
	}
	s.writeJSON(w, r, http.StatusOK, m)
}
