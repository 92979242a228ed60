package httpapi

import (
	"time"

	"github.com/taskapi/taskapi"
)

// The JSON shapes of the API's answers, as the OpenAPI document describes
// them: the tutorial's snake_case names in this order, null (never an
// absent member) for an empty nullable field, dates as YYYY-MM-DD and
// timestamps as RFC 3339 in UTC.

// taskJSON is a task on the wire.
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

func newTaskJSON(t *taskapi.Task) taskJSON {
	j := taskJSON{
		ID:          t.ID,
		UserID:      t.UserID,
		ProjectID:   t.ProjectID,
		Name:        t.Name,
		Description: t.Description,
		Completed:   t.Completed(),
		CreatedAt:   utc(t.CreatedAt),
		UpdatedAt:   utc(t.UpdatedAt),
	}
	if t.DueDate != nil {
		j.DueDate = new(t.DueDate.String())
	}
	if t.CompletedOn != nil {
		j.CompletedOn = new(utc(*t.CompletedOn))
	}
	return j
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

// utc formats t as RFC 3339 in UTC, with a Z. (Not time.Time's own
// MarshalJSON: it refuses the years before 0000, which a completed_on
// given with an offset can reach.)
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// The envelopes, the tutorial's.
type (
	taskEnvelope struct {
		Task taskJSON `json:"task"`
	}
	projectEnvelope struct {
		Project projectJSON `json:"project"`
	}
	taskList struct {
		Tasks         []taskJSON `json:"tasks"` // never nil: [] when empty
		NextPageToken *string    `json:"next_page_token"`
	}
	projectList struct {
		Projects      []projectJSON `json:"projects"` // never nil: [] when empty
		NextPageToken *string       `json:"next_page_token"`
	}
)

// errorBody is the one error shape of the API, the tutorial's
// {"error": message, "code": code}, with the field errors of a 422 and the
// request id of a 500.
type errorBody struct {
	Error     string               `json:"error"`
	Code      string               `json:"code"`
	Errors    []taskapi.FieldError `json:"errors,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
}
