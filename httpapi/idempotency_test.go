package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/taskapi/taskapi"
)

const keyUser = "auth0|keys"

// withKey returns the header of a request with an Idempotency-Key.
func withKey(key string) map[string]string { return map[string]string{"Idempotency-Key": key} }

// wantReplayOf fails the test unless res is a replay of first: the same
// status, ETag, Location and body, marked as a replay.
func wantReplayOf(t *testing.T, res, first *response) {
	t.Helper()
	if res.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("no Idempotent-Replayed: true on the repeat: %d %s", res.status, res.raw)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first answer is marked as a replay")
	}
	for _, h := range []string{"ETag", "Location", "Content-Type"} {
		if res.header.Get(h) != first.header.Get(h) {
			t.Errorf("%s = %q on the replay, %q first", h, res.header.Get(h), first.header.Get(h))
		}
	}
	if res.status != first.status || !bytes.Equal(res.raw, first.raw) {
		t.Fatalf("replay %d %s, first %d %s", res.status, res.raw, first.status, first.raw)
	}
}

func TestIdempotencyKeyCreate(t *testing.T) {
	srv := newTestServer(t)
	body := map[string]any{"name": "pay the rent"}
	first := srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body, header: withKey("7c6a4b9e-create")}).want(t, 201, "")
	again := srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body, header: withKey("7c6a4b9e-create")})
	wantReplayOf(t, again, first)
	// The Structured Field form of the draft names the same key.
	wantReplayOf(t, srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body, header: withKey(`"7c6a4b9e-create"`)}), first)
	if ids := srv.do(req{method: "GET", path: "/tasks", user: keyUser}).want(t, 200, "").ids("tasks"); len(ids) != 1 {
		t.Fatalf("%d tasks after a create sent three times with one key, want 1", len(ids))
	}

	// The key with another request: another body, another path.
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "other"}, header: withKey("7c6a4b9e-create")}).
		want(t, 422, taskapi.EKEYREUSED)
	srv.do(req{method: "POST", path: "/projects", user: keyUser, body: body, header: withKey("7c6a4b9e-create")}).
		want(t, 422, taskapi.EKEYREUSED)
	// Another user's key of the same name is theirs.
	srv.do(req{method: "POST", path: "/tasks", user: "auth0|other", body: body, header: withKey("7c6a4b9e-create")}).want(t, 201, "")
	// Without a key, a repeat creates again, as before.
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body}).want(t, 201, "")
}

// TestIdempotencyKeyEveryWrite: each write route executes once under a key
// and replays its answer, 2xx or the handler's 4xx.
func TestIdempotencyKeyEveryWrite(t *testing.T) {
	srv := newTestServer(t)
	p := srv.createProject(keyUser, "Home")
	pid := p["id"].(string)
	tasks := make([]string, 8)
	for i := range tasks {
		tasks[i] = srv.createTask(keyUser, map[string]any{"name": fmt.Sprint("task ", i), "project_id": pid})["id"].(string)
	}
	other := srv.createProject(keyUser, "Other")["id"].(string)
	cases := []struct {
		method, path string
		body         any
		header       map[string]string
		status       int
	}{
		{"PUT", "/tasks/" + tasks[0], map[string]any{"name": "put"}, nil, 200},
		{"PATCH", "/tasks/" + tasks[1], map[string]any{"description": "patched"}, nil, 200},
		{"DELETE", "/tasks/" + tasks[2], nil, nil, 204},
		{"POST", "/tasks/" + tasks[3] + "/complete", nil, nil, 200},
		{"PATCH", "/tasks/" + tasks[4] + "/complete", nil, nil, 200},
		{"POST", "/tasks/" + tasks[5] + "/reopen", nil, nil, 200},
		{"POST", "/projects", map[string]any{"name": "new"}, nil, 201},
		{"PATCH", "/projects/" + pid, map[string]any{"name": "renamed"}, nil, 200},
		{"DELETE", "/projects/" + other, nil, nil, 204},
		// The handler's refusals about the resource are saved too.
		{"PATCH", "/tasks/no-such-task", map[string]any{"name": "x"}, nil, 404},
		{"PUT", "/tasks/" + tasks[6], map[string]any{"name": "x"}, map[string]string{"If-Match": `"` + tasks[6] + `-7"`}, 412},
		{"POST", "/tasks", map[string]any{"name": ""}, nil, 422},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(c.method, " ", c.path), func(t *testing.T) {
			h := withKey(fmt.Sprint("key-", i))
			for k, v := range c.header {
				h[k] = v
			}
			rq := req{method: c.method, path: c.path, user: keyUser, body: c.body, header: h}
			first := srv.do(rq).want(t, c.status, "")
			wantReplayOf(t, srv.do(rq), first)
		})
	}
	// The writes happened once: the replay did not complete the task again.
	res := srv.do(req{method: "GET", path: "/tasks/" + tasks[3], user: keyUser}).want(t, 200, "")
	if res.obj("task")["completed_on"] == nil || res.header.Get("ETag") != `"`+tasks[3]+`-2"` {
		t.Fatalf("the completed task: %s, ETag %s; want completed once (version 2)", res.raw, res.header.Get("ETag"))
	}
}

