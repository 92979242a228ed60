package faults

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// TestPostgresStalled makes PostgreSQL stop answering without closing
// anything (the proxy holds every byte, as a network partition does):
// every request must still be answered, 503, within the hang bound, and
// once PostgreSQL answers again the service recovers by itself.
//
// The service bounds each API request (REQUEST_TIMEOUT, shortened here so
// that the test is quick; the default is 10s) and the store reports the
// deadline, on a pooled connection or while connecting, as unavailable.
func TestPostgresStalled(t *testing.T) {
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
	tok := token(t, idp, "faults|pg-stalled")
	const requestTimeout = 2 * time.Second
	svc := start(t, t.TempDir(), u.String(), idp, "REQUEST_TIMEOUT="+requestTimeout.String())
	// Two pooled connections, so the stalled requests meet both kinds:
	// queries on an open connection and new connection attempts.
	for range 2 {
		if _, a, err := createTask(t.Context(), svc.URL, tok, "before", ""); err != nil || a.status != http.StatusCreated {
			t.Fatalf("create: %v %d", err, a.status)
		}
	}

	proxy.Stall()
	defer proxy.Unstall()
	const n = 6
	type result struct {
		a   answer
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			a, err := call(t.Context(), http.MethodGet, svc.URL+"/tasks", tok, nil)
			results <- result{a, err}
		}()
	}
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("no answer within %v while PostgreSQL is stalled: %v", requestBound, r.err)
			continue
		}
		checkUnavailable(t, "GET /tasks while PostgreSQL is stalled", r.a)
		t.Logf("answered %d in %v", r.a.status, r.a.elapsed)
	}

	// PostgreSQL answers again: so does the service, without a restart.
	proxy.Unstall()
	deadline := time.Now().Add(requestBound)
	for {
		a, err := call(t.Context(), http.MethodGet, svc.URL+"/tasks", tok, nil)
		if err == nil && a.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /tasks after PostgreSQL came back: %v %d %s; no recovery within %v", err, a.status, a.body, requestBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
