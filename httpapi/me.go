package httpapi

import (
	"net/http"
	"time"

	"github.com/taskapi/taskapi"
)

// The confirmation DELETE /me needs: the request must carry the header
// ConfirmHeader with the value ConfirmDeleteAll, so that no client deletes
// a user's data by a stray DELETE.
const (
	ConfirmHeader    = "Confirm"
	ConfirmDeleteAll = "delete-all-my-data"
)

// ECONFIRM answers a DELETE /me without its confirmation (428).
const ECONFIRM = "ERR_CONFIRMATION_REQUIRED"

// exportJSON is the body of GET /me/export: everything the service keeps
// of the caller, in the wire form of the other routes.
type exportJSON struct {
	User       exportUser    `json:"user"`
	ExportedAt string        `json:"exported_at"`
	Projects   []projectJSON `json:"projects"`
	Tasks      []taskJSON    `json:"tasks"`
}

// exportUser names the user an export is of.
type exportUser struct {
	Sub    string `json:"sub"`
	Issuer string `json:"iss"`
}

// deletionJSON is the body of DELETE /me.
type deletionJSON struct {
	Deleted struct {
		Tasks    int64 `json:"tasks"`
		Projects int64 `json:"projects"`
	} `json:"deleted"`
}

// exportMe answers GET /me/export: every project and task of the caller,
// from one snapshot of the database, as one JSON document to keep (a
// download: Content-Disposition attachment).
func (s *server) exportMe(w http.ResponseWriter, r *http.Request) {
	d, err := data(r).UserData(r.Context(), userID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := state(r.Context())
	out := exportJSON{
		User:       exportUser{Sub: st.sub, Issuer: st.issuer},
		ExportedAt: utc(s.now()),
		Projects:   make([]projectJSON, len(d.Projects)),
		Tasks:      make([]taskJSON, len(d.Tasks)),
	}
	for i, p := range d.Projects {
		out.Projects[i] = newProjectJSON(p)
	}
	for i, t := range d.Tasks {
		out.Tasks[i] = newTaskJSON(t)
	}
	name := "taskapi-export-" + s.now().UTC().Format(time.DateOnly) + ".json"
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	s.writeJSON(w, r, http.StatusOK, out)
}

// deleteMe answers DELETE /me: every project and task of the caller is
// deleted, in one transaction, when the request carries Confirm:
// delete-all-my-data; 428 ERR_CONFIRMATION_REQUIRED otherwise. The
// account itself lives at the identity provider: a new token of the same
// user starts with no data.
func (s *server) deleteMe(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Values(ConfirmHeader); len(v) != 1 || v[0] != ConfirmDeleteAll {
		s.writeError(w, r, taskapi.Errorf(ECONFIRM,
			"Deleting all your tasks and projects needs the header %s: %s", ConfirmHeader, ConfirmDeleteAll))
		return
	}
	n, err := data(r).DeleteUserData(r.Context(), userID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "deleted all data of a user",
		"request_id", requestID(r.Context()), "sub", userID(r), "iss", state(r.Context()).issuer,
		"tasks", n.Tasks, "projects", n.Projects)
	var out deletionJSON
	out.Deleted.Tasks, out.Deleted.Projects = n.Tasks, n.Projects
	s.writeJSON(w, r, http.StatusOK, out)
}
