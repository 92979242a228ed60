package httpapi

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCreateTaskValidation covers the tutorial's rules without its bugs.
func TestCreateTaskValidation(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	bobsProject := s.createProject("auth0|bob", "Bob's")["id"].(string)
	alicesProject := s.createProject(alice, "Alice's")["id"].(string)

	tests := []struct {
		name   string
		now    time.Time // the clock; testStart when zero
		body   any
		status int
		errors []string // the field errors of a 422, in order
	}{
		{name: "minimal", body: map[string]any{"name": "x"}, status: 201},
		{name: "all fields", body: map[string]any{"name": "x", "description": "d", "project_id": alicesProject,
			"due_date": "2030-06-16", "completed_on": "2030-06-15T11:00:00Z"}, status: 201},
		{name: "nulls", body: `{"name":"x","description":null,"project_id":null,"due_date":null,"completed_on":null}`, status: 201},
		{name: "completed true", body: map[string]any{"name": "x", "completed": true}, status: 201},
		{name: "name of 255 characters", body: map[string]any{"name": strings.Repeat("é", 255)}, status: 201},
		{name: "due today (UTC noon)", body: map[string]any{"name": "x", "due_date": "2030-06-15"}, status: 201},
		{name: "due today, just before midnight UTC", now: time.Date(2030, 6, 15, 23, 59, 0, 0, time.UTC),
			body: map[string]any{"name": "x", "due_date": "2030-06-15"}, status: 201},
		{name: "due today in New York, already tomorrow in UTC", now: time.Date(2030, 6, 16, 3, 0, 0, 0, time.UTC),
			body: map[string]any{"name": "x", "due_date": "2030-06-15"}, status: 201},
		{name: "due tomorrow", now: time.Date(2030, 6, 15, 11, 0, 0, 0, time.UTC),
			body: map[string]any{"name": "x", "due_date": "2030-06-16"}, status: 201},
		{name: "due as an RFC 3339 timestamp", body: map[string]any{"name": "x", "due_date": "2030-06-20T10:00:00+02:00"}, status: 201},

		{name: "due yesterday everywhere", body: map[string]any{"name": "x", "due_date": "2030-06-14"},
			status: 422, errors: []string{"due_date: must be today or later"}},
		{name: "due yesterday everywhere, just after midnight UTC", now: time.Date(2030, 6, 16, 0, 1, 0, 0, time.UTC),
			body: map[string]any{"name": "x", "due_date": "2030-06-14"}, status: 422, errors: []string{"due_date: must be today or later"}},
		{name: "no name", body: map[string]any{"description": "d"}, status: 422, errors: []string{"name: is required"}},
		{name: "empty name", body: map[string]any{"name": ""}, status: 422, errors: []string{"name: must not be empty"}},
		{name: "name of 256 characters", body: map[string]any{"name": strings.Repeat("x", 256)},
			status: 422, errors: []string{"name: must be at most 255 characters"}},
		{name: "description of 1001 characters", body: map[string]any{"name": "x", "description": strings.Repeat("x", 1001)},
			status: 422, errors: []string{"description: must be at most 1000 characters"}},
		{name: "unknown field", body: map[string]any{"name": "x", "priority": "high"}, status: 422, errors: []string{"priority: is not allowed"}},
		{name: "read-only field", body: map[string]any{"name": "x", "user_id": "auth0|bob"}, status: 422, errors: []string{"user_id: is read-only"}},
		{name: "wrong types, all reported", body: `{"name":1,"description":true,"due_date":"soon","completed_on":5,"completed":"yes"}`, status: 422,
			errors: []string{"name: must be a string", "description: must be a string or null", "due_date: must be a date (YYYY-MM-DD) or null",
				"completed_on: must be an RFC 3339 timestamp or null", "completed: must be a boolean"}},
		{name: "name null", body: `{"name":null}`, status: 422, errors: []string{"name: must be a string"}},
		{name: "completed on in the future", body: map[string]any{"name": "x", "completed_on": "2030-06-16T12:00:00Z"},
			status: 422, errors: []string{"completed_on: must not be in the future"}},
		{name: "completed with completed_on", body: map[string]any{"name": "x", "completed": true, "completed_on": "2030-06-15T11:00:00Z"},
			status: 422, errors: []string{"completed: cannot be given with completed_on"}},
		{name: "another user's project", body: map[string]any{"name": "x", "project_id": bobsProject}, status: 422},
		{name: "a project that does not exist", body: map[string]any{"name": "x", "project_id": "nope"}, status: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testStart
			}
			s.clock.Set(now)
			res := s.do(req{method: "POST", path: "/tasks", user: alice, body: tt.body})
			res.want(t, tt.status, "")
			if tt.status == 422 {
				res.want(t, 422, "ERR_VALID")
				got := res.fieldErrors()
				if tt.errors != nil && !slices.Equal(got, tt.errors) {
					t.Errorf("errors = %q, want %q", got, tt.errors)
				}
				if len(got) == 0 {
					t.Errorf("422 without field errors: %s", res.raw)
				}
				if strings.Contains(tt.name, "project") && (len(got) != 1 || !strings.HasPrefix(got[0], "project_id: ")) {
					t.Errorf("errors = %q, want one on project_id", got)
				}
			}
		})
	}
	s.clock.Set(testStart)
	res := s.do(req{method: "POST", path: "/tasks", user: alice, body: map[string]any{"name": "done", "completed": true}}).want(t, 201, "")
	if on, _ := time.Parse(time.RFC3339Nano, res.obj("task")["completed_on"].(string)); on.Sub(testStart) < 0 || on.Sub(testStart) > time.Second {
		t.Errorf("completed: true gave completed_on %v, want the clock's now (%v)", on, testStart)
	}
}

