package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

func TestParseObject(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{}`, true},
		{` {"a":1, "b":[1,{"c":null}]} `, true},
		{"{\"a\":\"\xff\"}", true}, // invalid UTF-8 in strings is replaced, as encoding/json does
		{``, false},
		{`null`, false},
		{`[]`, false},
		{`{"a":1}}`, false},
		{`{"a":1} 2`, false},
		{`{"a":1,}`, false},
		{`{"a":1,"a":2}`, false},
		{`{"a"}`, false},
	} {
		_, err := parseObject([]byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v", tt.body, err)
		}
		if err != nil && taskapi.ErrorCode(err) != taskapi.EBADREQUEST {
			t.Errorf("%q: code %s", tt.body, taskapi.ErrorCode(err))
		}
	}
}

func TestDecodeTaskUpdate(t *testing.T) {
	u, err := decodeTaskUpdate([]byte(`{"name":"n","description":null,"project_id":"p","due_date":"2030-01-02","completed_on":null,"completed":false}`))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := taskapi.TaskUpdate{
		Name:        new("n"),
		Description: taskapi.Null[string](),
		ProjectID:   taskapi.Value("p"),
		DueDate:     taskapi.Value(taskapi.NewDate(2030, 1, 2)),
		CompletedOn: taskapi.Null[time.Time](),
		Completed:   &no,
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("got %+v\nwant %+v", u, want)
	}
	if u, err := decodeTaskUpdate([]byte(`{}`)); err != nil || !u.Empty() {
		t.Errorf("{}: %+v %v", u, err)
	}
}

func TestParseETags(t *testing.T) {
	for _, tt := range []struct {
		in   string
		tags []entityTag
		star bool
	}{
		{`"a-1"`, []entityTag{{false, `"a-1"`}}, false},
		{`W/"a-1", "b-2"`, []entityTag{{true, `"a-1"`}, {false, `"b-2"`}}, false},
		{`*`, nil, true},
		{`a-1, "x"y", ""`, []entityTag{{false, `""`}}, false},
	} {
		tags, star := parseETags(tt.in)
		if !reflect.DeepEqual(tags, tt.tags) || star != tt.star {
			t.Errorf("%q: %v %v", tt.in, tags, star)
		}
	}
}

func TestPageTokenRoundTrip(t *testing.T) {
	h := digest([]string{"q"})
	for _, c := range []taskapi.Cursor{
		{Value: nil, ID: "abc"},
		{Value: new("2030-01-02T03:04:05.123456789Z"), ID: "x"},
	} {
		got, err := decodePageToken(encodePageToken(h, &c), h, taskapi.SortCreatedAt)
		if err != nil || !reflect.DeepEqual(*got, c) {
			t.Errorf("%+v → %+v, %v", c, got, err)
		}
	}
	if _, err := decodePageToken(encodePageToken(h, &taskapi.Cursor{ID: "a"}), digest([]string{"other"}), taskapi.SortName); err == nil {
		t.Error("a token of another query is accepted")
	}
}

// FuzzDecodeTask feeds arbitrary bodies to the task decoders: they never
// panic, they answer only 400 or 422 errors, and they accept only JSON.
func FuzzDecodeTask(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"name":"x","due_date":"2030-01-01","completed":true}`,
		`{"description":null,"project_id":"p","completed_on":"2030-01-01T00:00:00Z"}`, `{"a":1,"a":2}`, `[]`, `{"name":1}`, `{} x`} {
		f.Add([]byte(s))
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(what string, err error) {
			var e *taskapi.Error
			if err == nil {
				if !json.Valid(body) {
					t.Errorf("%s accepts invalid JSON %q", what, body)
				}
				return
			}
			if !errors.As(err, &e) || (e.Code != taskapi.EBADREQUEST && e.Code != taskapi.EINVALID) {
				t.Errorf("%s: %q gives %v", what, body, err)
			}
			if e.Code == taskapi.EINVALID && len(e.Fields) == 0 {
				t.Errorf("%s: 422 without fields for %q", what, body)
			}
		}
		task, err := decodeTaskCreate(body, "u", now)
		check("create", err)
		if err == nil && task.UserID != "u" {
			t.Errorf("user id %q", task.UserID)
		}
		u, err := decodeTaskUpdate(body)
		check("update", err)
		if err == nil {
			u.Validate(now) // must not panic either
		}
		_, err = decodeProjectUpdate(body)
		check("project update", err)
	})
}

// FuzzPageToken feeds arbitrary tokens to the decoder (never a panic, only
// 400s) and arbitrary cursors through a round trip.
func FuzzPageToken(f *testing.F) {
	h := digest([]string{"q"})
	f.Add(encodePageToken(h, &taskapi.Cursor{Value: new("2030-01-02"), ID: "a"}), "name", "id")
	f.Add("e30", "", "")
	f.Add("!", "x", "y")
	f.Fuzz(func(t *testing.T, token, value, id string) {
		for _, field := range []taskapi.SortField{taskapi.SortCreatedAt, taskapi.SortDueDate, taskapi.SortName} {
			c, err := decodePageToken(token, h, field)
			if err != nil && taskapi.ErrorCode(err) != taskapi.EBADREQUEST {
				t.Fatalf("%q: %v", token, err)
			}
			if err == nil && (c.ID == "" || len(c.ID) > taskapi.MaxIDLen) {
				t.Fatalf("%q: cursor %+v", token, c)
			}
		}
		if !utf8.ValidString(value) || !utf8.ValidString(id) {
			return // stores hand out UTF-8 only; JSON would replace the bad bytes
		}
		in := taskapi.Cursor{Value: &value, ID: id}
		got, err := decodePageToken(encodePageToken(h, &in), h, taskapi.SortName)
		valid := id != "" && len(id) <= taskapi.MaxIDLen && validCursorValue(taskapi.SortName, value)
		if valid && (err != nil || *got.Value != value || got.ID != id) {
			t.Fatalf("round trip of %+v: %+v, %v", in, got, err)
		}
		if !valid && err == nil {
			t.Fatalf("invalid cursor %q/%q accepted", value, id)
		}
	})
}

// TestDecodeManyMembers checks that a body of many members is decoded in
// linear time and answered with a bounded list of errors.
func TestDecodeManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"name":"x"`)
	for i := range 60000 {
		fmt.Fprintf(&b, `,"m%d":0`, i)
	}
	b.WriteString(`}`)
	start := time.Now()
	_, err := decodeTaskCreate([]byte(b.String()), "u", time.Now())
	var e *taskapi.Error
	if !errors.As(err, &e) || e.Code != taskapi.EINVALID || len(e.Fields) != maxFieldErrors {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second { // an upper bound only: quadratic work takes minutes
		t.Errorf("took %v", d)
	}
	long := strings.Repeat("é", 100)
	_, err = decodeTaskCreate([]byte(`{"name":"x","`+long+`":1}`), "u", time.Now())
	if errors.As(err, &e) && len(e.Fields[0].Field) > 70 {
		t.Errorf("the field name is echoed whole: %q", e.Fields[0].Field)
	}
}
