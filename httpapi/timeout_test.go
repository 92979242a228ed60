package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// stalledStore is a store whose task lists wait until their context ends,
// as a database that stopped answering does, and then fail the way the
// stores report it: EUNAVAILABLE for a deadline, the context's error
// otherwise.
type stalledStore struct {
	taskapi.Store
	deadline chan bool // whether each stalled call's context had a deadline
}

// ForIssuer keeps the stall for every issuer's users.
func (s *stalledStore) ForIssuer(string) taskapi.IssuerStore { return s }

func (s *stalledStore) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	_, ok := ctx.Deadline()
	s.deadline <- ok
	<-ctx.Done()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("%w: %w", taskapi.Errorf(taskapi.EUNAVAILABLE, "The database did not answer in time, retry later"), ctx.Err())
	}
	return nil, ctx.Err()
}

func TestRequestTimeout(t *testing.T) {
	var stalled *stalledStore
	srv := newTestServer(t, func(c *Config) {
		stalled = &stalledStore{Store: c.Store, deadline: make(chan bool, 1)}
		c.Store = stalled
		// Short, so the test is quick; the bound below is an upper limit.
		c.RequestTimeout = 50 * time.Millisecond
	})
	done := make(chan *response, 1)
	go func() { done <- srv.do(req{method: "GET", path: "/tasks", user: "auth0|stalled"}) }()
	if !<-stalled.deadline {
		t.Error("the store's context has no deadline with RequestTimeout set")
	}
	select {
	case res := <-done:
		if res.status != http.StatusServiceUnavailable || res.body["code"] != "ERR_UNAVAILABLE" || res.header.Get("Retry-After") == "" {
			t.Errorf("GET /tasks on a stalled store: %d %v, want 503 ERR_UNAVAILABLE with Retry-After", res.status, res.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GET /tasks on a stalled store: no answer within 10s with RequestTimeout 50ms")
	}

	// The other routes are unaffected.
	if res := srv.do(req{method: "GET", path: "/health"}); res.status != http.StatusOK {
		t.Errorf("GET /health: %d", res.status)
	}
}

func TestRequestTimeoutNegative(t *testing.T) {
	if _, err := NewServer(Config{Store: &stalledStore{}, Authenticate: testAuthenticate, RequestTimeout: -time.Second}); err == nil {
		t.Error("NewServer accepted a negative RequestTimeout")
	}
}
