package httpapi

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConditionalRequests covers ETag, If-None-Match and If-Match.
func TestConditionalRequests(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	id := s.createTask(alice, map[string]any{"name": "x"})["id"].(string)
	pid := s.createProject(alice, "P")["id"].(string)
	v1, pv1 := etag(id, 1), etag(pid, 1)

	for _, tt := range []struct {
		name, path, inm string
		status          int
	}{
		{"task: current", "/tasks/" + id, v1, 304},
		{"task: weak form of current", "/tasks/" + id, "W/" + v1, 304},
		{"task: in a list", "/tasks/" + id, `"a", ` + v1, 304},
		{"task: star", "/tasks/" + id, "*", 304},
		{"task: other", "/tasks/" + id, etag(id, 2), 200},
		{"task: another resource's", "/tasks/" + id, pv1, 200},
		{"project: current", "/projects/" + pid, pv1, 304},
		{"project: other", "/projects/" + pid, v1, 200},
	} {
		t.Run("If-None-Match "+tt.name, func(t *testing.T) {
			res := s.do(req{method: "GET", path: tt.path, user: alice, header: map[string]string{"If-None-Match": tt.inm}}).want(t, tt.status, "")
			if res.header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tt.status == 304 && len(res.raw) != 0 {
				t.Errorf("304 with a body: %s", res.raw)
			}
		})
	}

	// Each write under If-Match: a stale tag is a 412 and changes nothing;
	// the current one (or *) passes and moves the ETag on.
	writes := []struct {
		name   string
		rq     req
		status int
	}{
		{"put", req{method: "PUT", path: "/tasks/" + id, body: map[string]any{"name": "y"}}, 200},
		{"patch", req{method: "PATCH", path: "/tasks/" + id, body: map[string]any{"name": "z"}}, 200},
		{"complete", req{method: "POST", path: "/tasks/" + id + "/complete"}, 200},
		{"complete alias", req{method: "PATCH", path: "/tasks/" + id + "/complete"}, 200},
		{"reopen", req{method: "POST", path: "/tasks/" + id + "/reopen"}, 200},
		{"patch project", req{method: "PATCH", path: "/projects/" + pid, body: map[string]any{"name": "Q"}}, 200},
	}
	for _, w := range writes {
		t.Run("If-Match "+w.name, func(t *testing.T) {
			getPath := w.rq.path
			if w.name == "complete" || w.name == "complete alias" || w.name == "reopen" {
				getPath = "/tasks/" + id
			}
			current := s.do(req{method: "GET", path: getPath, user: alice}).want(t, 200, "").header.Get("ETag")
			rq := w.rq
			rq.user = alice
			for _, stale := range []string{`"` + id + `-999"`, `W/` + current, `"garbage"`, `"a", "b"`} {
				rq.header = map[string]string{"If-Match": stale}
				s.do(rq).want(t, 412, "ERR_PRECONDITION")
			}
			if got := s.do(req{method: "GET", path: getPath, user: alice}).header.Get("ETag"); got != current {
				t.Fatalf("a failed precondition changed the ETag %s → %s", current, got)
			}
			rq.header = map[string]string{"If-Match": `"other", ` + current}
			res := s.do(rq).want(t, w.status, "")
			if res.header.Get("ETag") == current {
				t.Errorf("the ETag did not change after a write")
			}
			rq.header = map[string]string{"If-Match": "*"}
			s.do(rq).want(t, w.status, "")
		})
	}

	t.Run("If-Match delete", func(t *testing.T) {
		current := s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).header.Get("ETag")
		s.do(req{method: "DELETE", path: "/tasks/" + id, user: alice, header: map[string]string{"If-Match": etag(id, 1)}}).want(t, 412, "ERR_PRECONDITION")
		s.do(req{method: "DELETE", path: "/tasks/" + id, user: alice, header: map[string]string{"If-Match": current}}).want(t, 204, "")
		cur := s.do(req{method: "GET", path: "/projects/" + pid, user: alice}).header.Get("ETag")
		s.do(req{method: "DELETE", path: "/projects/" + pid, user: alice, header: map[string]string{"If-Match": pv1}}).want(t, 412, "ERR_PRECONDITION")
		s.do(req{method: "DELETE", path: "/projects/" + pid, user: alice, header: map[string]string{"If-Match": cur}}).want(t, 204, "")
	})
}

// TestNoLostUpdate runs concurrent writers that all hold the same ETag:
// exactly one wins, the others get 412.
func TestNoLostUpdate(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	id := s.createTask(alice, map[string]any{"name": "x"})["id"].(string)
	const writers = 8
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			r := req{method: "PATCH", path: "/tasks/" + id, user: alice, body: map[string]any{"name": fmt.Sprint("w", i)},
				header: map[string]string{"If-Match": etag(id, 1)}}
			statuses[i] = s.do(r).status
		})
	}
	wg.Wait()
	won := 0
	for _, st := range statuses {
		switch st {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("status %d", st)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won with the same ETag, want 1 (statuses %v)", won, statuses)
	}
	if got := s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).header.Get("ETag"); got != etag(id, 2) {
		t.Errorf("ETag after the race = %s, want %s", got, etag(id, 2))
	}
}
