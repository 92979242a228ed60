package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// binary is the taskapi executable under test, built once by TestMain (or
// TASKAPI_BIN).
var binary string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if b := os.Getenv("TASKAPI_BIN"); b != "" {
			binary = b
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "faults-bin-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		root, err := harness.ModuleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Other users may run it: TestReadOnlyDatabase runs it as nobody.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binary = filepath.Join(dir, "taskapi")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := harness.Build(ctx, root, binary); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// requestBound is the longest any request may take in these tests: a
// request that takes longer is a hang.
const requestBound = 15 * time.Second

// client is the HTTP client of the tests; its timeout is the hang bound.
var client = &http.Client{Timeout: requestBound}

// startIdP starts an identity provider for the test.
func startIdP(t *testing.T) *harness.IdP {
	t.Helper()
	idp, err := harness.StartIdP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

// start runs taskapi serve on dbURL with idp, in dir, and kills it when
// the test ends (unless the test stopped it).
func start(t *testing.T, dir, dbURL string, idp *harness.IdP, env ...string) *harness.Service {
	t.Helper()
	svc, err := harness.Start(t.Context(), harness.Config{
		Binary:        binary,
		Dir:           dir,
		DatabaseURL:   dbURL,
		IssuerBaseURL: idp.URL(),
		LogLevel:      "warn",
		Env:           env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Kill()
		if t.Failed() {
			t.Logf("taskapi log:\n%s", svc.LogTail(4000))
		}
	})
	return svc
}

// token mints a token for sub or ends the test.
func token(t *testing.T, idp *harness.IdP, sub string) string {
	t.Helper()
	tok, err := idp.Token(sub)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// answer is one HTTP answer.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

// call sends one request with a bearer token (none when tok is empty) and
// a JSON body (none when body is nil).
func call(ctx context.Context, method, u, tok string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return answer{elapsed: time.Since(t0)}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	a := answer{status: res.StatusCode, header: res.Header, body: b, elapsed: time.Since(t0)}
	return a, err
}

// errorBody is the API's error shape.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// checkUnavailable fails the test unless a is a clear 503: the API's error
// shape with ERR_UNAVAILABLE and a message that says to retry.
func checkUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	var e errorBody
	if a.status != http.StatusServiceUnavailable || json.Unmarshal(a.body, &e) != nil || e.Code != "ERR_UNAVAILABLE" || e.Error == "" {
		t.Errorf("%s: %d %s, want 503 with code ERR_UNAVAILABLE", what, a.status, a.body)
	}
}

// createTask creates a task named name and returns its id, or the answer
// that refused it.
func createTask(ctx context.Context, base, tok, name, description string) (string, answer, error) {
	a, err := call(ctx, http.MethodPost, base+"/tasks", tok, map[string]any{"name": name, "description": description})
	if err != nil || a.status != http.StatusCreated {
		return "", a, err
	}
	var created struct {
		Task struct {
			ID string `json:"id"`
		} `json:"task"`
	}
	if err := json.Unmarshal(a.body, &created); err != nil || created.Task.ID == "" {
		return "", a, fmt.Errorf("201 without a task id: %s", a.body)
	}
	return created.Task.ID, a, nil
}

// listIDs returns the ids of every task of tok's user, page by page.
func listIDs(t *testing.T, base, tok string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	q := url.Values{"limit": {"100"}}
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("more than 10000 pages: the pagination loops")
		}
		a, err := call(t.Context(), http.MethodGet, base+"/tasks?"+q.Encode(), tok, nil)
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("GET /tasks: %v %d %s", err, a.status, a.body)
		}
		var list struct {
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
			Next string `json:"next_page_token"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil {
			t.Fatal(err)
		}
		for _, task := range list.Tasks {
			ids[task.ID] = true
		}
		if list.Next == "" {
			return ids
		}
		q.Set("page_token", list.Next)
	}
}

// writeLoad is workers creating tasks until stopped, keeping the id of
// every task whose creation was acknowledged (201).
type writeLoad struct {
	mu     sync.Mutex
	acked  []string
	others map[int]int // answers other than 201, by status
	errs   int         // requests without an answer
	slow   time.Duration
	cond   *sync.Cond

	stop chan struct{}
	wg   sync.WaitGroup
}

// startWrites starts n writers on base as tok's user.
func startWrites(base, tok string, n int) *writeLoad {
	w := &writeLoad{others: map[int]int{}, stop: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	for i := range n {
		w.wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-w.stop:
					return
				default:
				}
				id, a, err := createTask(context.Background(), base, tok, fmt.Sprintf("w%d-%d", i, j), "")
				w.mu.Lock()
				w.slow = max(w.slow, a.elapsed)
				switch {
				case err != nil:
					w.errs++
				case id != "":
					w.acked = append(w.acked, id)
				default:
					w.others[a.status]++
				}
				w.cond.Broadcast()
				w.mu.Unlock()
				if err != nil {
					// The service is gone or going: do not spin.
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	return w
}

// waitAcked waits until n writes have been acknowledged, for at most
// requestBound.
func (w *writeLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	timer := time.AfterFunc(requestBound, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(requestBound)
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.acked) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged within %v (others %v, errors %d)", len(w.acked), requestBound, w.others, w.errs)
		}
		w.cond.Wait()
	}
}

// finish stops the writers and returns the acknowledged ids.
func (w *writeLoad) finish() []string {
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}
