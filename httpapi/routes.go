package httpapi

import "net/http"

// routes returns the API: every route in one place. GET /health, GET
// /ready, GET /metrics (with Config.Metrics) and GET /openapi.json are
// public; every other route is behind Authenticate, the check of the
// token's sub, (with RequireScopes) its scope, and the rate limits.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /ready", s.ready)
	mux.HandleFunc("GET /openapi.json", s.openAPI)
	if s.metrics != nil {
		mux.HandleFunc("GET /metrics", s.serveMetrics)
	}

	mux.Handle("GET /me", s.protect("", s.me))
	mux.Handle("GET /me/export", s.protect(ScopeRead, s.exportMe))
	mux.Handle("DELETE /me", s.protect(ScopeDelete, s.deleteMe))

	mux.Handle("GET /tasks", s.protect(ScopeRead, s.listTasks))
	mux.Handle("POST /tasks", s.protect(ScopeWrite, s.createTask))
	mux.Handle("GET /tasks/{id}", s.protect(ScopeRead, s.getTask))
	mux.Handle("PUT /tasks/{id}", s.protect(ScopeWrite, s.putTask))
	mux.Handle("PATCH /tasks/{id}", s.protect(ScopeWrite, s.patchTask))
	mux.Handle("DELETE /tasks/{id}", s.protect(ScopeDelete, s.deleteTask))
	mux.Handle("POST /tasks/{id}/complete", s.protect(ScopeWrite, s.completeTask))
	mux.Handle("PATCH /tasks/{id}/complete", s.protect(ScopeWrite, s.completeTask)) // the tutorial's alias
	mux.Handle("POST /tasks/{id}/reopen", s.protect(ScopeWrite, s.reopenTask))

	mux.Handle("GET /projects", s.protect(ScopeRead, s.listProjects))
	mux.Handle("POST /projects", s.protect(ScopeWrite, s.createProject))
	mux.Handle("GET /projects/{id}", s.protect(ScopeRead, s.getProject))
	mux.Handle("PATCH /projects/{id}", s.protect(ScopeWrite, s.patchProject))
	mux.Handle("DELETE /projects/{id}", s.protect(ScopeDelete, s.deleteProject))
	mux.Handle("GET /projects/{id}/tasks", s.protect(ScopeRead, s.listProjectTasks))

	mux.Handle("GET /changes", s.protect(ScopeRead, s.listChanges))

	return s.common(s.dispatch(mux))
}
