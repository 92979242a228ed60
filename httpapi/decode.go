package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

// Media types of request bodies.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// readBody returns the body of r after checking its media type against
// accepted (415 otherwise; a charset parameter must be UTF-8) and its size
// against the limit (413 otherwise).
func (s *server) readBody(w http.ResponseWriter, r *http.Request, accepted ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(accepted, mt) {
		return nil, taskapi.Errorf(EMEDIATYPE, "Content-Type must be %s", strings.Join(accepted, " or "))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, taskapi.Errorf(EMEDIATYPE, "charset must be utf-8")
	}
	tooLarge := taskapi.Errorf(ETOOLARGE, "Request body must not exceed %d bytes", s.maxBody)
	if r.ContentLength > s.maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, badRequest("Could not read the request body")
	}
	return body, nil
}

// member is one member of a JSON object, in the order given.
type member struct {
	name  string
	value json.RawMessage
}

// parseObject reads body as exactly one JSON object: malformed JSON, any
// other value, a repeated member name, or anything after the object is a
// 400.
func parseObject(body []byte) ([]member, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("Malformed JSON: the body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest("Request body must be a JSON object")
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		name := tok.(string) // inside an object, the decoder only yields string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		if seen[name] {
			return nil, badRequest("Malformed JSON: member %q is repeated", truncate(name, 64))
		}
		seen[name] = true
		members = append(members, member{name, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("Malformed JSON: unexpected data after the object")
	}
	return members, nil
}

// malformed returns the 400 of a body that is not valid JSON.
func malformed(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("Malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		return badRequest("Malformed JSON at offset %d: %s", se.Offset, se.Error())
	}
	return badRequest("Malformed JSON")
}

// readOnly are the members of a resource a client may not write.
var readOnly = []string{"id", "user_id", "created_at", "updated_at"}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// fieldDecoder collects the field errors of one body.
type fieldDecoder struct{ errs []taskapi.FieldError }

func (d *fieldDecoder) fail(field, msg string) {
	if len(d.errs) < maxFieldErrors {
		d.errs = append(d.errs, taskapi.FieldError{Field: truncate(field, 64), Message: msg})
	}
}

// maxFieldErrors bounds the field errors of one answer: a body of
// thousands of unknown members gets the first few.
const maxFieldErrors = 20

// truncate shortens s to at most n bytes (on a rune boundary), for echoing
// client input in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// err returns the collected field errors as one 422, or nil.
func (d *fieldDecoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return taskapi.ValidationError(d.errs...)
}

// unknown records a member that no field of the resource takes.
func (d *fieldDecoder) unknown(name string) {
	if slices.Contains(readOnly, name) {
		d.fail(name, "is read-only")
	} else {
		d.fail(name, "is not allowed")
	}
}

// str decodes a non-null string.
func (d *fieldDecoder) str(name string, raw json.RawMessage) (string, bool) {
	var v string
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		d.fail(name, "must be a string")
		return "", false
	}
	return v, true
}

// nullableStr decodes a string or null.
func (d *fieldDecoder) nullableStr(name string, raw json.RawMessage) taskapi.Nullable[string] {
	if isNull(raw) {
		return taskapi.Null[string]()
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		d.fail(name, "must be a string or null")
		return taskapi.Nullable[string]{}
	}
	return taskapi.Value(v)
}

// date decodes a YYYY-MM-DD date (or an RFC 3339 timestamp, whose day is
// taken) or null.
func (d *fieldDecoder) date(name string, raw json.RawMessage) taskapi.Nullable[taskapi.Date] {
	if isNull(raw) {
		return taskapi.Null[taskapi.Date]()
	}
	var v taskapi.Date
	if json.Unmarshal(raw, &v) != nil {
		d.fail(name, "must be a date (YYYY-MM-DD) or null")
		return taskapi.Nullable[taskapi.Date]{}
	}
	return taskapi.Value(v)
}

// timestamp decodes an RFC 3339 timestamp or null.
func (d *fieldDecoder) timestamp(name string, raw json.RawMessage) taskapi.Nullable[time.Time] {
	if isNull(raw) {
		return taskapi.Null[time.Time]()
	}
	var (
		s   string
		t   time.Time
		err = json.Unmarshal(raw, &s)
	)
	if err == nil {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		d.fail(name, "must be an RFC 3339 timestamp or null")
		return taskapi.Nullable[time.Time]{}
	}
	return taskapi.Value(t)
}

// boolean decodes a non-null boolean.
func (d *fieldDecoder) boolean(name string, raw json.RawMessage) *bool {
	var v bool
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		d.fail(name, "must be a boolean")
		return nil
	}
	return &v
}

