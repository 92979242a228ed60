package httpapi

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// TestWireBytes pins the bytes of the answers for awkward values: < > &
// as they are in resources but escaped in error bodies, U+2028 and U+2029
// escaped everywhere, invalid UTF-8 replaced, null for empty fields,
// timestamps in UTC with their nanoseconds (a year before 0000 too), and
// the final newline.
func TestWireBytes(t *testing.T) {
	awk := "<b>&amp;</b> \u2028\u2029 \"\\ \n\t\x01\x7f caf\u00e9 \U0001F600 bad\xff / '"
	esc := `<b>&amp;</b> \u2028\u2029 \"\\ \n\t\u0001` + "\x7f" + ` café 😀 bad\ufffd / '`
	created := time.Date(2026, 11, 26, 17, 4, 5, 123456789, time.UTC)
	updated := time.Date(2026, 11, 27, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	done := time.Date(-1, 12, 31, 23, 0, 0, 1000, time.UTC)
	due := taskapi.NewDate(2030, 7, 1)
	full := &taskapi.Task{ID: "t1", UserID: "auth0|" + awk, ProjectID: &awk, Name: awk, Description: &awk,
		DueDate: &due, CompletedOn: &done, CreatedAt: created, UpdatedAt: updated}
	bare := &taskapi.Task{ID: "t2", UserID: "u", Name: "n", CreatedAt: created, UpdatedAt: updated}
	project := &taskapi.Project{ID: "p1", UserID: "u", Name: awk, Description: &awk, CreatedAt: created, UpdatedAt: updated}
	next := "tok<&>"

	fullJSON := `{"id":"t1","user_id":"auth0|` + esc + `","project_id":"` + esc + `","name":"` + esc + `","description":"` + esc +
		`","due_date":"2030-07-01","completed":true,"completed_on":"-0001-12-31T23:00:00.000001Z",` +
		`"created_at":"2026-11-26T17:04:05.123456789Z","updated_at":"2026-11-27T00:00:00Z"}`
	bareJSON := `{"id":"t2","user_id":"u","project_id":null,"name":"n","description":null,"due_date":null,"completed":false,` +
		`"completed_on":null,"created_at":"2026-11-26T17:04:05.123456789Z","updated_at":"2026-11-27T00:00:00Z"}`
	s := &server{log: logger(&syncBuffer{})}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"task", taskEnvelope{newTaskJSON(full)}, `{"task":` + fullJSON + "}\n"},
		{"task list", taskList{Tasks: []taskJSON{newTaskJSON(bare), newTaskJSON(full)}, NextPageToken: &next},
			`{"tasks":[` + bareJSON + "," + fullJSON + `],"next_page_token":"tok<&>"}` + "\n"},
		{"empty task list", taskList{Tasks: []taskJSON{}}, `{"tasks":[],"next_page_token":null}` + "\n"},
		{"project", projectEnvelope{newProjectJSON(project)},
			`{"project":{"id":"p1","user_id":"u","name":"` + esc + `","description":"` + esc +
				`","created_at":"2026-11-26T17:04:05.123456789Z","updated_at":"2026-11-27T00:00:00Z"}}` + "\n"},
		{"empty project list", projectList{Projects: []projectJSON{}, NextPageToken: &next}, `{"projects":[],"next_page_token":"tok<&>"}` + "\n"},
	} {
		w := httptest.NewRecorder()
		s.writeJSON(w, httptest.NewRequest("GET", "/", nil), 200, tc.v)
		if got := w.Body.String(); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}

	w := httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest("GET", "/", nil), taskapi.ValidationError(taskapi.FieldError{Field: awk, Message: "m"}))
	want := `{"error":"Validation error","code":"ERR_VALID","errors":[{"field":"\u003cb\u003e\u0026amp;\u003c/b\u003e \u2028\u2029 \"\\ \n\t\u0001` +
		"\x7f" + ` café 😀 bad\ufffd / '","message":"m"}]}` + "\n"
	if got := w.Body.String(); got != want {
		t.Errorf("error:\n%q\nwant\n%q", got, want)
	}
}
