package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Scenarios, in the order "all" runs them.
const (
	scenarioBare      = "bare"
	scenarioGetTasks  = "get-tasks"
	scenarioPostTasks = "post-tasks"
	scenarioMixed     = "mixed"
)

var allScenarios = []string{scenarioBare, scenarioGetTasks, scenarioPostTasks, scenarioMixed}

// listSize is the number of tasks GET /tasks answers with: the reader has
// exactly this many, the default page size.
const listSize = 20

// Subjects of the users loadgen acts as. The reader owns the listSize
// tasks; every writer worker has a user of its own.
const (
	readerSubject = "loadgen|reader"
	writerSubject = "loadgen|writer-%s-%d" // scenario, worker
)

// api is the API of one target as the scenarios call it.
type api struct {
	url   string
	token func(sub string) (string, error)
}

// call sends one request with a bearer token and, when v is not nil,
// decodes a JSON answer into it. It returns the status and headers.
func (a *api) call(ctx context.Context, method, path, token string, body any, v any) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	if v != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, v); err != nil {
			return 0, nil, nil, fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
		}
	}
	return res.StatusCode, res.Header, b, nil
}

// newTaskBody is the body of the tasks loadgen creates: every field set,
// so a listed task is as large as a real one.
func newTaskBody(name string) map[string]any {
	return map[string]any{
		"name":        name,
		"description": "Created by loadgen: a task of realistic size, with a description and a due date.",
		"due_date":    time.Now().AddDate(0, 1, 0).Format(time.DateOnly),
	}
}

// seedReader gives the reader listSize tasks (fewer than that are topped
// up) and returns its token.
func (a *api) seedReader(ctx context.Context) (string, error) {
	tok, err := a.token(readerSubject)
	if err != nil {
		return "", err
	}
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	status, _, body, err := a.call(ctx, http.MethodGet, "/tasks?limit="+strconv.Itoa(listSize), tok, nil, &list)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("GET /tasks: status %d: %s", status, truncate(body))
	}
	for i := len(list.Tasks); i < listSize; i++ {
		status, _, body, err := a.call(ctx, http.MethodPost, "/tasks", tok, newTaskBody(fmt.Sprintf("Load task %02d", i+1)), nil)
		if err != nil {
			return "", err
		}
		if status != http.StatusCreated {
			return "", fmt.Errorf("POST /tasks: status %d: %s", status, truncate(body))
		}
	}
	return tok, nil
}

// capture is one answer of the API, kept to be served again by the bare
// handler.
type capture struct {
	header http.Header
	body   []byte
}

// captureList returns the answer to the reader's GET /tasks.
func (a *api) captureList(ctx context.Context, tok string) (*capture, error) {
	status, h, body, err := a.call(ctx, http.MethodGet, "/tasks", tok, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /tasks: status %d: %s", status, truncate(body))
	}
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Tasks) != listSize {
		return nil, fmt.Errorf("GET /tasks answered %d tasks, want %d (%v)", len(list.Tasks), listSize, err)
	}
	h = h.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return &capture{header: h, body: body}, nil
}

// startBare serves c's bytes at every path on a free port of 127.0.0.1: the
// floor a real handler is measured against. It returns the base URL and a
// function that stops it.
func startBare(c *capture) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			for k, v := range c.header {
				h[k] = v
			}
			w.Write(c.body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// getWorker reads one list, again and again.
type getWorker struct {
	url  string
	auth string // the Authorization header; "" for none
}

func (w *getWorker) do(ctx context.Context, c *http.Client, _ int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return 0, err
	}
	if w.auth != "" {
		req.Header.Set("Authorization", w.auth)
	}
	status, _, err := send(c, req)
	return status, err
}

// postWorker creates tasks.
type postWorker struct {
	url  string // .../tasks
	auth string
	name string // prefix of the task names
}

func (w *postWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	body, _ := json.Marshal(newTaskBody(w.name + strconv.Itoa(i)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", w.auth)
	req.Header.Set("Content-Type", "application/json")
	status, _, err := send(c, req)
	return status, err
}

// mixedWorker reads the reader's list 8 times in 10 and writes 2 times in
// 10: a POST /tasks, and a PATCH /tasks/{id} of a task of its own with
// If-Match, its ETag kept from the last answer.
type mixedWorker struct {
	get   getWorker
	post  postWorker
	patch string // .../tasks/{id}
	etag  string
}

func (w *mixedWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	switch i % 10 {
	case 4:
		return w.post.do(ctx, c, i)
	case 9:
		body, _ := json.Marshal(map[string]any{"name": "Patched by loadgen " + strconv.Itoa(i)})
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, w.patch, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", w.post.auth)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		req.Header.Set("If-Match", w.etag)
		status, h, err := send(c, req)
		if err == nil && status == http.StatusOK {
			w.etag = h.Get("ETag")
		}
		return status, err
	default:
		return w.get.do(ctx, c, i)
	}
}

// workers builds the workers of scenario on a: n of them. readerToken is
// the reader's token; bareURL the bare handler's.
func (a *api) workers(ctx context.Context, scenario string, n int, readerToken, bareURL string) ([]worker, error) {
	ws := make([]worker, n)
	for i := range ws {
		switch scenario {
		case scenarioBare:
			ws[i] = &getWorker{url: bareURL + "/tasks"}
		case scenarioGetTasks:
			ws[i] = &getWorker{url: a.url + "/tasks", auth: "Bearer " + readerToken}
		case scenarioPostTasks:
			tok, err := a.token(fmt.Sprintf(writerSubject, scenario, i))
			if err != nil {
				return nil, err
			}
			ws[i] = &postWorker{url: a.url + "/tasks", auth: "Bearer " + tok, name: fmt.Sprintf("Load w%d #", i)}
		case scenarioMixed:
			tok, err := a.token(fmt.Sprintf(writerSubject, scenario, i))
			if err != nil {
				return nil, err
			}
			var created struct {
				Task struct {
					ID string `json:"id"`
				} `json:"task"`
			}
			status, h, body, err := a.call(ctx, http.MethodPost, "/tasks", tok, newTaskBody(fmt.Sprintf("Mixed w%d", i)), &created)
			if err != nil {
				return nil, err
			}
			if status != http.StatusCreated || created.Task.ID == "" || h.Get("ETag") == "" {
				return nil, fmt.Errorf("POST /tasks: status %d, ETag %q: %s", status, h.Get("ETag"), truncate(body))
			}
			ws[i] = &mixedWorker{
				get:   getWorker{url: a.url + "/tasks", auth: "Bearer " + readerToken},
				post:  postWorker{url: a.url + "/tasks", auth: "Bearer " + tok, name: fmt.Sprintf("Mixed w%d #", i)},
				patch: a.url + "/tasks/" + created.Task.ID,
				etag:  h.Get("ETag"),
			}
		default:
			return nil, fmt.Errorf("unknown scenario %q", scenario)
		}
	}
	return ws, nil
}

// truncate shortens an answer for an error message.
func truncate(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