// TestUpdateTaskValidation covers updates: PUT and PATCH, null clearing,
// an update that changes nothing, and a missing task (404, not 500).
func TestUpdateTaskValidation(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	pid := s.createProject(alice, "P")["id"].(string)
	bobsProject := s.createProject("auth0|bob", "Bob's")["id"].(string)
	full := map[string]any{"name": "x", "description": "d", "project_id": pid, "due_date": "2030-07-01"}

	tests := []struct {
		name   string
		method string
		body   any
		ctype  string
		status int
		want   map[string]any // fields of the task answered
		errors []string
	}{
		{name: "put one field", method: "PUT", body: map[string]any{"name": "y"}, status: 200,
			want: map[string]any{"name": "y", "description": "d", "project_id": pid, "due_date": "2030-07-01"}},
		{name: "put null clears", method: "PUT", body: `{"description":null,"due_date":null}`, status: 200,
			want: map[string]any{"name": "x", "description": nil, "due_date": nil, "project_id": pid}},
		{name: "merge patch null clears", method: "PATCH", ctype: "application/merge-patch+json", body: `{"project_id":null,"due_date":null,"description":null}`, status: 200,
			want: map[string]any{"name": "x", "description": nil, "due_date": nil, "project_id": nil}},
		{name: "patch as application/json", method: "PATCH", body: map[string]any{"due_date": "2030-08-01"}, status: 200,
			want: map[string]any{"due_date": "2030-08-01", "description": "d"}},
		{name: "patch empty description clears", method: "PATCH", body: map[string]any{"description": ""}, status: 200,
			want: map[string]any{"description": nil}},
		{name: "patch completed", method: "PATCH", body: map[string]any{"completed": true}, status: 200,
			want: map[string]any{"completed": true}},
		{name: "patch completed_on", method: "PATCH", body: map[string]any{"completed_on": "2030-06-14T08:00:00Z"}, status: 200,
			want: map[string]any{"completed": true, "completed_on": "2030-06-14T08:00:00Z"}},
		{name: "empty update", method: "PATCH", body: `{}`, status: 422, errors: []string{": at least one field must be given"}},
		{name: "empty put", method: "PUT", body: `{}`, status: 422, errors: []string{": at least one field must be given"}},
		{name: "name null", method: "PATCH", body: `{"name":null}`, status: 422, errors: []string{"name: must be a string"}},
		{name: "due yesterday", method: "PUT", body: map[string]any{"due_date": "2030-06-14"}, status: 422, errors: []string{"due_date: must be today or later"}},
		{name: "unknown field", method: "PATCH", body: map[string]any{"title": "y"}, status: 422, errors: []string{"title: is not allowed"}},
		{name: "read-only id", method: "PUT", body: map[string]any{"id": "other"}, status: 422, errors: []string{"id: is read-only"}},
		{name: "another user's project", method: "PATCH", body: map[string]any{"project_id": bobsProject}, status: 422},
		{name: "completed and completed_on", method: "PATCH", body: map[string]any{"completed": false, "completed_on": nil}, status: 422,
			errors: []string{"completed: cannot be given with completed_on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := s.createTask(alice, full)["id"].(string)
			rq := req{method: tt.method, path: "/tasks/" + id, user: alice, body: tt.body}
			if tt.ctype != "" {
				rq.header = map[string]string{"Content-Type": tt.ctype}
			}
			res := s.do(rq).want(t, tt.status, "")
			for k, v := range tt.want {
				if got := res.obj("task")[k]; got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if tt.status == 422 {
				res.want(t, 422, "ERR_VALID")
				if got := res.fieldErrors(); tt.errors != nil && !slices.Equal(got, tt.errors) {
					t.Errorf("errors = %q, want %q", got, tt.errors)
				}
				// The task is unchanged.
				after := s.do(req{method: "GET", path: "/tasks/" + id, user: alice}).want(t, 200, "")
				if after.header.Get("ETag") != etag(id, 1) {
					t.Errorf("a rejected update changed the task: %s", after.raw)
				}
			}
		})
	}

	t.Run("missing task", func(t *testing.T) {
		for _, m := range []string{"PUT", "PATCH"} {
			s.do(req{method: m, path: "/tasks/nope", user: alice, body: map[string]any{"name": "y"}}).want(t, 404, "ERR_NF")
		}
		long := "/tasks/" + strings.Repeat("x", 65)
		s.do(req{method: "PATCH", path: long, user: alice, body: map[string]any{"name": "y"}}).want(t, 404, "ERR_NF")
	})
}

// TestProjectValidation covers the project bodies.
func TestProjectValidation(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	pid := s.createProject(alice, "P")["id"].(string)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		errors             []string
	}{
		{"create without name", "POST", "/projects", map[string]any{"description": "d"}, 422, []string{"name: is required"}},
		{"create unknown field", "POST", "/projects", map[string]any{"name": "n", "color": "red"}, 422, []string{"color: is not allowed"}},
		{"create long name", "POST", "/projects", map[string]any{"name": strings.Repeat("x", 256)}, 422, []string{"name: must be at most 255 characters"}},
		{"patch empty", "PATCH", "/projects/" + pid, `{}`, 422, []string{": at least one field must be given"}},
		{"patch name null", "PATCH", "/projects/" + pid, `{"name":null}`, 422, []string{"name: must be a string"}},
		{"patch description null", "PATCH", "/projects/" + pid, `{"description":null}`, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(req{method: tt.method, path: tt.path, user: alice, body: tt.body}).want(t, tt.status, "")
			if got := res.fieldErrors(); !slices.Equal(got, tt.errors) {
				t.Errorf("errors = %q, want %q", got, tt.errors)
			}
		})
	}
}
