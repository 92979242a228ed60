package httpapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/taskapi/taskapi"
)

// walk follows next_page_token from path and returns the ids of every
// page, checking that the Link header names the same next page.
func (s *testServer) walk(t *testing.T, user, path, member string) [][]string {
	t.Helper()
	var pages [][]string
	for next := path; next != ""; {
		res := s.do(req{method: "GET", path: next, user: user}).want(t, 200, "")
		pages = append(pages, res.ids(member))
		token, _ := res.body["next_page_token"].(string)
		link := res.header.Get("Link")
		if token == "" {
			if link != "" {
				t.Fatalf("last page with Link %q", link)
			}
			break
		}
		want := "page_token=" + url.QueryEscape(token)
		if !strings.HasPrefix(link, "</") || !strings.HasSuffix(link, `>; rel="next"`) || !strings.Contains(link, want) {
			t.Fatalf("Link %q does not name the next page (%s)", link, want)
		}
		next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		if len(pages) > 100 {
			t.Fatal("pagination does not end")
		}
	}
	return pages
}

func TestPagination(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.DefaultPageSize, c.MaxPageSize = 4, 10 })
	const alice = "auth0|alice"
	var all []string
	for i := range 11 {
		all = append(all, s.createTask(alice, map[string]any{"name": fmt.Sprintf("task %02d", i)})["id"].(string))
	}
	s.createTask("auth0|bob", map[string]any{"name": "bob's"})

	t.Run("default page size", func(t *testing.T) {
		pages := s.walk(t, alice, "/tasks", "tasks")
		if len(pages) != 3 || len(pages[0]) != 4 || len(pages[2]) != 3 || !slices.Equal(slices.Concat(pages...), all) {
			t.Fatalf("pages %v, want %v in pages of 4", pages, all)
		}
	})
	t.Run("limit, descending", func(t *testing.T) {
		pages := s.walk(t, alice, "/tasks?limit=5&sort=-created_at", "tasks")
		want := slices.Clone(all)
		slices.Reverse(want)
		if len(pages) != 3 || !slices.Equal(slices.Concat(pages...), want) {
			t.Fatalf("pages %v, want %v", pages, want)
		}
	})
	t.Run("by name with orderBy", func(t *testing.T) {
		pages := s.walk(t, alice, "/tasks?limit=3&orderBy=name-desc", "tasks")
		want := slices.Clone(all)
		slices.Reverse(want)
		if !slices.Equal(slices.Concat(pages...), want) {
			t.Fatalf("pages %v, want %v", pages, want)
		}
	})
	t.Run("token bound to the query", func(t *testing.T) {
		res := s.do(req{method: "GET", path: "/tasks?limit=2&completed=false", user: alice}).want(t, 200, "")
		token := url.QueryEscape(res.body["next_page_token"].(string))
		for _, q := range []string{"completed=true", "", "completed=false&sort=name", "completed=false&search=x",
			"completed=false&due_after=2030-01-01", "completed=false&project_id=none"} {
			res := s.do(req{method: "GET", path: "/tasks?page_token=" + token + "&" + q, user: alice}).want(t, 400, "ERR_BAD_REQUEST")
			if res.body["error"] != "page_token does not match the query" {
				t.Errorf("%s: %s", q, res.raw)
			}
		}
		// Another user cannot continue it either.
		s.do(req{method: "GET", path: "/tasks?completed=false&page_token=" + token, user: "auth0|bob"}).want(t, 400, "ERR_BAD_REQUEST")
		// The page size may change from page to page; completed=0 is completed=false.
		s.do(req{method: "GET", path: "/tasks?completed=0&limit=7&page_token=" + token, user: alice}).want(t, 200, "")
		// A token of the project list is no task token.
		s.createProject(alice, "a")
		s.createProject(alice, "b")
		pt := s.do(req{method: "GET", path: "/projects?limit=1", user: alice}).want(t, 200, "").body["next_page_token"].(string)
		s.do(req{method: "GET", path: "/tasks?page_token=" + pt, user: alice}).want(t, 400, "ERR_BAD_REQUEST")
	})
	t.Run("garbage tokens", func(t *testing.T) {
		for _, tok := range []string{"", "!!!", "e30", strings.Repeat("A", 3000),
			encodePageToken(taskQueryHash(listTasks, taskapi.TaskFilter{UserID: alice, Sort: taskapi.Sort{Field: taskapi.SortCreatedAt}}),
				&taskapi.Cursor{Value: new("not-a-time"), ID: "x"})} {
			res := s.do(req{method: "GET", path: "/tasks?page_token=" + url.QueryEscape(tok), user: alice}).want(t, 400, "ERR_BAD_REQUEST")
			if res.body["error"] != "page_token is not valid" {
				t.Errorf("%q: %s", tok, res.raw)
			}
		}
	})
	t.Run("inserts and deletes between pages", func(t *testing.T) {
		res := s.do(req{method: "GET", path: "/tasks?limit=4", user: alice}).want(t, 200, "")
		first := res.ids("tasks")
		// Delete the next row to come and a row already seen; add a row.
		s.do(req{method: "DELETE", path: "/tasks/" + all[4], user: alice}).want(t, 204, "")
		s.do(req{method: "DELETE", path: "/tasks/" + all[0], user: alice}).want(t, 204, "")
		added := s.createTask(alice, map[string]any{"name": "late"})["id"].(string)
		rest := s.walk(t, alice, "/tasks?limit=4&page_token="+url.QueryEscape(res.body["next_page_token"].(string)), "tasks")
		got := slices.Concat(append([][]string{first}, rest...)...)
		want := slices.Concat(all[:4], all[5:], []string{added})
		if !slices.Equal(got, want) {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})
}