// text reads m when it is one of the members tasks and projects share,
// name and description, and reports whether it was.
func (d *fieldDecoder) text(m member, name **string, description *taskapi.Nullable[string]) bool {
	switch m.name {
	case "name":
		if v, ok := d.str(m.name, m.value); ok {
			*name = &v
		}
	case "description":
		*description = d.nullableStr(m.name, m.value)
	default:
		return false
	}
	return true
}

// decodeTask reads the members of a task body into an update, recording
// in d the members of the wrong shape or type and those no field takes.
// The rules are the domain's (TaskUpdate.Validate, Task.Validate).
func decodeTask(members []member, d *fieldDecoder) taskapi.TaskUpdate {
	var u taskapi.TaskUpdate
	for _, m := range members {
		if d.text(m, &u.Name, &u.Description) {
			continue
		}
		switch m.name {
		case "project_id":
			u.ProjectID = d.nullableStr(m.name, m.value)
		case "due_date":
			u.DueDate = d.date(m.name, m.value)
		case "completed_on":
			u.CompletedOn = d.timestamp(m.name, m.value)
		case "completed":
			u.Completed = d.boolean(m.name, m.value)
		default:
			d.unknown(m.name)
		}
	}
	return u
}

// decodeObject reads body, one JSON object, into the update decode makes
// of its members; check, when not nil, reports what needs the whole object
// (a create's required name).
func decodeObject[U any](body []byte, decode func([]member, *fieldDecoder) U, check func([]member, U, *fieldDecoder)) (U, error) {
	var u U
	members, err := parseObject(body)
	if err != nil {
		return u, err
	}
	var d fieldDecoder
	u = decode(members, &d)
	if check != nil {
		check(members, u, &d)
	}
	return u, d.err()
}

// requireName reports a create without a name.
func requireName[U any](members []member, _ U, d *fieldDecoder) {
	if !given(members, "name") {
		d.fail("name", "is required")
	}
}

// decodeTaskUpdate reads the body of PUT and PATCH /tasks/{id}: a JSON
// object whose members replace fields, null clearing a nullable one (for
// a flat object, the tutorial's partial update and JSON Merge Patch are
// the same thing).
func decodeTaskUpdate(body []byte) (taskapi.TaskUpdate, error) {
	return decodeObject(body, decodeTask, nil)
}

// decodeTaskCreate reads the body of POST /tasks into a new task of
// userID: the update of an empty task, as of now (completed: true
// completes it now). A name is required, and completed cannot be given
// with completed_on: both are reported with the other field errors.
func decodeTaskCreate(body []byte, userID string, now time.Time) (*taskapi.Task, error) {
	u, err := decodeObject(body, decodeTask, func(members []member, u taskapi.TaskUpdate, d *fieldDecoder) {
		requireName(members, u, d)
		if u.Completed != nil && given(members, "completed_on") {
			d.fail("completed", "cannot be given with completed_on")
		}
	})
	if err != nil {
		return nil, err
	}
	t := &taskapi.Task{UserID: userID}
	t.Apply(u, now)
	return t, nil
}

// decodeProject reads the members of a project body into an update, as
// decodeTask does.
func decodeProject(members []member, d *fieldDecoder) taskapi.ProjectUpdate {
	var u taskapi.ProjectUpdate
	for _, m := range members {
		if !d.text(m, &u.Name, &u.Description) {
			d.unknown(m.name)
		}
	}
	return u
}

// decodeProjectUpdate reads the body of PATCH /projects/{id}, a JSON Merge
// Patch.
func decodeProjectUpdate(body []byte) (taskapi.ProjectUpdate, error) {
	return decodeObject(body, decodeProject, nil)
}

// decodeProjectCreate reads the body of POST /projects into a new project
// of userID. A name is required.
func decodeProjectCreate(body []byte, userID string) (*taskapi.Project, error) {
	u, err := decodeObject(body, decodeProject, requireName)
	if err != nil {
		return nil, err
	}
	return &taskapi.Project{UserID: userID, Name: *u.Name, Description: u.Description.Ptr()}, nil
}

// given reports whether the body had a member name (whatever its value).
func given(members []member, name string) bool {
	return slices.ContainsFunc(members, func(m member) bool { return m.name == name })
}

// pathID returns the {id} of the route, bounded: an id longer than any the
// service hands out cannot exist, and is reported as not found by the
// caller.
func pathID(r *http.Request) (string, bool) {
	id := r.PathValue("id")
	return id, id != "" && len(id) <= taskapi.MaxIDLen
}
