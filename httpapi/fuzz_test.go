package httpapi

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

// checkDecodeError fails unless err is nil for valid JSON only, or a 400 or
// a 422 with field errors.
func checkDecodeError(t *testing.T, what string, body []byte, err error) {
	t.Helper()
	var e *taskapi.Error
	if err == nil {
		if !json.Valid(body) {
			t.Errorf("%s accepts invalid JSON %q", what, body)
		}
		return
	}
	if !errors.As(err, &e) || (e.Code != taskapi.EBADREQUEST && e.Code != taskapi.EINVALID) {
		t.Fatalf("%s: %q gives %v", what, body, err)
	}
	if e.Code == taskapi.EINVALID && len(e.Fields) == 0 {
		t.Errorf("%s: 422 without fields for %q", what, body)
	}
}

// FuzzDecodeProject feeds arbitrary bodies to the project decoders: no
// panic, only 400 or 422, and an accepted body says what was decoded.
func FuzzDecodeProject(f *testing.F) {
	for _, s := range []string{`{"name":"p"}`, `{"name":"p","description":null}`, `{"description":"d"}`,
		`{"name":"p","name":"q"}`, `{"name":null}`, `{"name":"p","x":1}`, `[]`, `{"name":"\u00e9"} `, `{"name":"p"}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeProjectCreate(body, "u")
		checkDecodeError(t, "create", body, err)
		var members map[string]json.RawMessage
		if err == nil {
			if json.Unmarshal(body, &members) != nil {
				t.Fatalf("accepted %q, not an object", body)
			}
			var name string
			if json.Unmarshal(members["name"], &name) != nil || p.Name != name || p.UserID != "u" {
				t.Errorf("%q → %+v", body, p)
			}
		}
		u, err := decodeProjectUpdate(body)
		checkDecodeError(t, "update", body, err)
		if err == nil {
			if json.Unmarshal(body, &members) != nil {
				t.Fatalf("accepted %q, not an object", body)
			}
			checkNullable(t, body, "description", members, u.Description)
			if _, ok := members["name"]; ok != (u.Name != nil) {
				t.Errorf("%q: name given %v, decoded %v", body, ok, u.Name)
			}
		}
	})
}

// checkNullable checks the JSON Merge Patch meaning of member name in
// members against what was decoded: absent leaves the field alone, null
// clears it, a value sets it.
func checkNullable[T any](t *testing.T, body []byte, name string, members map[string]json.RawMessage, got taskapi.Nullable[T]) {
	t.Helper()
	raw, present := members[name]
	switch {
	case !present && got.Set:
		t.Errorf("%q: %s absent but set", body, name)
	case present && !got.Set:
		t.Errorf("%q: %s given but not set", body, name)
	case present && (string(raw) == "null") == got.Valid:
		t.Errorf("%q: %s is %s but Valid = %v", body, name, raw, got.Valid)
	}
}

// FuzzMergePatch checks the JSON Merge Patch (RFC 7396) reading of PATCH
// /tasks/{id} on arbitrary bodies: for every member of an accepted body,
// null clears the field, a value sets it, and an absent member leaves it.
// (FuzzDecodeTask checks the error side of the same decoder.)
func FuzzMergePatch(f *testing.F) {
	for _, s := range []string{`{"description":null}`, `{"project_id":"p","due_date":"2030-01-02"}`,
		`{"completed_on":null,"name":"n"}`, `{"due_date":null,"description":"x","completed":true}`, `{"completed_on":"2030-01-01T10:00:00+02:00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeTaskUpdate(body)
		checkDecodeError(t, "merge patch", body, err)
		if err != nil {
			return
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil {
			t.Fatalf("accepted %q, not an object", body)
		}
		checkNullable(t, body, "description", members, u.Description)
		checkNullable(t, body, "project_id", members, u.ProjectID)
		checkNullable(t, body, "due_date", members, u.DueDate)
		checkNullable(t, body, "completed_on", members, u.CompletedOn)
		if u.Description.Valid {
			var want string
			if json.Unmarshal(members["description"], &want) != nil || u.Description.Value != want {
				t.Errorf("%q: description %q", body, u.Description.Value)
			}
		}
		if _, ok := members["completed"]; ok != (u.Completed != nil) {
			t.Errorf("%q: completed given %v, decoded %v", body, ok, u.Completed)
		}
	})
}

// FuzzListQuery feeds arbitrary query strings to the list parsers: no
// panic, only 400s, and an accepted query is within the limits.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"limit=5&completed=true&sort=-due_date", "orderBy=due_date-desc&search=x",
		"project_id=none&due_before=2030-01-01&due_after=2029-01-01", "limit=0", "limit=1&limit=2", "page_token=e30",
		"search=%ff", "a=%zz", "completed=1&project_id=p&sort=name"} {
		f.Add(q)
	}
	s := &server{defaultLimit: 20, maxLimit: 100}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		if strings.ContainsAny(rawQuery, "# \r\n\t") {
			return // not a query string a request line can carry
		}
		r := httptest.NewRequest("GET", "/tasks", nil)
		r.URL.RawQuery = rawQuery
		for _, project := range []string{"", "p1"} {
			fl, _, err := s.parseTaskFilter(r, "u", project)
			if err != nil {
				if code := taskapi.ErrorCode(err); code != taskapi.EBADREQUEST {
					t.Fatalf("%q: %v (%s)", rawQuery, err, code)
				}
				continue
			}
			if fl.Limit < 1 || fl.Limit > 100 || !utf8.ValidString(fl.Search) || utf8.RuneCountInString(fl.Search) > maxSearchLen ||
				fl.UserID != "u" || (project != "" && fl.Project.ID != project) {
				t.Fatalf("%q: %+v", rawQuery, fl)
			}
		}
		pf, err := s.parseProjectFilter(r, "u")
		if err != nil && taskapi.ErrorCode(err) != taskapi.EBADREQUEST {
			t.Fatalf("%q: %v", rawQuery, err)
		}
		if err == nil && (pf.Limit < 1 || pf.Limit > 100) {
			t.Fatalf("%q: %+v", rawQuery, pf)
		}
	})
}

// FuzzClientAddr feeds arbitrary peer addresses and X-Forwarded-For values
// to the client address finder: no panic, and the address found is the
// peer's or one named in the header, never one made up.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:80", "198.51.100.1, 10.0.0.2")
	f.Add("[fd00::1]:80", "2001:db8::1")
	f.Add("192.0.2.1:80", "garbage")
	f.Add("x", ",,,")
	s := &server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := s.clientAddr(r)
		_ = addrKey(got) // must not panic either
		if got == parseAddr(remote) {
			return
		}
		if !s.trusted(parseAddr(remote)) {
			t.Fatalf("%q %q: %v from an untrusted peer", remote, xff, got)
		}
		for hop := range strings.SplitSeq(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap() == got {
				return
			}
		}
		t.Fatalf("%q %q: %v is named nowhere", remote, xff, got)
	})
}
