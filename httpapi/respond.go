package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/taskapi/taskapi"
)

// Error codes of the HTTP layer, beside the domain's (taskapi.EINVALID, …).
// Like those, they are part of the API and never change once published.
const (
	ETOOLARGE         = "ERR_TOO_LARGE"          // the body is over the limit (413)
	EMEDIATYPE        = "ERR_MEDIA_TYPE"         // the Content-Type is not accepted (415)
	EMETHODNOTALLOWED = "ERR_METHOD_NOT_ALLOWED" // the route exists, not with this method (405)
)

// statuses maps an error code to its HTTP status; any other code is a
// 500.
var statuses = map[string]int{
	taskapi.EINVALID:        http.StatusUnprocessableEntity,
	taskapi.ENOTFOUND:       http.StatusNotFound,
	taskapi.EBADREQUEST:     http.StatusBadRequest,
	taskapi.ECONFLICT:       http.StatusConflict,
	taskapi.ELIMIT:          http.StatusConflict,
	taskapi.EPRECONDITION:   http.StatusPreconditionFailed,
	taskapi.ERESYNC:         http.StatusGone,
	taskapi.EUNAVAILABLE:    http.StatusServiceUnavailable,
	ETOOLARGE:               http.StatusRequestEntityTooLarge,
	EMEDIATYPE:              http.StatusUnsupportedMediaType,
	EMETHODNOTALLOWED:       http.StatusMethodNotAllowed,
	ERATELIMIT:              http.StatusTooManyRequests,
	taskapi.EKEYREUSED:      http.StatusUnprocessableEntity,
	taskapi.EKEYINPROGRESS:  http.StatusConflict,
	taskapi.EOUTCOMEUNKNOWN: http.StatusGatewayTimeout,
	ECONFIRM:                http.StatusPreconditionRequired,
}

// writeJSON answers v as JSON with status. v is encoded before anything is
// written, so an encoding failure (a bug) still gets a clean 500. <, > and
// & are written as they are (no HTML escaping); error bodies, by
// writeError, escape them.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, status, body)
}

// encodeJSON returns v as the JSON of a response: not HTML-escaped, ending
// in a newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// writeBody answers body, complete JSON, with status: one write with a
// Content-Length, so the answer is neither chunked nor split.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeError answers err in the API's error shape. A *taskapi.Error gets
// its code's status and its message; anything else is internal: it is
// logged with the request id, and the client gets 500 ERR_INTERNAL with
// that id and no detail.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() == context.Canceled {
		// The client went away before its answer was ready: nobody reads
		// it, and nothing failed here. The access log and the metrics
		// show 499 (as nginx does), not an internal error.
		w.WriteHeader(statusClientClosed)
		return
	}
	var e *taskapi.Error
	body := errorBody{Code: taskapi.EINTERNAL, Error: "Internal error"}
	if errors.As(err, &e) {
		body.Code, body.Error, body.Errors = e.Code, e.Message, e.Fields
	}
	status := cmp.Or(statuses[body.Code], http.StatusInternalServerError)
	if status == http.StatusInternalServerError {
		body.Code, body.Error, body.Errors = taskapi.EINTERNAL, "Internal error", nil
		body.RequestID = requestID(r.Context())
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", body.RequestID),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
	}
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "store unavailable",
			slog.String("request_id", requestID(r.Context())),
			slog.String("error", err.Error()))
	case http.StatusGatewayTimeout: // no Retry-After: a blind retry may apply the write twice
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "write outcome unknown",
			slog.String("request_id", requestID(r.Context())),
			slog.String("error", err.Error()))
	}
	s.writeErrorBody(w, status, body)
}

// writeErrorBody answers body with status, as writeError does after its
// logging.
func (s *server) writeErrorBody(w http.ResponseWriter, status int, body errorBody) {
	b, _ := json.Marshal(body) // a struct of strings: cannot fail
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, status, append(b, '\n'))
}

// statusClientClosed is the status logged for a request whose client
// disconnected before the answer was ready (nginx's 499).
const statusClientClosed = 499

// badRequest returns a 400 ERR_BAD_REQUEST error.
func badRequest(format string, args ...any) *taskapi.Error {
	return taskapi.Errorf(taskapi.EBADREQUEST, format, args...)
}
