package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/taskapi/taskapi"
)

// changeParams are the query parameters of GET /changes.
var changeParams = []string{"cursor", "limit"}

// maxCursorLen is the most digits of a cursor (an int64).
const maxCursorLen = 19

// changeJSON is one change on the wire: the object's kind and id, and
// its current state under its kind's name, or deleted true and both
// states null for a tombstone.
type changeJSON struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Deleted bool         `json:"deleted"`
	Task    *taskJSON    `json:"task"`
	Project *projectJSON `json:"project"`
}

// changeList is the answer of GET /changes.
type changeList struct {
	Changes    []changeJSON `json:"changes"` // never nil: [] when empty
	NextCursor string       `json:"next_cursor"`
	HasMore    bool         `json:"has_more"`
}

// listChanges answers GET /changes: without a cursor (or with an empty
// one) no changes and the current cursor; with one, the next page of
// changes after it (410 ERR_RESYNC when the feed cannot continue from it).
func (s *server) listChanges(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseChangeFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := data(r).Changes(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := changeList{Changes: make([]changeJSON, len(page.Changes)), NextCursor: strconv.FormatInt(page.Next, 10), HasMore: page.More}
	for i, c := range page.Changes {
		j := changeJSON{Type: string(c.Kind), ID: c.ID, Deleted: c.Deleted}
		switch {
		case c.Task != nil:
			j.Task = new(newTaskJSON(c.Task))
		case c.Project != nil:
			j.Project = new(newProjectJSON(c.Project))
		}
		list.Changes[i] = j
	}
	s.writeJSON(w, r, http.StatusOK, list)
}

// parseChangeFilter reads ?cursor (a next_cursor of an earlier answer;
// absent or empty: none) and ?limit.
func (s *server) parseChangeFilter(r *http.Request) (taskapi.ChangeFilter, error) {
	f := taskapi.ChangeFilter{UserID: userID(r)}
	q, err := newQuery(r, changeParams)
	if err != nil {
		return f, err
	}
	if f.Limit, err = q.limit(s.defaultLimit, s.maxLimit); err != nil {
		return f, err
	}
	if v, _ := q.get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) && n > 0 && len(v) <= maxCursorLen && v[0] != '+' && v[0] != '0' {
			// A cursor of the documented form past any number the feed
			// can have given.
			return f, taskapi.ResyncRequired()
		}
		if err != nil || n < 0 || len(v) > maxCursorLen || v[0] == '+' || (v[0] == '0' && len(v) > 1) {
			return f, badRequest("Invalid cursor: give the next_cursor of an earlier answer, or none for the current one")
		}
		f.After = &n
	}
	return f, nil
}