// TestIdempotencyKeyNotSaved: a request refused before it executed, or
// refused as malformed, is not saved: its retry executes.
func TestIdempotencyKeyNotSaved(t *testing.T) {
	srv := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 64 })
	cases := []struct {
		name   string
		rq     req
		status int
	}{
		{"no token", req{method: "POST", path: "/tasks", body: map[string]any{"name": "a"}}, 401},
		{"malformed JSON", req{method: "POST", path: "/tasks", user: keyUser, body: `{"name":`}, 400},
		{"media type", req{method: "POST", path: "/tasks", user: keyUser, body: `{"name":"a"}`, header: map[string]string{"Content-Type": "text/plain"}}, 415},
		{"body too large", req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": strings.Repeat("a", 100)}}, 413},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := withKey(fmt.Sprint("not-saved-", i))
			for k, v := range c.rq.header {
				h[k] = v
			}
			c.rq.header = h
			first := srv.do(c.rq).want(t, c.status, "")
			again := srv.do(c.rq).want(t, c.status, "")
			if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "" {
				t.Fatal("a refused request was replayed")
			}
		})
	}
	// The same key then serves the corrected request.
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}, header: withKey("not-saved-1")}).want(t, 201, "")
}

func TestIdempotencyKeyInvalid(t *testing.T) {
	srv := newTestServer(t)
	for _, key := range []string{" ", strings.Repeat("k", 256), "has space", `has"quote`, `back\slash`, "caf\u00e9", "tab\tkey", `""`} {
		res := srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}, header: withKey(key)}).want(t, 400, taskapi.EBADREQUEST)
		if !strings.Contains(res.body["error"].(string), "Idempotency-Key") {
			t.Errorf("key %q: message %q does not name the header", key, res.body["error"])
		}
	}
	// Two headers are refused too.
	r, _ := http.NewRequest("POST", "/tasks", strings.NewReader(`{"name":"a"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(hdrSub, keyUser)
	r.Header.Add("Idempotency-Key", "a")
	r.Header.Add("Idempotency-Key", "b")
	w := httptest.NewRecorder()
	srv.handler.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("two Idempotency-Key headers: %d, want 400", w.Code)
	}
	// The longest key, and any visible ASCII, are accepted; reads ignore
	// the header.
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}, header: withKey(strings.Repeat("k", 255))}).want(t, 201, "")
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}, header: withKey("!#$%&'()*+,-./:;<=>?@[]^_`{|}~")}).want(t, 201, "")
	srv.do(req{method: "GET", path: "/tasks", user: keyUser, header: withKey("has space")}).want(t, 200, "")
}

// TestIdempotencyKeyInProgress: a request whose key another request holds
// is answered 409 with Retry-After, and executes once the key is free.
func TestIdempotencyKeyInProgress(t *testing.T) {
	srv := newTestServer(t)
	body := `{"name":"slow"}`
	k := taskapi.IdempotencyKey{UserID: keyUser, Key: "held", Fingerprint: taskapi.Fingerprint("POST", "/tasks", []byte(body))}
	_, claim, err := srv.store.ClaimKey(context.Background(), k, nil)
	if err != nil || claim == nil {
		t.Fatal(claim, err)
	}
	res := srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body, header: withKey("held")}).want(t, 409, taskapi.EKEYINPROGRESS)
	if res.header.Get("Retry-After") == "" {
		t.Error("409 in progress without Retry-After")
	}
	claim.Release(context.Background(), nil)
	srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: body, header: withKey("held")}).want(t, 201, "")
}

