package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/internal/contract"
	"github.com/taskapi/taskapi/sqlite"
)

// Test-only authentication: the tests stand in for the bearer middleware
// with headers that name the claims directly.
const (
	hdrSub    = "X-Test-Sub"    // the sub claim (a string)
	hdrScope  = "X-Test-Scope"  // the scope claim
	hdrClaims = "X-Test-Claims" // the whole payload, as JSON (overrides the others)
)

// testAuthenticate puts the claims named by the test headers in the
// context, as the bearer middleware does with a verified token; a request
// with none is answered as one without a token, with WriteAuthError as
// the binary's verifier does.
func testAuthenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload := map[string]any{}
		switch {
		case r.Header.Get(hdrClaims) != "":
			if err := json.Unmarshal([]byte(r.Header.Get(hdrClaims)), &payload); err != nil {
				panic("bad " + hdrClaims + ": " + err.Error())
			}
		case r.Header.Get("Authorization") == "Bearer "+exampleToken:
			payload["sub"] = "auth0|example"
		case r.Header.Get(hdrSub) != "":
			payload["sub"] = r.Header.Get(hdrSub)
			payload["exp"] = float64(testStart.Add(time.Hour).Unix())
			if sc := r.Header.Get(hdrScope); sc != "" {
				payload["scope"] = sc
			}
		default:
			WriteAuthError(w, r, bearer.Unauthorized())
			return
		}
		next.ServeHTTP(w, r.WithContext(bearer.NewContext(r.Context(), &bearer.Claims{Payload: payload})))
	})
}

// testStart is the time the test clocks start at: noon UTC, so the dates
// around "today" are easy to reason about.
var testStart = time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock that moves forward a millisecond at each
// reading, so rows created one after another have distinct timestamps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testServer is the API on a fresh SQLite database.
type testServer struct {
	t       testing.TB
	handler http.Handler
	store   taskapi.Store
	clock   *clock
	logs    *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// serverOption adjusts the Config of a test server.
type serverOption func(*Config)

func newTestServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	clk := &clock{t: testStart}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.WithNow(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &syncBuffer{}
	cfg := Config{
		Store:        st,
		Authenticate: testAuthenticate,
		Logger:       logger(logs),
		Now:          clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, handler: h, store: cfg.Store, clock: clk, logs: logs}
}

// response is a recorded response with its body decoded.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// req describes one request.
type req struct {
	method, path, user string
	remote             string            // the client's address (httptest's 192.0.2.1:1234 when "")
	body               any               // string or []byte as is; anything else as JSON
	header             map[string]string // extra headers; Content-Type defaults to application/json with a body
}

// do serves rq and checks the response against the OpenAPI document.
func (s *testServer) do(rq req) *response {
	s.t.Helper()
	var raw []byte
	hasBody := rq.body != nil
	switch b := rq.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		raw = j
	}
	var body io.Reader
	if hasBody {
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	if hasBody {
		r.Header.Set("Content-Type", "application/json")
	}
	if rq.user != "" {
		r.Header.Set(hdrSub, rq.user)
	}
	for k, v := range rq.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	res := &response{status: w.Code, header: w.Header(), raw: w.Body.Bytes()}
	if r.Method == http.MethodHead {
		res.raw = nil // what a client gets: net/http's server sends no body to HEAD
	}
	if len(res.raw) > 0 && strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(res.raw, &res.body); err != nil && rq.path != "/openapi.json" {
			s.t.Errorf("%s %s: body is not a JSON object: %v: %s", rq.method, rq.path, err, res.raw)
		}
	}
	result := w.Result()
	result.Body = io.NopCloser(bytes.NewReader(res.raw))
	checkContract(s.t, r, raw, result, res.raw)
	return res
}

// checkContract validates one exchange against the OpenAPI document. The
// test headers stand for a token: the validator is shown one in the
// Authorization header, as a real client would send it.
func checkContract(t testing.TB, r *http.Request, reqBody []byte, res *http.Response, resBody []byte) {
	t.Helper()
	if r.Header.Get("Authorization") == "" && (r.Header.Get(hdrSub) != "" || r.Header.Get(hdrClaims) != "") {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer test-token")
	}
	apiContract.Check(t, contract.Exchange{Request: r, RequestBody: reqBody, Response: res, ResponseBody: resBody})
}

// want fails the test unless the response has the status (and, when code
// is not "", the error code).
func (res *response) want(t testing.TB, status int, code string) *response {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body: %s", res.status, status, res.raw)
	}
	if code != "" && res.body["code"] != code {
		t.Fatalf("code = %v, want %s; body: %s", res.body["code"], code, res.raw)
	}
	return res
}

// obj returns the object member name of the body (a task or a project).
func (res *response) obj(name string) map[string]any {
	m, _ := res.body[name].(map[string]any)
	return m
}

// list returns the ids of the array member name of the body.
func (res *response) ids(name string) []string {
	var ids []string
	arr, _ := res.body[name].([]any)
	for _, e := range arr {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	return ids
}

// fieldErrors returns the "field: message" pairs of a 422 body.
func (res *response) fieldErrors() []string {
	var out []string
	arr, _ := res.body["errors"].([]any)
	for _, e := range arr {
		m := e.(map[string]any)
		out = append(out, m["field"].(string)+": "+m["message"].(string))
	}
	return out
}

// createTask creates a task of user and returns it.
func (s *testServer) createTask(user string, body map[string]any) map[string]any {
	s.t.Helper()
	return s.do(req{method: "POST", path: "/tasks", user: user, body: body}).want(s.t, 201, "").obj("task")
}

// createProject creates a project of user and returns it.
func (s *testServer) createProject(user, name string) map[string]any {
	s.t.Helper()
	return s.do(req{method: "POST", path: "/projects", user: user, body: map[string]any{"name": name}}).want(s.t, 201, "").obj("project")
}

// logger returns a JSON logger writing to w.
func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
