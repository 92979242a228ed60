package httpapi

import (
	"time"

	"github.com/taskapi/taskapi"
)

// taskJSON is a task on the wire: the tutorial's snake_case names, the
// derived completed flag, and null for every empty nullable field. Dates
// and timestamps are formatted here (YYYY-MM-DD, RFC 3339 in UTC) rather
// than by their MarshalJSON methods, which encoding/json calls through
// reflection at a third of the cost of a list.
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
