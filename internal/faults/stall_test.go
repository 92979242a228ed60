package faults

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// TestPostgresStalled makes PostgreSQL stop answering without closing
// anything (the proxy holds every byte, as a network partition does):
// every request must still be answered, 503, within the hang bound.
//
// It fails on the service as it is (see the report of issue 4): a request
// on a pooled connection waits with no bound, and a connection attempt
// that times out is answered 500. Until that is fixed it runs only with
// TASKAPI_FAULTS_KNOWN=1.
func TestPostgresStalled(t *testing.T) {
	if os.Getenv("TASKAPI_FAULTS_KNOWN") == "" {
		t.Skip("\n*** SKIPPING a known failure: with PostgreSQL stalled, requests hang (no query deadline) or get 500; set TASKAPI_FAULTS_KNOWN=1 to run it ***")
	}
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
	svc := startOrSkip(t, t.TempDir(), u.String(), idp)
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
}
