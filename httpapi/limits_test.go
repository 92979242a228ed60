package httpapi

import (
	"path/filepath"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/sqlite"
)

// TestLimitReached: a create past the user's cap is answered 409
// ERR_LIMIT, in the error shape, with a message naming the limit; other
// users and other routes are not affected, and a delete makes room.
func TestLimitReached(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "limits.db"), sqlite.WithLimits(taskapi.Limits{Tasks: 2, Projects: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newTestServer(t, func(c *Config) { c.Store = st })
	const alice, bob = "auth0|alice", "auth0|bob"

	first := s.createTask(alice, map[string]any{"name": "one"})
	s.createTask(alice, map[string]any{"name": "two"})
	res := s.do(req{method: "POST", path: "/tasks", user: alice, body: map[string]any{"name": "three"}}).want(t, 409, taskapi.ELIMIT)
	if got, want := res.body["error"], "You have reached the limit of 2 tasks per user: delete some to create more"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if len(res.body) != 2 {
		t.Errorf("body %s: want error and code only", res.raw)
	}
	if res.header.Get("Location") != "" || res.header.Get("Retry-After") != "" {
		t.Errorf("headers %v: no Location, no Retry-After on a 409", res.header)
	}

	s.createProject(alice, "Home")
	res = s.do(req{method: "POST", path: "/projects", user: alice, body: map[string]any{"name": "Work"}}).want(t, 409, taskapi.ELIMIT)
	if got, want := res.body["error"], "You have reached the limit of 1 project per user: delete some to create more"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}

	// Other users, and other writes of alice, go on.
	s.createTask(bob, map[string]any{"name": "bob's"})
	s.createProject(bob, "Bob's")
	s.do(req{method: "PATCH", path: "/tasks/" + first["id"].(string), user: alice, body: map[string]any{"name": "renamed"},
		header: map[string]string{"Content-Type": "application/merge-patch+json"}}).want(t, 200, "")
	s.do(req{method: "DELETE", path: "/tasks/" + first["id"].(string), user: alice}).want(t, 204, "")
	s.createTask(alice, map[string]any{"name": "three, now"})
}
