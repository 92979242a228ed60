package httpapi

import (
	"strings"
	"testing"
)

// TestIsolation proves that every route with an id answers 404 to another
// user, exactly as for a missing id, and leaves the owner's data as it was.
func TestIsolation(t *testing.T) {
	s := newTestServer(t)
	const alice, bob = "auth0|alice", "auth0|bob"
	project := s.createProject(alice, "Alice's")
	pid := project["id"].(string)
	task := s.createTask(alice, map[string]any{"name": "Alice's task", "project_id": pid})
	tid := task["id"].(string)
	bobsProject := s.createProject(bob, "Bob's")["id"].(string)

	before := map[string]string{}
	for _, p := range []string{"/tasks/" + tid, "/projects/" + pid} {
		before[p] = string(s.do(req{method: "GET", path: p, user: alice}).want(t, 200, "").raw)
	}

	mergePatch := map[string]string{"Content-Type": "application/merge-patch+json"}
	anyMatch := map[string]string{"If-Match": "*"}
	staleMatch := map[string]string{"If-Match": etag(tid, 99)}
	tests := []struct {
		name string
		rq   req
		msg  string
	}{
		{"get task", req{method: "GET", path: "/tasks/" + tid}, "Task not found"},
		{"get task if-none-match", req{method: "GET", path: "/tasks/" + tid, header: map[string]string{"If-None-Match": "*"}}, "Task not found"},
		{"put task", req{method: "PUT", path: "/tasks/" + tid, body: map[string]any{"name": "mine"}}, "Task not found"},
		{"put task if-match", req{method: "PUT", path: "/tasks/" + tid, body: map[string]any{"name": "mine"}, header: staleMatch}, "Task not found"},
		{"patch task", req{method: "PATCH", path: "/tasks/" + tid, body: `{"description":null}`, header: mergePatch}, "Task not found"},
		{"patch task to bob's project", req{method: "PATCH", path: "/tasks/" + tid, body: map[string]any{"project_id": bobsProject}}, "Task not found"},
		{"delete task", req{method: "DELETE", path: "/tasks/" + tid}, "Task not found"},
		{"delete task if-match", req{method: "DELETE", path: "/tasks/" + tid, header: anyMatch}, "Task not found"},
		{"delete task stale if-match", req{method: "DELETE", path: "/tasks/" + tid, header: staleMatch}, "Task not found"},
		{"complete task", req{method: "POST", path: "/tasks/" + tid + "/complete"}, "Task not found"},
		{"complete task alias", req{method: "PATCH", path: "/tasks/" + tid + "/complete"}, "Task not found"},
		{"reopen task", req{method: "POST", path: "/tasks/" + tid + "/reopen"}, "Task not found"},
		{"get project", req{method: "GET", path: "/projects/" + pid}, "Project not found"},
		{"patch project", req{method: "PATCH", path: "/projects/" + pid, body: map[string]any{"name": "mine"}}, "Project not found"},
		{"patch project stale if-match", req{method: "PATCH", path: "/projects/" + pid, body: map[string]any{"name": "mine"}, header: map[string]string{"If-Match": `"x"`}}, "Project not found"},
		{"delete project", req{method: "DELETE", path: "/projects/" + pid}, "Project not found"},
		{"project tasks", req{method: "GET", path: "/projects/" + pid + "/tasks"}, "Project not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, who := range []struct{ user, path string }{
				{bob, tt.rq.path},                        // another user's id
				{alice, replaceID(tt.rq.path, tid, pid)}, // a missing id: the same answer
			} {
				rq := tt.rq
				rq.user, rq.path = who.user, who.path
				res := s.do(rq).want(t, 404, "ERR_NF")
				if res.body["error"] != tt.msg {
					t.Errorf("%s %s as %s: error %q, want %q", rq.method, rq.path, who.user, res.body["error"], tt.msg)
				}
			}
		})
	}

	for p, want := range before {
		if got := string(s.do(req{method: "GET", path: p, user: alice}).want(t, 200, "").raw); got != want {
			t.Errorf("%s changed:\n%s\nnow\n%s", p, want, got)
		}
	}
	// Bob's lists do not show Alice's rows, whatever the filter.
	for _, p := range []string{"/tasks", "/tasks?project_id=" + pid, "/projects"} {
		res := s.do(req{method: "GET", path: p, user: bob}).want(t, 200, "")
		for _, id := range append(res.ids("tasks"), res.ids("projects")...) {
			if id == tid || id == pid {
				t.Errorf("GET %s as bob lists alice's %s", p, id)
			}
		}
	}
}

// replaceID turns a path naming Alice's rows into one naming rows that do
// not exist.
func replaceID(path string, ids ...string) string {
	for _, id := range ids {
		path = strings.ReplaceAll(path, id, "0000000000000000000000000z")
	}
	return path
}