func TestListFilters(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	pid := s.createProject(alice, "P")["id"].(string)
	other := s.createProject(alice, "Q")["id"].(string)
	mk := func(body map[string]any) string { return s.createTask(alice, body)["id"].(string) }
	a := mk(map[string]any{"name": "Buy MILK", "due_date": "2030-06-20", "project_id": pid})
	b := mk(map[string]any{"name": "Walk dog", "description": "with the milkman", "due_date": "2030-07-01"})
	c := mk(map[string]any{"name": "100% done_", "completed": true, "project_id": other})
	d := mk(map[string]any{"name": "Call mom", "due_date": "2030-06-16", "project_id": pid})
	s.createTask("auth0|bob", map[string]any{"name": "milk for bob"})

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c, d}},
		{"completed=true", []string{c}},
		{"completed=1", []string{c}},
		{"completed=false", []string{a, b, d}},
		{"completed=0", []string{a, b, d}},
		{"search=milk", []string{a, b}},
		{"search=" + url.QueryEscape("100%"), []string{c}},
		{"search=" + url.QueryEscape("%"), []string{c}},
		{"search=_", []string{c}},
		{"project_id=" + pid, []string{a, d}},
		{"project_id=none", []string{b}},
		{"project_id=unknown", nil},
		{"due_before=2030-06-20", []string{d}},
		{"due_after=2030-06-16", []string{a, b}},
		{"due_after=2030-06-16&due_before=2030-07-01", []string{a}},
		{"sort=due_date", []string{d, a, b, c}},
		{"sort=-due_date", []string{c, b, a, d}},
		{"orderBy=due_date-desc", []string{c, b, a, d}},
		{"orderBy=created_at-asc", []string{a, b, c, d}},
		{"sort=name", []string{c, a, d, b}},
		{"sort=completed_on&completed=true", []string{c}},
		{"search=MILK&project_id=" + pid + "&completed=false", []string{a}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := s.do(req{method: "GET", path: "/tasks?" + tt.query, user: alice}).want(t, 200, "")
			if got := res.ids("tasks"); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("project tasks", func(t *testing.T) {
		res := s.do(req{method: "GET", path: "/projects/" + pid + "/tasks?sort=-due_date", user: alice}).want(t, 200, "")
		if got := res.ids("tasks"); !slices.Equal(got, []string{a, d}) {
			t.Errorf("got %v", got)
		}
		res = s.do(req{method: "GET", path: "/projects/" + pid + "/tasks?search=call", user: alice}).want(t, 200, "")
		if got := res.ids("tasks"); !slices.Equal(got, []string{d}) {
			t.Errorf("got %v", got)
		}
		pages := s.walk(t, alice, "/projects/"+pid+"/tasks?limit=1", "tasks")
		if !slices.Equal(slices.Concat(pages...), []string{a, d}) {
			t.Errorf("pages %v", pages)
		}
	})
}

func TestListQueryErrors(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	pid := s.createProject(alice, "P")["id"].(string)
	tests := []struct {
		path, contains string
	}{
		{"/tasks?limit=0", "limit must be an integer from 1 to 100"},
		{"/tasks?limit=101", "limit"},
		{"/tasks?limit=ten", "limit"},
		{"/tasks?limit=1&limit=2", `"limit" is given more than once`},
		{"/tasks?completed=yes", "completed must be true, false, 1 or 0"},
		{"/tasks?sort=priority", "sort must be one of"},
		{"/tasks?sort=--name", "sort must be one of"},
		{"/tasks?orderBy=name", "orderBy must be"},
		{"/tasks?orderBy=name-up", "orderBy must be"},
		{"/tasks?sort=name&orderBy=name-asc", "not both"},
		{"/tasks?due_before=tomorrow", "due_before must be a date"},
		{"/tasks?due_after=2030-13-01", "due_after must be a date"},
		{"/tasks?project_id=", "project_id"},
		{"/tasks?search=" + strings.Repeat("x", 256), "search"},
		{"/tasks?page=2", `Unknown query parameter "page"`},
		{"/tasks?q=%zz", "Malformed query string"},
		{"/projects/" + pid + "/tasks?project_id=none", `Unknown query parameter "project_id"`},
		{"/projects?completed=true", `Unknown query parameter "completed"`},
		{"/projects?limit=-1", "limit"},
		{"/projects?page_token=xyz", "page_token is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := s.do(req{method: "GET", path: tt.path, user: alice}).want(t, 400, "ERR_BAD_REQUEST")
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q does not contain %q", msg, tt.contains)
			}
		})
	}
}

func TestProjectPagination(t *testing.T) {
	s := newTestServer(t)
	const alice = "auth0|alice"
	var all []string
	for i := range 5 {
		all = append(all, s.createProject(alice, fmt.Sprint("p", i))["id"].(string))
	}
	s.createProject("auth0|bob", "bob's")
	pages := s.walk(t, alice, "/projects?limit=2", "projects")
	if len(pages) != 3 || !slices.Equal(slices.Concat(pages...), all) {
		t.Fatalf("pages %v, want %v", pages, all)
	}
}