// unknownStore fails the next creates with EOUTCOMEUNKNOWN, as the
// PostgreSQL store does when a commit's answer never came; under a key
// claim too.
type unknownStore struct {
	taskapi.Store
	fail   atomic.Int32
	panics atomic.Int32 // creates that panic instead
}

func (s *unknownStore) ForIssuer(iss string) taskapi.IssuerStore {
	return &unknownIssuer{IssuerStore: s.Store.ForIssuer(iss), s: s}
}

type unknownIssuer struct {
	taskapi.IssuerStore
	s *unknownStore
}

func (u *unknownIssuer) CreateTask(ctx context.Context, t *taskapi.Task) error {
	if u.s.panics.Add(-1) >= 0 {
		panic("a bug in a write")
	}
	if u.s.fail.Add(-1) >= 0 {
		return fmt.Errorf("%w: commit sent, no answer", taskapi.OutcomeUnknown())
	}
	return u.IssuerStore.CreateTask(ctx, t)
}

func (u *unknownIssuer) ClaimKey(ctx context.Context, k taskapi.IdempotencyKey, r taskapi.Responder) (*taskapi.SavedResponse, taskapi.KeyClaim, error) {
	saved, c, err := u.IssuerStore.ClaimKey(ctx, k, r)
	if c != nil {
		c = &unknownClaim{KeyClaim: c, s: u.s}
	}
	return saved, c, err
}

type unknownClaim struct {
	taskapi.KeyClaim
	s *unknownStore
}

func (c *unknownClaim) Store() taskapi.IssuerStore {
	return &unknownIssuer{IssuerStore: c.KeyClaim.Store(), s: c.s}
}

// TestOutcomeUnknown: a write whose outcome is unknown is 504
// ERR_OUTCOME_UNKNOWN without Retry-After, and is not saved under its key,
// so a retry with the key executes it.
func TestOutcomeUnknown(t *testing.T) {
	var store *unknownStore
	srv := newTestServer(t, func(c *Config) {
		store = &unknownStore{Store: c.Store}
		c.Store = store
	})
	store.fail.Store(2)
	res := srv.do(req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}}).want(t, 504, taskapi.EOUTCOMEUNKNOWN)
	if res.header.Get("Retry-After") != "" {
		t.Error("504 ERR_OUTCOME_UNKNOWN with Retry-After: a blind retry may write twice")
	}
	if !strings.Contains(res.body["error"].(string), "Idempotency-Key") {
		t.Errorf("message %q does not say a retry needs the Idempotency-Key", res.body["error"])
	}
	rq := req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "b"}, header: withKey("unknown")}
	srv.do(rq).want(t, 504, taskapi.EOUTCOMEUNKNOWN)
	first := srv.do(rq).want(t, 201, "")
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the retry after 504 was a replay, not an execution")
	}
	wantReplayOf(t, srv.do(rq), first)
}

// TestIdempotencyKeyPanic: a handler that panics frees its key, saving
// nothing, so the retry executes.
func TestIdempotencyKeyPanic(t *testing.T) {
	var store *unknownStore
	srv := newTestServer(t, func(c *Config) {
		store = &unknownStore{Store: c.Store}
		c.Store = store
	})
	store.panics.Store(1)
	rq := req{method: "POST", path: "/tasks", user: keyUser, body: map[string]any{"name": "a"}, header: withKey("panics")}
	srv.do(rq).want(t, 500, taskapi.EINTERNAL)
	first := srv.do(rq).want(t, 201, "")
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the retry after a panic was a replay")
	}
}
