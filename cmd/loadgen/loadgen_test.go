package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// binDir holds the taskapi binary the tests build once.
var binDir string

func TestMain(m *testing.M) {
	if file := os.Getenv(bareEnv); file != "" {
		os.Exit(serveBare(file)) // the bare handler process of a test
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildOnce builds ./cmd/taskapi once for every test of the package.
var buildOnce = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("TASKAPI_BIN"); bin != "" {
		return bin, nil
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return "", err
	}
	if binDir, err = os.MkdirTemp("", "loadgen-test-*"); err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "taskapi")
	return bin, harness.Build(context.Background(), root, bin)
})

// taskapiBinary returns the taskapi binary under test.
func taskapiBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestShortSQLite runs the CI form against SQLite: the real binary, real
// tokens, every scenario. It asserts zero errors and zero non-2xx answers,
// never timings.
func TestShortSQLite(t *testing.T) {
	testShort(t, "sqlite", "/bare sqlite/get-tasks sqlite/post-tasks sqlite/post-tasks-keyed sqlite/mixed sqlite/mixed-users")
}

// TestShortPostgres is TestShortSQLite on a PostgreSQL schema of its own
// (pgtest's rule: skipped loudly when the server is unreachable, a
// failure when CI is set), without the bare handler.
func TestShortPostgres(t *testing.T) {
	pg := pgtest.Schema(t) // the reachability check; loadgen makes its own schema
	testShort(t, "postgres", "postgres/get-tasks postgres/post-tasks postgres/post-tasks-keyed postgres/mixed postgres/mixed-users", "-pg", pg, "-scenario", "get-tasks,post-tasks,post-tasks-keyed,mixed,mixed-users")
}

