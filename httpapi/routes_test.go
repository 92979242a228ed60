package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRoutes walks every route's happy path, in an order that builds what
// the next step needs, and checks status, envelope, headers and what the
// store kept.
func TestRoutes(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"

	res := s.do(req{method: "GET", path: "/health"}).want(t, 200, "")
	if res.body["ok"] != true {
		t.Fatalf("health body %s", res.raw)
	}
	res = s.do(req{method: "GET", path: "/openapi.json"}).want(t, 200, "")
	if !bytes.Equal(res.raw, OpenAPI()) {
		t.Fatal("GET /openapi.json does not serve the embedded document")
	}
	res = s.do(req{method: "GET", path: "/me", user: alice, header: map[string]string{hdrScope: "openid email"}}).want(t, 200, "")
	if res.body["sub"] != alice || len(res.body["scopes"].([]any)) != 2 || res.body["expires_at"] != testStart.Add(3600e9).Format("2006-01-02T15:04:05Z") {
		t.Fatalf("me: %s", res.raw)
	}

	res = s.do(req{method: "POST", path: "/projects", user: alice, body: map[string]any{"name": "Home", "description": "chores"}}).want(t, 201, "")
	project := res.obj("project")
	pid := project["id"].(string)
	if res.header.Get("Location") != "/projects/"+pid || res.header.Get("ETag") == "" || project["user_id"] != alice || project["name"] != "Home" {
		t.Fatalf("create project: %v %s", res.header, res.raw)
	}

	res = s.do(req{method: "POST", path: "/tasks", user: alice, body: map[string]any{
		"name": "Paint fence", "description": "white", "project_id": pid, "due_date": "2030-06-20"}}).want(t, 201, "")
	task := res.obj("task")
	id := task["id"].(string)
	if res.header.Get("Location") != "/tasks/"+id || res.header.Get("ETag") != etag(id, 1) {
		t.Fatalf("create task headers: %v", res.header)
	}
	for k, want := range map[string]any{"name": "Paint fence", "description": "white", "project_id": pid,
		"due_date": "2030-06-20", "completed": false, "completed_on": nil, "user_id": alice} {
		if task[k] != want {
			t.Errorf("created task %s = %v, want %v", k, task[k], want)
		}
	}

	res = s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).want(t, 200, "")
	if res.obj("task")["name"] != "Paint fence" || res.header.Get("ETag") != etag(id, 1) {
		t.Fatalf("get task: %s", res.raw)
	}
	res = s.do(req{method: "GET", path: "/tasks", user: alice}).want(t, 200, "")
	if ids := res.ids("tasks"); len(ids) != 1 || ids[0] != id || res.body["next_page_token"] != nil {
		t.Fatalf("list tasks: %s", res.raw)
	}

	res = s.do(req{method: "PUT", path: "/tasks/" + id, user: alice, body: map[string]any{"name": "Paint the fence"}}).want(t, 200, "")
	if got := res.obj("task"); got["name"] != "Paint the fence" || got["description"] != "white" {
		t.Fatalf("put: %s", res.raw)
	}
	res = s.do(req{method: "PATCH", path: "/tasks/" + id, user: alice, body: `{"description":null}`,
		header: map[string]string{"Content-Type": "application/merge-patch+json"}}).want(t, 200, "")
	if got := res.obj("task"); got["description"] != nil || got["name"] != "Paint the fence" {
		t.Fatalf("patch: %s", res.raw)
	}

	res = s.do(req{method: "POST", path: "/tasks/" + id + "/complete", user: alice}).want(t, 200, "")
	done := res.obj("task")
	if done["completed"] != true || done["completed_on"] == nil {
		t.Fatalf("complete: %s", res.raw)
	}
	res = s.do(req{method: "PATCH", path: "/tasks/" + id + "/complete", user: alice}).want(t, 200, "")
	if res.obj("task")["completed_on"] != done["completed_on"] {
		t.Fatalf("completing again changed completed_on: %v → %v", done["completed_on"], res.obj("task")["completed_on"])
	}
	for range 2 { // idempotent
		res = s.do(req{method: "POST", path: "/tasks/" + id + "/reopen", user: alice}).want(t, 200, "")
		if got := res.obj("task"); got["completed"] != false || got["completed_on"] != nil {
			t.Fatalf("reopen: %s", res.raw)
		}
	}

	res = s.do(req{method: "GET", path: "/projects", user: alice}).want(t, 200, "")
	if ids := res.ids("projects"); len(ids) != 1 || ids[0] != pid {
		t.Fatalf("list projects: %s", res.raw)
	}
	res = s.do(req{method: "GET", path: "/projects/" + pid, user: alice}).want(t, 200, "")
	if res.obj("project")["description"] != "chores" || res.header.Get("ETag") == "" {
		t.Fatalf("get project: %s", res.raw)
	}
	res = s.do(req{method: "PATCH", path: "/projects/" + pid, user: alice, body: map[string]any{"name": "House"}}).want(t, 200, "")
	if got := res.obj("project"); got["name"] != "House" || got["description"] != "chores" {
		t.Fatalf("patch project: %s", res.raw)
	}
	res = s.do(req{method: "GET", path: "/projects/" + pid + "/tasks", user: alice}).want(t, 200, "")
	if ids := res.ids("tasks"); len(ids) != 1 || ids[0] != id {
		t.Fatalf("project tasks: %s", res.raw)
	}

	res = s.do(req{method: "DELETE", path: "/projects/" + pid, user: alice}).want(t, 204, "")
	if len(res.raw) != 0 {
		t.Fatalf("204 with a body: %s", res.raw)
	}
	s.do(req{method: "GET", path: "/projects/" + pid, user: alice}).want(t, 404, "ERR_NF")
	res = s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).want(t, 200, "")
	if res.obj("task")["project_id"] != nil {
		t.Fatalf("the task keeps the deleted project: %s", res.raw)
	}

	s.do(req{method: "DELETE", path: "/tasks/" + id, user: alice}).want(t, 204, "")
	s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).want(t, 404, "ERR_NF")
	s.do(req{method: "DELETE", path: "/tasks/" + id, user: alice}).want(t, 404, "ERR_NF")
}

// TestEveryResponseIsJSON checks the headers every JSON answer carries.
func TestEveryResponseIsJSON(t *testing.T) {
	s := newTestServer(t)
	for _, rq := range []req{
		{method: "GET", path: "/health"},
		{method: "GET", path: "/tasks"},
		{method: "GET", path: "/tasks", user: "u"},
		{method: "GET", path: "/nope", user: "u"},
		{method: "DELETE", path: "/tasks", user: "u"},
		{method: "POST", path: "/tasks", user: "u", body: "{"},
	} {
		res := s.do(rq)
		if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", rq.method, rq.path, ct)
		}
		if !json.Valid(res.raw) || !strings.HasSuffix(string(res.raw), "\n") {
			t.Errorf("%s %s: body %q", rq.method, rq.path, res.raw)
		}
		if res.status >= 400 && (res.body["error"] == nil || res.body["code"] == nil) {
			t.Errorf("%s %s: error body %s", rq.method, rq.path, res.raw)
		}
	}
	_ = http.StatusOK
}
