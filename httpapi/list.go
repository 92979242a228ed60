package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

// Limits of list queries.
const (
	maxSearchLen    = 255  // characters in ?search
	maxPageTokenLen = 2048 // bytes in ?page_token
)

// listKind tells the lists apart, so a page token of one list is refused
// by another.
type listKind string

const (
	listTasks        listKind = "tasks"
	listProjectTasks listKind = "project-tasks"
	listProjects     listKind = "projects"
)

// Query parameters of each list.
var (
	taskListParams        = []string{"limit", "page_token", "completed", "search", "project_id", "due_before", "due_after", "sort", "orderBy"}
	projectTaskListParams = []string{"limit", "page_token", "completed", "search", "due_before", "due_after", "sort", "orderBy"}
	projectListParams     = []string{"limit", "page_token"}
)

// accessTokenParam is the query parameter a token may come in (RFC 6750
// §2.3), as the bearer middleware reads it.
const accessTokenParam = "access_token"

// query holds the parameters of a list: each given at most once, and
// none outside those allowed.
type query url.Values

func newQuery(r *http.Request, allowed []string) (query, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("Malformed query string")
	}
	// A token sent as ?access_token= was authentication's to read.
	delete(values, accessTokenParam)
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(allowed, name) {
			return nil, badRequest("Unknown query parameter %q; allowed: %s", truncate(name, 64), strings.Join(allowed, ", "))
		}
		if len(values[name]) > 1 {
			return nil, badRequest("Query parameter %q is given more than once", truncate(name, 64))
		}
	}
	return query(values), nil
}

func (q query) get(name string) (string, bool) {
	if v, ok := q[name]; ok {
		return v[0], true
	}
	return "", false
}

// limit reads ?limit: an integer from 1 to max, def when absent.
func (q query) limit(def, max int) (int, error) {
	v, ok := q.get("limit")
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("limit must be an integer from 1 to %d", max)
	}
	return n, nil
}

