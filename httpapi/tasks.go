package httpapi

import (
	"context"
	"net/http"

	"github.com/taskapi/taskapi"
)

// userID returns the caller's user id: the sub that protect checked.
func userID(r *http.Request) string { return state(r.Context()).sub }

// data returns the rows of the caller's issuer's users: protect chose them.
func data(r *http.Request) taskapi.IssuerStore { return state(r.Context()).data }

// writeTask answers one task with its ETag.
func (s *server) writeTask(w http.ResponseWriter, r *http.Request, status int, t *taskapi.Task) {
	w.Header().Set("ETag", etag(t.ID, t.Version))
	s.writeJSON(w, r, status, taskEnvelope{newTaskJSON(t)})
}

// writeTaskPage answers one page of a task list.
func (s *server) writeTaskPage(w http.ResponseWriter, r *http.Request, kind listKind, f taskapi.TaskFilter) {
	page, err := data(r).Tasks(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := taskList{Tasks: make([]taskJSON, len(page.Tasks))}
	for i, t := range page.Tasks {
		list.Tasks[i] = newTaskJSON(t)
	}
	list.NextPageToken = nextPage(w, r, func() string { return taskQueryHash(kind, f) }, page.Next)
	s.writeJSON(w, r, http.StatusOK, list)
}

// listTasks answers GET /tasks.
func (s *server) listTasks(w http.ResponseWriter, r *http.Request) {
	f, kind, err := s.parseTaskFilter(r, userID(r), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTaskPage(w, r, kind, f)
}

// createTask answers POST /tasks.
func (s *server) createTask(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r, mediaJSON)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	t, err := decodeTaskCreate(body, userID(r), now)
	if err == nil {
		t.Normalize()
		err = t.Validate(now)
	}
	if err == nil {
		err = data(r).CreateTask(r.Context(), t)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, t)
}

// getTask answers GET /tasks/{id}, 304 when If-None-Match matches.
func (s *server) getTask(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.TaskNotFound())
		return
	}
	t, err := data(r).Task(r.Context(), userID(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tag := etag(t.ID, t.Version)
	if notModified(r, tag) {
		w.Header().Set("ETag", tag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeTask(w, r, http.StatusOK, t)
}

// taskVersion returns a function reading the current version of a task,
// for precondition.
func taskVersion(r *http.Request, id string) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		t, err := data(r).Task(ctx, userID(r), id)
		if err != nil {
			return 0, err
		}
		return t.Version, nil
	}
}

// updateTask validates u and applies it to the task of the route, under
// the request's If-Match.
func (s *server) updateTask(w http.ResponseWriter, r *http.Request, u taskapi.TaskUpdate) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.TaskNotFound())
		return
	}
	uid := userID(r)
	u.Normalize()
	if err := u.Validate(s.now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := precondition(r.Context(), r, id, taskVersion(r, id))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := data(r).UpdateTask(r.Context(), uid, id, u, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, t)
}

// putTask answers PUT /tasks/{id}, the tutorial's partial update: the
// members given replace the fields, null clears a nullable one.
func (s *server) putTask(w http.ResponseWriter, r *http.Request) {
	s.decodeAndUpdateTask(w, r, mediaJSON)
}

// patchTask answers PATCH /tasks/{id}, a JSON Merge Patch (RFC 7396).
func (s *server) patchTask(w http.ResponseWriter, r *http.Request) {
	s.decodeAndUpdateTask(w, r, mediaMergePatch, mediaJSON)
}

func (s *server) decodeAndUpdateTask(w http.ResponseWriter, r *http.Request, media ...string) {
	body, err := s.readBody(w, r, media...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := decodeTaskUpdate(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.updateTask(w, r, u)
}

// completeTask answers POST /tasks/{id}/complete (and the tutorial's
// PATCH alias): the task is completed now, or stays completed on its
// date. Any body is ignored.
func (s *server) completeTask(w http.ResponseWriter, r *http.Request) {
	done := true
	s.updateTask(w, r, taskapi.TaskUpdate{Completed: &done})
}

// reopenTask answers POST /tasks/{id}/reopen: the task is no longer
// completed. Any body is ignored.
func (s *server) reopenTask(w http.ResponseWriter, r *http.Request) {
	done := false
	s.updateTask(w, r, taskapi.TaskUpdate{Completed: &done})
}

// deleteTask answers DELETE /tasks/{id} with 204.
func (s *server) deleteTask(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.TaskNotFound())
		return
	}
	uid := userID(r)
	p, err := precondition(r.Context(), r, id, taskVersion(r, id))
	if err == nil {
		err = data(r).DeleteTask(r.Context(), uid, id, p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, nil)
}
