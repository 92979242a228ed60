package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

// The types below are the reference the appenders of appendjson.go are
// held to: encoding/json's output for them is the wire form.

// taskJSON is a task on the wire: the tutorial's snake_case names, the
// derived completed flag, and null for every empty nullable field, dates
// as YYYY-MM-DD and timestamps as RFC 3339 in UTC.
type taskJSON struct {
	ID          string  `json:"id"`
	UserID      string  `json:"user_id"`
	ProjectID   *string `json:"project_id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	DueDate     *string `json:"due_date"`
	Completed   bool    `json:"completed"`
	CompletedOn *string `json:"completed_on"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

// projectJSON is a project on the wire.
type projectJSON struct {
	ID          string  `json:"id"`
	UserID      string  `json:"user_id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

// utc formats t as RFC 3339 in UTC (with a Z).
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func utcPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := utc(*t)
	return &s
}

func datePtr(d *taskapi.Date) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

func newTaskJSON(t *taskapi.Task) taskJSON {
	return taskJSON{
		ID:          t.ID,
		UserID:      t.UserID,
		ProjectID:   t.ProjectID,
		Name:        t.Name,
		Description: t.Description,
		DueDate:     datePtr(t.DueDate),
		Completed:   t.Completed(),
		CompletedOn: utcPtr(t.CompletedOn),
		CreatedAt:   utc(t.CreatedAt),
		UpdatedAt:   utc(t.UpdatedAt),
	}
}

func newProjectJSON(p *taskapi.Project) projectJSON {
	return projectJSON{
		ID:          p.ID,
		UserID:      p.UserID,
		Name:        p.Name,
		Description: p.Description,
		CreatedAt:   utc(p.CreatedAt),
		UpdatedAt:   utc(p.UpdatedAt),
	}
}

// Envelopes, the tutorial's.
type (
	taskEnvelope struct {
		Task taskJSON `json:"task"`
	}
	projectEnvelope struct {
		Project projectJSON `json:"project"`
	}
	taskListEnvelope struct {
		Tasks         []taskJSON `json:"tasks"`
		NextPageToken *string    `json:"next_page_token"`
	}
	projectListEnvelope struct {
		Projects      []projectJSON `json:"projects"`
		NextPageToken *string       `json:"next_page_token"`
	}
)

// encodeReference encodes v as writeJSON does (json.Encoder without HTML
// escaping, a final newline).
func encodeReference(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkwardStrings are strings whose JSON escaping differs between encoders.
var awkwardStrings = []string{
	"", "plain", `quote " and backslash \`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "\u2028 and \u2029", "caf\u00e9 \U0001F600", "bad \xff\xfe utf-8",
	"truncated \xe2\x80", "surrogate \xed\xa0\x80", "\u00e9\xc3", "'single' /slash/ +plus",
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	created := time.Date(2026, 11, 26, 17, 4, 5, 123456789, time.UTC)
	updated := time.Date(2026, 11, 27, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	done := time.Date(2026, 12, 1, 0, 0, 0, 1000, time.UTC)
	due := taskapi.NewDate(2030, 7, 1)
	var tasks []*taskapi.Task
	var projects []*taskapi.Project
	for i, s := range awkwardStrings {
		task := &taskapi.Task{ID: "t" + s, UserID: "auth0|" + s, Name: s, CreatedAt: created, UpdatedAt: updated, Version: int64(i + 1)}
		project := &taskapi.Project{ID: "p" + s, UserID: "auth0|" + s, Name: s, CreatedAt: created, UpdatedAt: updated}
		if i%2 == 0 {
			task.Description, task.ProjectID, task.DueDate, task.CompletedOn = &s, &s, &due, &done
			project.Description = &s
		}
		tasks = append(tasks, task)
		projects = append(projects, project)
	}
	next := "token<&>"
	for _, tc := range []struct {
		name      string
		got, want func() []byte
	}{
		{"task", func() []byte { return appendTaskEnvelope(nil, tasks[0]) },
			func() []byte { return encodeReference(t, taskEnvelope{newTaskJSON(tasks[0])}) }},
		{"bare task", func() []byte { return appendTaskEnvelope(nil, tasks[1]) },
			func() []byte { return encodeReference(t, taskEnvelope{newTaskJSON(tasks[1])}) }},
		{"project", func() []byte { return appendProjectEnvelope(nil, projects[0]) },
			func() []byte { return encodeReference(t, projectEnvelope{newProjectJSON(projects[0])}) }},
		{"task list", func() []byte { return appendTaskList(nil, tasks, &next) },
			func() []byte {
				env := taskListEnvelope{NextPageToken: &next}
				for _, t := range tasks {
					env.Tasks = append(env.Tasks, newTaskJSON(t))
				}
				return encodeReference(t, env)
			}},
		{"empty task list", func() []byte { return appendTaskList(nil, nil, nil) },
			func() []byte { return encodeReference(t, taskListEnvelope{Tasks: []taskJSON{}}) }},
		{"project list", func() []byte { return appendProjectList(nil, projects, nil) },
			func() []byte {
				var env projectListEnvelope
				for _, p := range projects {
					env.Projects = append(env.Projects, newProjectJSON(p))
				}
				return encodeReference(t, env)
			}},
		{"empty project list", func() []byte { return appendProjectList(nil, nil, &next) },
			func() []byte {
				return encodeReference(t, projectListEnvelope{Projects: []projectJSON{}, NextPageToken: &next})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.got(), tc.want(); !bytes.Equal(got, want) {
				t.Errorf("appender:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// FuzzAppendJSONString compares appendJSONString with encoding/json for
// any string, valid UTF-8 or not, and checks the result is valid JSON.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString([]byte("prefix"), s)
		want := encodeReference(t, s)
		want = append([]byte("prefix"), want[:len(want)-1]...) // without the newline
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got[len("prefix"):], &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendJSONString(%q) decodes to %q", s, back)
		}
	})
}
