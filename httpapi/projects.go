package httpapi

import (
	"context"
	"net/http"

	"github.com/taskapi/taskapi"
)

// writeProject answers one project with its ETag.
func (s *server) writeProject(w http.ResponseWriter, r *http.Request, status int, p *taskapi.Project) {
	w.Header().Set("ETag", etag(p.ID, p.Version))
	s.writeJSON(w, r, status, projectEnvelope{newProjectJSON(p)})
}

// listProjects answers GET /projects.
func (s *server) listProjects(w http.ResponseWriter, r *http.Request) {
	uid := userID(r)
	f, err := s.parseProjectFilter(r, uid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := data(r).Projects(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := projectList{Projects: make([]projectJSON, len(page.Projects))}
	for i, p := range page.Projects {
		list.Projects[i] = newProjectJSON(p)
	}
	list.NextPageToken = nextPage(w, r, func() string { return projectQueryHash(uid) }, page.Next)
	s.writeJSON(w, r, http.StatusOK, list)
}

// createProject answers POST /projects.
func (s *server) createProject(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r, mediaJSON)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := decodeProjectCreate(body, userID(r))
	if err == nil {
		p.Normalize()
		err = p.Validate()
	}
	if err == nil {
		err = data(r).CreateProject(r.Context(), p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, p)
}

// getProject answers GET /projects/{id}, 304 when If-None-Match matches.
func (s *server) getProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.ProjectNotFound())
		return
	}
	p, err := data(r).Project(r.Context(), userID(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tag := etag(p.ID, p.Version)
	if notModified(r, tag) {
		w.Header().Set("ETag", tag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeProject(w, r, http.StatusOK, p)
}

// projectVersion returns a function reading the current version of a
// project, for precondition.
func projectVersion(r *http.Request, id string) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		p, err := data(r).Project(ctx, userID(r), id)
		if err != nil {
			return 0, err
		}
		return p.Version, nil
	}
}

// patchProject answers PATCH /projects/{id}, a JSON Merge Patch.
func (s *server) patchProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.ProjectNotFound())
		return
	}
	uid := userID(r)
	body, err := s.readBody(w, r, mediaMergePatch, mediaJSON)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := decodeProjectUpdate(body)
	if err == nil {
		u.Normalize()
		err = u.Validate()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pre, err := precondition(r.Context(), r, id, projectVersion(r, id))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := data(r).UpdateProject(r.Context(), uid, id, u, pre)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, p)
}

// deleteProject answers DELETE /projects/{id} with 204; the project's
// tasks are kept, without a project.
func (s *server) deleteProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.ProjectNotFound())
		return
	}
	uid := userID(r)
	pre, err := precondition(r.Context(), r, id, projectVersion(r, id))
	if err == nil {
		err = data(r).DeleteProject(r.Context(), uid, id, pre)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeWritten(w, r, nil)
}

// listProjectTasks answers GET /projects/{id}/tasks: 404 when the project
// is not the caller's.
func (s *server) listProjectTasks(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, taskapi.ProjectNotFound())
		return
	}
	uid := userID(r)
	if _, err := data(r).Project(r.Context(), uid, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, kind, err := s.parseTaskFilter(r, uid, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTaskPage(w, r, kind, f)
}