func testShort(t *testing.T, db, want string, extra ...string) {
	out := filepath.Join(t.TempDir(), "load.json")
	var stdout, stderr bytes.Buffer
	args := append([]string{"-short", "-duration", "1s", "-rounds", "2", "-warmup", "200ms", "-connections", "16", "-db", db, "-json", out}, extra...)
	args = append(args, "-taskapi", taskapiBinary(t))
	code := run(t.Context(), args, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("loadgen exited %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.DB+"/"+r.Scenario)
		if r.Requests == 0 || r.Errors != 0 || r.Non2xx != 0 {
			t.Errorf("%s %s: %d requests, %d errors, %d non-2xx (%v), want >0, 0, 0", r.DB, r.Scenario, r.Requests, r.Errors, r.Non2xx, r.ErrorSamples)
		}
		if r.PeakRSSBytes == 0 || r.ServiceCPU == 0 {
			t.Errorf("%s: no peak RSS or CPU of the serving process", r.Scenario)
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("scenarios %q, want %q", strings.Join(got, " "), want)
	}
	if strings.HasPrefix(want, "/bare") {
		if rep.BareBytes < 20*100 {
			t.Errorf("bare handler serves %d bytes: not a list of 20 tasks", rep.BareBytes)
		}
		if !strings.Contains(stdout.String(), "get-tasks / bare") {
			t.Errorf("table without the ratio to the bare handler:\n%s", &stdout)
		}
	}
}

// TestMixedUsersWorkload runs the workers of mixed-users against a fake
// API that records every request. Each worker must act as a user of its
// own with listSize tasks, and per 10 requests read its own list 6 times
// (every third read with a query), create 2 tasks and patch 2 times a
// task of its own with the ETag of the last answer (else 412).
func TestMixedUsersWorkload(t *testing.T) {
	var (
		mu       sync.Mutex
		counts   = map[string]map[string]int{} // by Authorization: requests by method, path and query
		tasks    = map[string]int{}            // by Authorization: tasks created
		owner    = map[string]string{}         // by task id: its user's Authorization
		versions = map[string]int{}            // by task id
	)
	etag := func(id string) string { return fmt.Sprintf(`"%s-%d"`, id, versions[id]) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auth, path := r.Header.Get("Authorization"), r.URL.Path
		switch {
		case r.Method == http.MethodGet && path == "/tasks":
			io.WriteString(w, `{"tasks":[]}`)
		case r.Method == http.MethodPost && path == "/tasks":
			id := "t" + strconv.Itoa(len(owner))
			owner[id] = auth
			tasks[auth]++
			w.Header().Set("ETag", etag(id))
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"task":{"id":%q}}`, id)
		case r.Method == http.MethodPatch && strings.HasPrefix(path, "/tasks/"):
			id := strings.TrimPrefix(path, "/tasks/")
			if owner[id] != auth {
				http.NotFound(w, r)
				return
			}
			if r.Header.Get("If-Match") != etag(id) {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			versions[id]++
			w.Header().Set("ETag", etag(id))
			path = "/tasks/{id}"
		default:
			http.NotFound(w, r)
			return
		}
		if counts[auth] == nil {
			counts[auth] = map[string]int{}
		}
		counts[auth][r.Method+" "+path+"?"+r.URL.RawQuery]++
	}))
	defer srv.Close()
	a := &api{url: srv.URL, token: func(sub string) (string, error) { return sub, nil }}

	const n = 4
	ws, err := a.workers(t.Context(), scenarioMixedUsers, n, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != n {
		t.Fatalf("seeded %d users, want %d", len(tasks), n)
	}
	for auth, c := range tasks {
		if c != listSize {
			t.Errorf("%s: seeded %d tasks, want %d", auth, c, listSize)
		}
	}
	clear(counts)
	for _, w := range ws {
		c := newClient()
		for i := range 30 {
			if status, err := w.do(t.Context(), c, i); err != nil || status/100 != 2 {
				t.Fatalf("request %d: status %d, %v", i, status, err)
			}
		}
		c.CloseIdleConnections()
	}
	want := map[string]int{
		"GET /tasks?": 12,
		"GET /tasks?completed=false&sort=due_date": 3,
		"GET /tasks?sort=-updated_at":              3,
		"POST /tasks?":                             6,
		"PATCH /tasks/{id}?":                       6,
	}
	if len(counts) != n {
		t.Errorf("%d users sent requests, want %d", len(counts), n)
	}
	for auth, got := range counts {
		if !maps.Equal(got, want) {
			t.Errorf("%s: requests %v, want %v", auth, got, want)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"-url", "http://10.0.0.1:5000", "-token", "x"}, "loopback addresses only"},
		{[]string{"-url", "http://example.com/", "-token", "x"}, "loopback addresses only"},
		{[]string{"-url", "https://127.0.0.1:5000", "-token", "x"}, "want http://127.0.0.1:PORT"},
		{[]string{"-url", "http://localhost:5000"}, "-url needs -token"},
		{[]string{"-token", "x"}, "-token needs -url"},
		{[]string{"-connections", "0"}, "-connections 0"},
		{[]string{"-connections", "5000"}, "-connections 5000"},
		{[]string{"-duration", "1h"}, "-duration 1h0m0s"},
		{[]string{"-scenario", "get-tasks,nope"}, `unknown name "nope"`},
		{[]string{"-db", "mysql"}, `unknown name "mysql"`},
		{[]string{"-log-level", "loud"}, "-log-level"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-rounds", "0"}, "-rounds 0"},
		{[]string{"-rounds", "20", "-duration", "1s"}, "slices of -duration of at least 100ms"},
		{[]string{"-url", "http://127.0.0.1:5000/", "-token", "x"}, ""},
		{[]string{"-url", "http://[::1]:5000", "-token", "x"}, ""},
		{[]string{"-scenario", "mixed,bare", "-db", "all"}, ""},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		o, err := parseFlags(tt.args, &stderr)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want one with %q", tt.args, err, tt.want)
		}
		if tt.want == "" && tt.args[0] == "-scenario" {
			if got := strings.Join(o.scenarios, ","); got != "bare,mixed" {
				t.Errorf("scenarios %q, want bare,mixed (bare first)", got)
			}
			if got := strings.Join(o.dbs, ","); got != "sqlite,postgres" {
				t.Errorf("dbs %q", got)
			}
		}
	}
}

func TestShortDefaults(t *testing.T) {
	o, err := parseFlags([]string{"-short"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 2*time.Second || o.warmup != 300*time.Millisecond || o.connections != 64 {
		t.Errorf("-short: duration %v warmup %v connections %d", o.duration, o.warmup, o.connections)
	}
	o, _ = parseFlags([]string{"-short", "-duration", "5s"}, new(bytes.Buffer))
	if o.duration != 5*time.Second {
		t.Errorf("-short -duration 5s: duration %v", o.duration)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	// 1 µs … 1000 µs, once each: the q-quantile is q·1000 µs.
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(tt.q)
		// Within the bucket precision, never below the true value.
		if got < tt.want || float64(got-tt.want) > float64(tt.want)/(1<<subBits) {
			t.Errorf("quantile(%v) = %v, want %v (+%.1f%%)", tt.q, got, tt.want, 100.0/(1<<subBits))
		}
	}
	var other histogram
	other.record(time.Second)
	h.merge(&other)
	if h.n != 1001 || h.max != time.Second || h.quantile(1) != time.Second {
		t.Errorf("after merge: n %d max %v q(1) %v", h.n, h.max, h.quantile(1))
	}
	if (&histogram{}).quantile(0.5) != 0 {
		t.Error("empty histogram: quantile not 0")
	}
	// Every value lies within its bucket.
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345} {
		i := bucket(v)
		if hi := bucketHigh(i); v > hi || (i > 0 && v <= bucketHigh(i-1)) {
			t.Errorf("value %d in bucket %d of upper bound %d (previous %d)", v, i, hi, bucketHigh(i-1))
		}
	}
}