// parseBool reads the tutorial's booleans: true, false, 1, 0.
func parseBool(name, v string) (bool, error) {
	switch v {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badRequest("%s must be true, false, 1 or 0", name)
}

// parseQueryDate reads a YYYY-MM-DD query value.
func parseQueryDate(name, v string) (*taskapi.Date, error) {
	t, err := time.Parse(taskapi.DateLayout, v)
	if err != nil {
		return nil, badRequest("%s must be a date (YYYY-MM-DD)", name)
	}
	d := taskapi.DateOf(t)
	return &d, nil
}

// parseSort reads ?sort (field, or -field for descending) or the
// tutorial's ?orderBy (field-asc or field-desc); created_at ascending when
// neither is given.
func parseSort(q query) (taskapi.Sort, error) {
	sortV, hasSort := q.get("sort")
	orderV, hasOrder := q.get("orderBy")
	fields := "created_at, updated_at, due_date, name, completed_on"
	switch {
	case hasSort && hasOrder:
		return taskapi.Sort{}, badRequest("Give sort or orderBy, not both")
	case hasSort:
		s := taskapi.Sort{Field: taskapi.SortField(strings.TrimPrefix(sortV, "-")), Desc: strings.HasPrefix(sortV, "-")}
		if !s.Field.Valid() {
			return taskapi.Sort{}, badRequest("sort must be one of %s, optionally prefixed with - for descending order", fields)
		}
		return s, nil
	case hasOrder:
		i := strings.LastIndexByte(orderV, '-')
		if i > 0 {
			f, dir := taskapi.SortField(orderV[:i]), orderV[i+1:]
			if f.Valid() && (dir == "asc" || dir == "desc") {
				return taskapi.Sort{Field: f, Desc: dir == "desc"}, nil
			}
		}
		return taskapi.Sort{}, badRequest("orderBy must be <field>-asc or <field>-desc, the field one of %s", fields)
	}
	return taskapi.Sort{Field: taskapi.SortCreatedAt}, nil
}

// parseTaskFilter reads the query of a task list of userID: /tasks, or
// /projects/{id}/tasks when projectID is not "".
func (s *server) parseTaskFilter(r *http.Request, userID, projectID string) (taskapi.TaskFilter, listKind, error) {
	kind, allowed := listTasks, taskListParams
	if projectID != "" {
		kind, allowed = listProjectTasks, projectTaskListParams
	}
	f := taskapi.TaskFilter{UserID: userID}
	q, err := newQuery(r, allowed)
	if err != nil {
		return f, kind, err
	}
	if f.Limit, err = q.limit(s.defaultLimit, s.maxLimit); err != nil {
		return f, kind, err
	}
	if v, ok := q.get("completed"); ok {
		b, err := parseBool("completed", v)
		if err != nil {
			return f, kind, err
		}
		f.Completed = &b
	}
	if v, ok := q.get("search"); ok {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxSearchLen {
			return f, kind, badRequest("search must be valid UTF-8 of at most %d characters", maxSearchLen)
		}
		f.Search = v
	}
	if projectID != "" {
		f.Project.ID = projectID
	} else if v, ok := q.get("project_id"); ok {
		switch {
		case v == "none":
			f.Project.None = true
		case v == "" || len(v) > taskapi.MaxIDLen:
			return f, kind, badRequest("project_id must be a project id or none")
		default:
			f.Project.ID = v
		}
	}
	if v, ok := q.get("due_before"); ok {
		if f.DueBefore, err = parseQueryDate("due_before", v); err != nil {
			return f, kind, err
		}
	}
	if v, ok := q.get("due_after"); ok {
		if f.DueAfter, err = parseQueryDate("due_after", v); err != nil {
			return f, kind, err
		}
	}
	if f.Sort, err = parseSort(q); err != nil {
		return f, kind, err
	}
	if v, ok := q.get("page_token"); ok {
		if f.After, err = decodePageToken(v, taskQueryHash(kind, f), f.Sort.Field); err != nil {
			return f, kind, err
		}
	}
	return f, kind, nil
}

// parseProjectFilter reads the query of the project list of userID.
func (s *server) parseProjectFilter(r *http.Request, userID string) (taskapi.ProjectListFilter, error) {
	f := taskapi.ProjectListFilter{UserID: userID}
	q, err := newQuery(r, projectListParams)
	if err != nil {
		return f, err
	}
	if f.Limit, err = q.limit(s.defaultLimit, s.maxLimit); err != nil {
		return f, err
	}
	if v, ok := q.get("page_token"); ok {
		if f.After, err = decodePageToken(v, projectQueryHash(userID), taskapi.SortCreatedAt); err != nil {
			return f, err
		}
	}
	return f, nil
}

// taskQueryHash digests everything that selects and orders a task list
// (not the page size, which may change from page to page).
func taskQueryHash(kind listKind, f taskapi.TaskFilter) string {
	parts := []string{string(kind), f.UserID, f.Search, f.Project.ID, strconv.FormatBool(f.Project.None),
		string(f.Sort.Field), strconv.FormatBool(f.Sort.Desc)}
	if f.Completed != nil {
		parts = append(parts, "completed="+strconv.FormatBool(*f.Completed))
	} else {
		parts = append(parts, "completed=any")
	}
	for _, d := range []*taskapi.Date{f.DueBefore, f.DueAfter} {
		if d != nil {
			parts = append(parts, d.String())
		} else {
			parts = append(parts, "-")
		}
	}
	return digest(parts)
}

// projectQueryHash digests the project list of userID.
func projectQueryHash(userID string) string {
	return digest([]string{string(listProjects), userID})
}

// digest hashes parts unambiguously (each is length-prefixed).
func digest(parts []string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// pageToken is the content of a page token: the digest of the query it
// belongs to and the cursor of the page's last row.
type pageToken struct {
	Query string  `json:"q"`
	Value *string `json:"v"`
	ID    string  `json:"i"`
}

// encodePageToken returns the opaque token of the page after c.
func encodePageToken(queryHash string, c *taskapi.Cursor) string {
	b, _ := json.Marshal(pageToken{Query: queryHash, Value: c.Value, ID: c.ID}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadPageToken = badRequest("page_token is not valid")

// decodePageToken reads a page token of the query digested as queryHash,
// whose list is sorted by field; a token of another query is refused, and
// so is a cursor whose value does not have the form of field.
func decodePageToken(s, queryHash string, field taskapi.SortField) (*taskapi.Cursor, error) {
	if s == "" || len(s) > maxPageTokenLen {
		return nil, errBadPageToken
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadPageToken
	}
	var t pageToken
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || dec.More() || t.ID == "" || len(t.ID) > taskapi.MaxIDLen {
		return nil, errBadPageToken
	}
	if t.Query != queryHash {
		return nil, badRequest("page_token does not match the query")
	}
	if t.Value != nil && !validCursorValue(field, *t.Value) {
		return nil, errBadPageToken
	}
	return &taskapi.Cursor{Value: t.Value, ID: t.ID}, nil
}

// validCursorValue reports whether v has the form the stores give the sort
// values of field (see taskapi.Cursor).
func validCursorValue(field taskapi.SortField, v string) bool {
	switch field {
	case taskapi.SortCreatedAt, taskapi.SortUpdatedAt, taskapi.SortCompletedOn:
		_, err := time.Parse(time.RFC3339Nano, v)
		return err == nil
	case taskapi.SortDueDate:
		_, err := time.Parse(taskapi.DateLayout, v)
		return err == nil
	case taskapi.SortName:
		return utf8.ValidString(v) && utf8.RuneCountInString(v) <= taskapi.MaxNameLen
	}
	return false
}

// nextPage returns the token of the page after next (nil when there is
// none), and sets the Link header to the URL of that page. queryHash
// digests the query, called only when there is a next page.
func nextPage(w http.ResponseWriter, r *http.Request, queryHash func() string, next *taskapi.Cursor) *string {
	if next == nil {
		return nil
	}
	token := encodePageToken(queryHash(), next)
	q := r.URL.Query()
	q.Del(accessTokenParam) // never echo a token
	q.Set("page_token", token)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
	return &token
}
