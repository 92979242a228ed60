package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Scenarios, in the order "all" runs them.
const (
	scenarioBare       = "bare"
	scenarioGetTasks   = "get-tasks"
	scenarioPostTasks  = "post-tasks"
	scenarioPostKeyed  = "post-tasks-keyed"
	scenarioMixed      = "mixed"
	scenarioMixedUsers = "mixed-users"
)

var allScenarios = []string{scenarioBare, scenarioGetTasks, scenarioPostTasks, scenarioPostKeyed, scenarioMixed, scenarioMixedUsers}

// listSize is the number of tasks GET /tasks answers with: the reader has
// exactly this many, the default page size.
const listSize = 20

// setupConcurrency bounds the workers set up at once: mixed-users seeds
// listSize tasks for each (1,280 POSTs for 64 workers), which one worker
// after the other took 1–3.5 s on a 2-core machine, 0.6–1.7 s so.
const setupConcurrency = 8

// Subjects of the users loadgen acts as. The reader owns the listSize
// tasks; every writer worker (post-tasks, mixed, mixed-users) has a user of
// its own.
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
	return a.seedUser(ctx, readerSubject, listSize)
}

// seedUser gives the user sub n tasks (fewer than that are topped up) and
// returns its token.
func (a *api) seedUser(ctx context.Context, sub string, n int) (string, error) {
	tok, err := a.token(sub)
	if err != nil {
		return "", err
	}
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	status, _, body, err := a.call(ctx, http.MethodGet, "/tasks?limit="+strconv.Itoa(n), tok, nil, &list)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("GET /tasks: status %d: %s", status, truncate(body))
	}
	for i := len(list.Tasks); i < n; i++ {
		if _, _, err := a.createTask(ctx, tok, fmt.Sprintf("Load task %02d", i+1)); err != nil {
			return "", err
		}
	}
	return tok, nil
}

// createTask creates a task named name as the user of tok and returns its
// id and ETag.
func (a *api) createTask(ctx context.Context, tok, name string) (id, etag string, err error) {
	var created struct {
		Task struct {
			ID string `json:"id"`
		} `json:"task"`
	}
	status, h, body, err := a.call(ctx, http.MethodPost, "/tasks", tok, newTaskBody(name), &created)
	if err != nil {
		return "", "", err
	}
	if status != http.StatusCreated || created.Task.ID == "" || h.Get("ETag") == "" {
		return "", "", fmt.Errorf("POST /tasks: status %d, ETag %q: %s", status, h.Get("ETag"), truncate(body))
	}
	return created.Task.ID, h.Get("ETag"), nil
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
	// key, when set, is the prefix of a fresh Idempotency-Key per request
	// (post-tasks-keyed).
	key string
}

