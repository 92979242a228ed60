package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// keyedCreate sends POST /tasks named key, with key as its
// Idempotency-Key. It returns the created (or replayed) task's id on 201,
// else the answer.
func keyedCreate(ctx context.Context, base, tok, key string) (string, answer, error) {
	body, _ := json.Marshal(map[string]any{"name": key})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/tasks", bytes.NewReader(body))
	if err != nil {
		return "", answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := client.Do(req)
	if err != nil {
		return "", answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	a := answer{status: res.StatusCode, header: res.Header, body: b}
	if err != nil || res.StatusCode != http.StatusCreated {
		return "", a, err
	}
	var created struct {
		Task struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"task"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.Task.ID == "" || created.Task.Name != key {
		return "", a, fmt.Errorf("201 without the task named %s: %s", key, b)
	}
	return created.Task.ID, a, nil
}

// retryKeyed sends keyedCreate again until it is answered 201, as a client
// following the documented rules does: 409 ERR_IDEMPOTENCY_KEY_IN_PROGRESS,
// 503 and 504 (with the same key) and no answer are retried.
func retryKeyed(t *testing.T, base, tok, key string) (string, answer) {
	t.Helper()
	deadline := time.Now().Add(requestBound)
	for {
		id, a, err := keyedCreate(t.Context(), base, tok, key)
		if id != "" {
			return id, a
		}
		retryable := err != nil || a.status == http.StatusConflict || a.status == http.StatusServiceUnavailable || a.status == http.StatusGatewayTimeout
		if !retryable || time.Now().After(deadline) {
			t.Fatalf("key %s: %v %d %s", key, err, a.status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keyedLoad is writers creating tasks, each with a fresh Idempotency-Key
// that is also its name, until stopped. It keeps every key it sent and
// the id of every create acknowledged (201).
type keyedLoad struct {
	mu    sync.Mutex
	sent  []string
	acked map[string]string
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startKeyedWrites(base, tok string, n int) *keyedLoad {
	l := &keyedLoad{acked: map[string]string{}, stop: make(chan struct{})}
	run := rand.Text()[:8]
	for i := range n {
		l.wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-l.stop:
					return
				default:
				}
				key := fmt.Sprintf("%s-w%d-%d", run, i, j)
				l.mu.Lock()
				l.sent = append(l.sent, key)
				l.mu.Unlock()
				id, _, err := keyedCreate(context.Background(), base, tok, key)
				if id != "" {
					l.mu.Lock()
					l.acked[key] = id
					l.mu.Unlock()
				}
				if err != nil {
					time.Sleep(5 * time.Millisecond) // the service is gone: do not spin
				}
			}
		})
	}
	return l
}

func (l *keyedLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *keyedLoad) finish() ([]string, map[string]string) {
	close(l.stop)
	l.wg.Wait()
	return l.sent, l.acked
}

// tasksByName returns how many tasks of tok's user have each name.
func tasksByName(t *testing.T, base, tok string) map[string]int {
	t.Helper()
	names := map[string]int{}
	q := url.Values{"limit": {"100"}}
	for {
		a, err := call(t.Context(), http.MethodGet, base+"/tasks?"+q.Encode(), tok, nil)
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("GET /tasks: %v %d %s", err, a.status, a.body)
		}
		var list struct {
			Tasks []struct {
				Name string `json:"name"`
			} `json:"tasks"`
			Next string `json:"next_page_token"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil {
			t.Fatal(err)
		}
		for _, task := range list.Tasks {
			names[task.Name]++
		}
		if list.Next == "" {
			return names
		}
		q.Set("page_token", list.Next)
	}
}

// TestKillDuringKeyedWrites kills the service (SIGKILL) while 16 writers
// create tasks with fresh Idempotency-Keys, restarts it on the same
// database and sends every key again: each key must map to exactly one
// task, every acknowledged create must be replayed with its id, and no
// task may be duplicated, on both stores.
func TestKillDuringKeyedWrites(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := "sqlite:" + filepath.Join(dir, "taskapi.db")
			if db == "postgres" {
				dbURL = postgresURL(t)
			}
			idp := startIdP(t)
			tok := token(t, idp, "faults|keyed")
			svc := startOrSkip(t, dir, dbURL, idp)

			load := startKeyedWrites(svc.URL, tok, 16)
			deadline := time.Now().Add(requestBound)
			for load.ackedCount() < 300 {
				if time.Now().After(deadline) {
					t.Fatalf("only %d keyed writes acknowledged within %v", load.ackedCount(), requestBound)
				}
				time.Sleep(10 * time.Millisecond)
			}
			svc.Kill() // SIGKILL, with writes in flight
			sent, acked := load.finish()

			svc2 := startOrSkip(t, dir, dbURL, idp)
			replayed := 0
			for _, key := range sent {
				id, a := retryKeyed(t, svc2.URL, tok, key)
				if a.header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
				if want, ok := acked[key]; ok && id != want {
					t.Errorf("key %s: acknowledged as task %s, its retry answers %s", key, want, id)
				}
				if _, ok := acked[key]; ok && a.header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("key %s: acknowledged, but its retry executed again", key)
				}
			}
			names := tasksByName(t, svc2.URL, tok)
			for _, key := range sent {
				if names[key] != 1 {
					t.Errorf("key %s: %d tasks, want exactly 1", key, names[key])
				}
			}
			if len(names) != len(sent) {
				t.Errorf("%d task names for %d keys sent", len(names), len(sent))
			}
			t.Logf("%s: %d keys sent, %d acknowledged before SIGKILL; after restart %d retries replayed, %d executed; %d tasks",
				db, len(sent), len(acked), replayed, len(sent)-replayed, len(names))
		})
	}
}

// TestPostgresFreezeRetries freezes PostgreSQL (the proxy holds every
// byte, then delivers it: a COMMIT sent during the freeze runs after it)
// under writers that follow the documented retry rules, and checks that
// none of them created a duplicate: keyed writers retry 409, 503, 504 and
// lost answers with the same key; keyless writers retry 503 only (nothing
// was written) and never 504 (the write may have taken effect).
func TestPostgresFreezeRetries(t *testing.T) {
	direct := postgresURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := harness.StartProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()
	idp := startIdP(t)
	tok := token(t, idp, "faults|frozen")
	svc := start(t, t.TempDir(), u.String(), idp, "REQUEST_TIMEOUT=1s")

	var mu sync.Mutex
	statuses := map[string]map[int]int{"keyed": {}, "keyless": {}}
	var names []string
	count := func(kind string, status int) {
		mu.Lock()
		statuses[kind][status]++
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	run := rand.Text()[:8]
	for i := range 8 {
		keyed := i%2 == 0
		wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("%s-w%d-%d", run, i, j)
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
				for attempt := 0; ; attempt++ {
					var a answer
					var err error
					if keyed {
						_, a, err = keyedCreate(context.Background(), svc.URL, tok, name)
					} else {
						_, a, err = createTask(context.Background(), svc.URL, tok, name, "")
					}
					kind := map[bool]string{true: "keyed", false: "keyless"}[keyed]
					count(kind, a.status)
					retry := a.status == http.StatusServiceUnavailable || err != nil && keyed ||
						keyed && (a.status == http.StatusConflict || a.status == http.StatusGatewayTimeout)
					if !retry || attempt > 200 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(time.Second)
	proxy.Stall()
	time.Sleep(3 * time.Second)
	proxy.Unstall()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	have := tasksByName(t, svc.URL, tok)
	dups := 0
	for _, name := range names {
		if have[name] > 1 {
			dups++
			t.Errorf("%s: %d tasks, a duplicate", name, have[name])
		}
	}
	t.Logf("%d writes, %d duplicates; answers keyed %v, keyless %v", len(names), dups, statuses["keyed"], statuses["keyless"])
	if statuses["keyed"][http.StatusServiceUnavailable]+statuses["keyed"][http.StatusGatewayTimeout]+
		statuses["keyless"][http.StatusServiceUnavailable]+statuses["keyless"][http.StatusGatewayTimeout] == 0 {
		t.Error("the freeze was never noticed: no 503 or 504")
	}
}
