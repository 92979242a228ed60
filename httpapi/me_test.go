package httpapi

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestExportMe(t *testing.T) {
	s := newTestServer(t)
	p := s.createProject("auth0|alice", "Home")
	t1 := s.createTask("auth0|alice", map[string]any{"name": "in Home", "project_id": p["id"], "description": "d"})
	t2 := s.createTask("auth0|alice", map[string]any{"name": "loose"})
	s.createTask("auth0|bob", map[string]any{"name": "Bob's"})
	s.createProject("auth0|bob", "Bob's project")

	res := s.do(req{method: "GET", path: "/me/export", user: "auth0|alice"}).want(t, 200, "")
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="taskapi-export-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if got := res.ids("tasks"); !slices.Equal(got, []string{t1["id"].(string), t2["id"].(string)}) {
		t.Errorf("exported tasks %v, want alice's two in creation order", got)
	}
	if got := res.ids("projects"); !slices.Equal(got, []string{p["id"].(string)}) {
		t.Errorf("exported projects %v, want alice's one", got)
	}
	// Each task as GET /tasks/{id} shows it.
	one := s.do(req{method: "GET", path: "/tasks/" + t1["id"].(string), user: "auth0|alice"}).want(t, 200, "").obj("task")
	if got := res.body["tasks"].([]any)[0].(map[string]any); !equalJSON(got, one) {
		t.Errorf("exported task %v, GET gives %v", got, one)
	}
	if u := res.obj("user"); u["sub"] != "auth0|alice" || u["iss"] == nil {
		t.Errorf("user %v", u)
	}
	if strings.Contains(string(res.raw), "Bob") {
		t.Errorf("another user's data in the export: %s", res.raw)
	}
	// A user without data gets empty lists.
	empty := s.do(req{method: "GET", path: "/me/export", user: "auth0|carol"}).want(t, 200, "")
	if !strings.Contains(string(empty.raw), `"projects":[],"tasks":[]`) {
		t.Errorf("empty export: %s", empty.raw)
	}
	s.do(req{method: "GET", path: "/me/export"}).want(t, 401, "ERR_AUTH")
}

// equalJSON compares two decoded JSON objects.
func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || (v != w && !(v == nil && w == nil)) {
			return false
		}
	}
	return true
}

func TestDeleteMe(t *testing.T) {
	s := newTestServer(t)
	p := s.createProject("auth0|alice", "Home")
	s.createTask("auth0|alice", map[string]any{"name": "in Home", "project_id": p["id"]})
	s.createTask("auth0|alice", map[string]any{"name": "loose"})
	bobs := s.createTask("auth0|bob", map[string]any{"name": "Bob's"})

	// Without the exact confirmation nothing is deleted.
	for _, confirm := range []string{"", "yes", "Delete-All-My-Data", "delete-all-my-data "} {
		s.do(req{method: "DELETE", path: "/me", user: "auth0|alice", header: map[string]string{"Confirm": confirm}}).want(t, 428, ECONFIRM)
	}
	r := httptest.NewRequest("DELETE", "/me", nil)
	r.Header.Set(hdrSub, "auth0|alice")
	r.Header.Add("Confirm", ConfirmDeleteAll)
	r.Header.Add("Confirm", ConfirmDeleteAll)
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	if w.Code != 428 {
		t.Errorf("two Confirm headers: %d, want 428", w.Code)
	}
	if n := len(s.do(req{method: "GET", path: "/tasks", user: "auth0|alice"}).want(t, 200, "").ids("tasks")); n != 2 {
		t.Fatalf("after refused deletes: %d tasks, want 2", n)
	}
	s.do(req{method: "DELETE", path: "/me", header: map[string]string{"Confirm": ConfirmDeleteAll}}).want(t, 401, "ERR_AUTH")

	res := s.do(req{method: "DELETE", path: "/me", user: "auth0|alice", header: map[string]string{"Confirm": ConfirmDeleteAll}}).want(t, 200, "")
	if d := res.obj("deleted"); d["tasks"] != float64(2) || d["projects"] != float64(1) {
		t.Errorf("deleted %v, want 2 tasks and 1 project", d)
	}
	export := s.do(req{method: "GET", path: "/me/export", user: "auth0|alice"}).want(t, 200, "")
	if len(export.ids("tasks"))+len(export.ids("projects")) != 0 {
		t.Errorf("after DELETE /me: %s", export.raw)
	}
	s.do(req{method: "GET", path: "/projects/" + p["id"].(string), user: "auth0|alice"}).want(t, 404, "ERR_NF")
	s.do(req{method: "GET", path: "/tasks/" + bobs["id"].(string), user: "auth0|bob"}).want(t, 200, "")
	if !strings.Contains(s.logs.String(), "deleted all data of a user") {
		t.Errorf("the deletion is not logged:\n%s", s.logs.String())
	}
}

func TestMeRoutesScopes(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.RequireScopes = true })
	read := map[string]string{hdrScope: "read:tasks", "Confirm": ConfirmDeleteAll}
	s.do(req{method: "GET", path: "/me/export", user: "auth0|alice", header: read}).want(t, 200, "")
	s.do(req{method: "DELETE", path: "/me", user: "auth0|alice", header: read}).want(t, 403, "insufficient_scope")
	s.do(req{method: "GET", path: "/me/export", user: "auth0|alice", header: map[string]string{hdrScope: "delete:tasks"}}).want(t, 403, "insufficient_scope")
	s.do(req{method: "DELETE", path: "/me", user: "auth0|alice", header: map[string]string{hdrScope: "delete:tasks", "Confirm": ConfirmDeleteAll}}).want(t, 200, "")
}
