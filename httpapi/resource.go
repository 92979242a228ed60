package httpapi

import (
	"time"

	"github.com/taskapi/taskapi"
)

// taskJSON is a task on the wire: the tutorial's snake_case names, the
// derived completed flag, and null for every empty nullable field.
type taskJSON struct {
	ID          string        `json:"id"`
	UserID      string        `json:"user_id"`
	ProjectID   *string       `json:"project_id"`
	Name        string        `json:"name"`
	Description *string       `json:"description"`
	DueDate     *taskapi.Date `json:"due_date"`
	Completed   bool          `json:"completed"`
	CompletedOn *time.Time    `json:"completed_on"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// projectJSON is a project on the wire.
type projectJSON struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// utc returns t in UTC, so timestamps are written with a Z.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func newTaskJSON(t *taskapi.Task) taskJSON {
	return taskJSON{
		ID:          t.ID,
		UserID:      t.UserID,
		ProjectID:   t.ProjectID,
		Name:        t.Name,
		Description: t.Description,
		DueDate:     t.DueDate,
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
