package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
)

// Headers of idempotent requests (the IETF draft "The Idempotency-Key
// HTTP Header Field"; the replay marker is Stripe's).
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// releaseTimeout bounds the saving of a response and the release of its
// key after the request, whatever became of the request's context.
const releaseTimeout = 5 * time.Second

// idempotent honours the Idempotency-Key of a write (POST, PUT, PATCH,
// DELETE) before next executes it: the first request with a key executes,
// its response saved by the store with the change (taskapi.KeyClaim); a
// repeat gets that response again, marked Idempotent-Replayed: true. What
// a request refused before executing gets (a bad key 400, a body over
// the limit 413, and everything refused before this layer: authentication,
// rate limit) is not saved, nor are 5xx and the handler's refusals of a
// malformed request (400, 415): a retry executes. A request without the
// header is passed on as is.
func (s *server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(headerIdempotencyKey)
		if len(values) == 0 || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		key, err := parseIdempotencyKey(values)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				err = taskapi.Errorf(ETOOLARGE, "Request body must not exceed %d bytes", s.maxBody)
			} else {
				err = badRequest("Could not read the request body")
			}
			s.writeError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		st := state(r.Context())
		k := taskapi.IdempotencyKey{UserID: st.sub, Key: key, Fingerprint: taskapi.Fingerprint(r.Method, r.URL.EscapedPath(), body)}
		saved, claim, err := st.data.ClaimKey(r.Context(), k, func(v any) (*taskapi.SavedResponse, error) { return written(r, v) })
		switch {
		case err != nil:
			if taskapi.ErrorCode(err) == taskapi.EKEYINPROGRESS {
				w.Header().Set("Retry-After", "1")
			}
			s.writeError(w, r, err)
			return
		case saved != nil:
			w.Header().Set(headerReplayed, "true")
			writeSaved(w, saved)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
		defer cancel()
		released := false
		defer func() {
			if !released { // a panic: the key is freed, nothing saved
				claim.Release(ctx, nil)
			}
		}()
		st.data = claim.Store()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		var unchanged *taskapi.SavedResponse
		if savable(rec.status) {
			unchanged = rec.saved()
		}
		released = true
		if err := claim.Release(ctx, unchanged); err != nil {
			// The answer stands; a retry executes the request again.
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "could not save the response of an idempotency key",
				slog.String("request_id", st.id), slog.String("error", err.Error()))
		}
		rec.flush()
	})
}

// parseIdempotencyKey reads the header's one value: a key as is, or as a
// Structured Field string ("…", the draft's form).
func parseIdempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", badRequest("Send one Idempotency-Key header")
	}
	key := strings.TrimSpace(values[0])
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	return key, taskapi.CheckIdempotencyKey(key)
}

// savable reports whether the response of a request that executed is
// saved for its key: a success, or the handler's answer about the
// resource (404, 409, 410, 412, 422); not a malformed request (400, 413,
// 415), which a corrected retry may fix, nor a failure (5xx, 499).
func savable(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusConflict, http.StatusGone, http.StatusPreconditionFailed, http.StatusUnprocessableEntity:
		return true
	}
	return status >= 200 && status < 300
}

// written renders the answer to a write that stored v: a created task or
// project (the route creates: POST to a collection) 201 with its Location
// and ETag, an updated one 200 with its ETag, nothing (a delete) 204. The
// handlers answer their writes with it (writeWritten), and the stores save
// it for idempotency keys, so the two are the same bytes.
func written(r *http.Request, v any) (*taskapi.SavedResponse, error) {
	var resp taskapi.SavedResponse
	var body any
	var location string
	switch v := v.(type) {
	case nil:
		return &taskapi.SavedResponse{Status: http.StatusNoContent}, nil
	case *taskapi.Task:
		resp.ETag, body, location = etag(v.ID, v.Version), taskEnvelope{newTaskJSON(v)}, "/tasks/"+v.ID
	case *taskapi.Project:
		resp.ETag, body, location = etag(v.ID, v.Version), projectEnvelope{newProjectJSON(v)}, "/projects/"+v.ID
	default:
		return nil, fmt.Errorf("httpapi: no answer to a write of %T", v)
	}
	resp.Status = http.StatusOK
	if r.Method == http.MethodPost && r.PathValue("id") == "" {
		resp.Status, resp.Location = http.StatusCreated, location
	}
	var err error
	resp.Body, err = encodeJSON(body)
	return &resp, err
}

// writeWritten answers a write that stored v (see written).
func (s *server) writeWritten(w http.ResponseWriter, r *http.Request, v any) {
	resp, err := written(r, v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeSaved(w, resp)
}

// writeSaved answers resp.
func writeSaved(w http.ResponseWriter, resp *taskapi.SavedResponse) {
	h := w.Header()
	if resp.ETag != "" {
		h.Set("ETag", resp.ETag)
	}
	if resp.Location != "" {
		h.Set("Location", resp.Location)
	}
	if len(resp.Body) == 0 {
		w.WriteHeader(resp.Status)
		return
	}
	writeBody(w, resp.Status, resp.Body)
}

// recorder holds a handler's answer back until its key is released; its
// headers go to the real writer's.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}

// saved returns the answer as a key's response.
func (rec *recorder) saved() *taskapi.SavedResponse {
	h := rec.Header()
	return &taskapi.SavedResponse{Status: rec.status, Location: h.Get("Location"), ETag: h.Get("ETag"), Body: bytes.Clone(rec.body.Bytes())}
}

// flush sends the answer.
func (rec *recorder) flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.ResponseWriter.WriteHeader(rec.status)
	rec.ResponseWriter.Write(rec.body.Bytes())
}