func (w *postWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	body, _ := json.Marshal(newTaskBody(w.name + strconv.Itoa(i)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", w.auth)
	req.Header.Set("Content-Type", "application/json")
	if w.key != "" {
		req.Header.Set("Idempotency-Key", w.key+strconv.Itoa(i))
	}
	status, _, err := send(c, req)
	return status, err
}

// patchWorker renames one task with If-Match, its ETag kept from the
// last answer.
type patchWorker struct {
	url  string // .../tasks/{id}
	auth string
	etag string
}

func (w *patchWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	body, _ := json.Marshal(map[string]any{"name": "Patched by loadgen " + strconv.Itoa(i)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", w.auth)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", w.etag)
	status, h, err := send(c, req)
	if err == nil && status == http.StatusOK {
		w.etag = h.Get("ETag")
	}
	return status, err
}

// mixedWorker reads the reader's list 8 times in 10 and writes 2 times in
// 10: a POST /tasks, and a PATCH /tasks/{id} of a task of its own.
type mixedWorker struct {
	get   getWorker
	post  postWorker
	patch patchWorker
}

func (w *mixedWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	switch i % 10 {
	case 4:
		return w.post.do(ctx, c, i)
	case 9:
		return w.patch.do(ctx, c, i)
	default:
		return w.get.do(ctx, c, i)
	}
}

// Queries of the reads of a usersWorker besides the default page: every
// third read takes one of them in turn.
var userListQueries = []string{"?completed=false&sort=due_date", "?sort=-updated_at"}

// usersWorker acts as a user of its own with listSize tasks. Per 10
// requests it reads its own list 6 times, every third read with a query
// of userListQueries, and writes 4 times: 2 POST /tasks and 2 PATCH
// /tasks/{id} of one of its tasks.
type usersWorker struct {
	lists []getWorker // its list: the default page, then userListQueries
	reads int
	post  postWorker
	patch patchWorker
}

func (w *usersWorker) do(ctx context.Context, c *http.Client, i int) (int, error) {
	switch i % 10 {
	case 2, 7:
		return w.post.do(ctx, c, i)
	case 4, 9:
		return w.patch.do(ctx, c, i)
	default:
		n := w.reads
		w.reads++
		if n%3 != 2 {
			return w.lists[0].do(ctx, c, i)
		}
		return w.lists[1+n/3%len(userListQueries)].do(ctx, c, i)
	}
}

// workers builds the workers of scenario on a: n of them, up to
// setupConcurrency at once. readerToken is the reader's token; bareURL the
// bare handler's.
func (a *api) workers(ctx context.Context, scenario string, n int, readerToken, bareURL string) ([]worker, error) {
	ws := make([]worker, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, setupConcurrency)
	for i := range ws {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ws[i], errs[i] = a.worker(ctx, scenario, i, readerToken, bareURL)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ws, nil
}

// worker builds the i-th worker of scenario on a.
func (a *api) worker(ctx context.Context, scenario string, i int, readerToken, bareURL string) (worker, error) {
	switch scenario {
	case scenarioBare:
		return &getWorker{url: bareURL + "/tasks"}, nil
	case scenarioGetTasks:
		return &getWorker{url: a.url + "/tasks", auth: "Bearer " + readerToken}, nil
	case scenarioPostTasks, scenarioPostKeyed:
		tok, err := a.token(fmt.Sprintf(writerSubject, scenario, i))
		if err != nil {
			return nil, err
		}
		w := &postWorker{url: a.url + "/tasks", auth: "Bearer " + tok, name: fmt.Sprintf("Load w%d #", i)}
		if scenario == scenarioPostKeyed {
			w.key = rand.Text() + "-" // new keys in every round
		}
		return w, nil
	case scenarioMixed:
		tok, err := a.token(fmt.Sprintf(writerSubject, scenario, i))
		if err != nil {
			return nil, err
		}
		id, etag, err := a.createTask(ctx, tok, fmt.Sprintf("Mixed w%d", i))
		if err != nil {
			return nil, err
		}
		auth := "Bearer " + tok
		return &mixedWorker{
			get:   getWorker{url: a.url + "/tasks", auth: "Bearer " + readerToken},
			post:  postWorker{url: a.url + "/tasks", auth: auth, name: fmt.Sprintf("Mixed w%d #", i)},
			patch: patchWorker{url: a.url + "/tasks/" + id, auth: auth, etag: etag},
		}, nil
	case scenarioMixedUsers:
		// listSize tasks of its own, the last the one it patches.
		tok, err := a.seedUser(ctx, fmt.Sprintf(writerSubject, scenario, i), listSize-1)
		if err != nil {
			return nil, err
		}
		id, etag, err := a.createTask(ctx, tok, fmt.Sprintf("Mixed users w%d", i))
		if err != nil {
			return nil, err
		}
		auth := "Bearer " + tok
		w := &usersWorker{
			lists: []getWorker{{url: a.url + "/tasks", auth: auth}},
			post:  postWorker{url: a.url + "/tasks", auth: auth, name: fmt.Sprintf("Mixed users w%d #", i)},
			patch: patchWorker{url: a.url + "/tasks/" + id, auth: auth, etag: etag},
		}
		for _, q := range userListQueries {
			w.lists = append(w.lists, getWorker{url: a.url + "/tasks" + q, auth: auth})
		}
		return w, nil
	}
	return nil, fmt.Errorf("unknown scenario %q", scenario)
}

// truncate shortens an answer for an error message.
func truncate(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
