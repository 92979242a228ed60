package httpapi

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// feed returns, for a GET /changes answer, its changes as "type id" (a
// tombstone "-type id"), checking each change's shape.
func (res *response) feed(t *testing.T) []string {
	t.Helper()
	var out []string
	arr, _ := res.body["changes"].([]any)
	for _, e := range arr {
		c := e.(map[string]any)
		name := c["type"].(string) + " " + c["id"].(string)
		state, _ := c[c["type"].(string)].(map[string]any)
		switch {
		case c["deleted"] == true:
			name = "-" + name
			if c["task"] != nil || c["project"] != nil {
				t.Errorf("tombstone %s with a state: %v", name, c)
			}
		case state == nil || state["id"] != c["id"]:
			t.Errorf("change %s without its state: %v", name, c)
		}
		out = append(out, name)
	}
	return out
}

func TestChanges(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.DefaultPageSize, c.MaxPageSize = 2, 50 })
	const alice, bob = "auth0|alice", "auth0|bob"
	get := func(user, query string) *response {
		return s.do(req{method: "GET", path: "/changes" + query, user: user})
	}

	// A client starts with the current cursor, then reads everything.
	start := get(alice, "").want(t, 200, "")
	if start.body["next_cursor"] != "0" || start.body["has_more"] != false || len(start.feed(t)) != 0 {
		t.Fatalf("first answer %s, want no changes and cursor 0", start.raw)
	}
	if again := get(alice, "?cursor=").want(t, 200, ""); again.body["next_cursor"] != "0" {
		t.Fatalf("empty cursor: %s", again.raw)
	}

	p := s.createProject(alice, "Home")["id"].(string)
	a := s.createTask(alice, map[string]any{"name": "A", "project_id": p})["id"].(string)
	b := s.createTask(alice, map[string]any{"name": "B"})["id"].(string)
	s.createTask(bob, map[string]any{"name": "bob's"})
	s.do(req{method: "PATCH", path: "/tasks/" + b, user: alice, body: map[string]any{"completed": true}}).want(t, 200, "")
	s.do(req{method: "DELETE", path: "/projects/" + p, user: alice}).want(t, 204, "")

	t.Run("pages follow the cursor", func(t *testing.T) {
		var got []string
		cursor := "0"
		for i := 0; ; i++ {
			res := get(alice, "?cursor="+cursor).want(t, 200, "")
			got = append(got, res.feed(t)...)
			cursor = res.body["next_cursor"].(string)
			if res.body["has_more"] == false {
				break
			}
			if i > 10 {
				t.Fatal("the feed does not end")
			}
		}
		// b completed (4), a lost its project (5), the project went (6).
		want := []string{"task " + b, "task " + a, "-project " + p}
		if strings.Join(got, ",") != strings.Join(want, ",") || cursor != "6" {
			t.Fatalf("feed %v up to %s, want %v up to 6", got, cursor, want)
		}
	})
	t.Run("current state", func(t *testing.T) {
		res := get(alice, "?cursor=4&limit=1").want(t, 200, "")
		task := res.body["changes"].([]any)[0].(map[string]any)["task"].(map[string]any)
		if task["id"] != a || task["project_id"] != nil || task["name"] != "A" {
			t.Fatalf("task after its project's delete: %v", task)
		}
		if res.body["next_cursor"] != "5" || res.body["has_more"] != true {
			t.Fatalf("page of 1: %s", res.raw)
		}
	})
	t.Run("users apart", func(t *testing.T) {
		res := get(bob, "?cursor=0").want(t, 200, "")
		if got := res.feed(t); len(got) != 1 || res.body["next_cursor"] != "1" {
			t.Fatalf("bob's feed %v up to %v", got, res.body["next_cursor"])
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, q := range []string{"?cursor=abc", "?cursor=-1", "?cursor=+1", "?cursor=01", "?cursor=1.5",
			"?cursor=" + strings.Repeat("9", 20), "?cursor=0&limit=0", "?cursor=0&limit=51", "?cursor=0&cursor=1",
			"?since=0"} {
			get(alice, q).want(t, 400, taskapi.EBADREQUEST)
		}
	})
	t.Run("unknown cursor is 410", func(t *testing.T) {
		res := get(alice, "?cursor=7").want(t, 410, taskapi.ERESYNC)
		if !strings.Contains(res.body["error"].(string), "read all tasks and projects again") {
			t.Fatalf("410 body %s", res.raw)
		}
		get(bob, "?cursor=6").want(t, 410, taskapi.ERESYNC)
		// Of the documented form (up to 19 digits), but past any number.
		get(alice, "?cursor=9223372036854775807").want(t, 410, taskapi.ERESYNC)
		get(alice, "?cursor=9223372036854775808").want(t, 410, taskapi.ERESYNC)
		get(alice, "?cursor=9999999999999999999").want(t, 410, taskapi.ERESYNC)
	})
	t.Run("purged tombstone is 410", func(t *testing.T) {
		if _, err := s.store.PurgeTombstones(t.Context(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// The project's tombstone (6) is forgotten: cursors before it
		// cannot go on; 6 itself can.
		for c := range 6 {
			get(alice, fmt.Sprintf("?cursor=%d", c)).want(t, 410, taskapi.ERESYNC)
		}
		get(alice, "?cursor=6").want(t, 200, "")
	})
	t.Run("needs read:tasks", func(t *testing.T) {
		scoped := newTestServer(t, func(c *Config) { c.RequireScopes = true })
		scoped.do(req{method: "GET", path: "/changes", user: alice, header: map[string]string{hdrScope: "write:tasks"}}).want(t, 403, "insufficient_scope")
		scoped.do(req{method: "GET", path: "/changes", user: alice, header: map[string]string{hdrScope: "read:tasks"}}).want(t, 200, "")
		scoped.do(req{method: "GET", path: "/changes"}).want(t, 401, "")
	})
}

// FuzzChangeCursor feeds arbitrary query strings to GET /changes's parser:
// no panic, a 400, a 410 for a cursor of the documented form past int64,
// or a filter; an accepted cursor is the canonical decimal
// form of a number from 0, and an absent or empty one asks for none.
func FuzzChangeCursor(f *testing.F) {
	for _, q := range []string{"", "cursor=", "cursor=0", "cursor=42&limit=10", "cursor=-1", "cursor=01", "cursor=9223372036854775807",
		"cursor=9223372036854775808", "cursor=%2B1", "cursor=1&cursor=2", "limit=0", "cursor=%00", "cursor=1e3"} {
		f.Add(q)
	}
	s := &server{defaultLimit: 20, maxLimit: 100}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest("GET", "/changes", nil)
		r.URL.RawQuery = rawQuery
		filter, err := s.parseChangeFilter(r)
		values, _ := url.ParseQuery(rawQuery)
		given := values.Get("cursor")
		if err != nil {
			switch taskapi.ErrorCode(err) {
			case taskapi.EBADREQUEST:
			case taskapi.ERESYNC:
				// Only a cursor of the documented form past int64.
				if _, perr := strconv.ParseInt(given, 10, 64); perr == nil || len(given) > 19 || strings.Trim(given, "0123456789") != "" || given[0] == '0' {
					t.Fatalf("%q: %v", rawQuery, err)
				}
			default:
				t.Fatalf("%q: %v", rawQuery, err)
			}
			return
		}
		switch {
		case filter.After == nil && given != "":
			t.Fatalf("%q: cursor %q ignored", rawQuery, given)
		case filter.After != nil && (*filter.After < 0 || strconv.FormatInt(*filter.After, 10) != given):
			t.Fatalf("%q: cursor %q read as %d", rawQuery, given, *filter.After)
		case filter.Limit < 1 || filter.Limit > 100:
			t.Fatalf("%q: limit %d", rawQuery, filter.Limit)
		}
	})
}
