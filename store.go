package taskapi

import (
	"context"
	"time"
)

// SortField names a column tasks can be listed by.
type SortField string

// The sort fields of a task list.
const (
	SortCreatedAt   SortField = "created_at"
	SortUpdatedAt   SortField = "updated_at"
	SortDueDate     SortField = "due_date"
	SortName        SortField = "name"
	SortCompletedOn SortField = "completed_on"
)

// Valid reports whether f is one of the sort fields.
func (f SortField) Valid() bool {
	switch f {
	case SortCreatedAt, SortUpdatedAt, SortDueDate, SortName, SortCompletedOn:
		return true
	}
	return false
}

// Nullable reports whether tasks may have no value in the field
// (due_date, completed_on).
func (f SortField) Nullable() bool { return f == SortDueDate || f == SortCompletedOn }

// Column returns the storage column of a valid field: the field's own
// name, one of the constants above, so it is safe to put into SQL text.
func (f SortField) Column() string { return string(f) }

// Sort is the order of a list: a field, ascending unless Desc, ties broken
// by id in the same direction. Tasks without a value in a nullable field
// (due_date, completed_on) come last in ascending order and first in
// descending order, so a descending list is the ascending one reversed.
type Sort struct {
	Field SortField
	Desc  bool
}

// Cursor marks where a page ended: the sort value of its last row
// (nil when that row had none) and the row's id. Stores encode sort values
// as: created_at, updated_at, completed_on as RFC 3339 UTC timestamps with
// nanoseconds (time.RFC3339Nano), due_date as YYYY-MM-DD, name as is.
type Cursor struct {
	Value *string
	ID    string
}

// SortValue returns t's value of field in the Cursor's encoding, or nil
// when t has none (or field is not a sort field).
func (t *Task) SortValue(field SortField) *string {
	var v string
	switch field {
	case SortCreatedAt:
		v = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	case SortUpdatedAt:
		v = t.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case SortDueDate:
		if t.DueDate == nil {
			return nil
		}
		v = t.DueDate.String()
	case SortName:
		v = t.Name
	case SortCompletedOn:
		if t.CompletedOn == nil {
			return nil
		}
		v = t.CompletedOn.UTC().Format(time.RFC3339Nano)
	default:
		return nil
	}
	return &v
}

// ProjectFilter selects tasks by project.
type ProjectFilter struct {
	None bool   // only tasks without a project
	ID   string // only tasks of this project (when not None and not "")
}

// TaskFilter selects one page of one user's tasks.
type TaskFilter struct {
	UserID    string
	Completed *bool
	// Search matches name or description, case-insensitively, as a
	// substring (no wildcards: % and _ match themselves).
	Search    string
	Project   ProjectFilter
	DueBefore *Date // due_date < DueBefore (tasks without a due date never match)
	DueAfter  *Date // due_date > DueAfter
	Sort      Sort
	// Limit is the page size, at least 1; the store returns at most Limit
	// rows and a Next cursor when more may follow.
	Limit int
	// After continues the list after this row (nil: from the start).
	After *Cursor
}

// TaskPage is one page of a task list.
type TaskPage struct {
	Tasks []*Task
	Next  *Cursor // nil on the last page
}

// NewTaskPage makes the page of a list asked for limit rows, sorted by
// field, from the rows a store read: at most limit+1, the one past the
// page only telling that more follow (Next is then the last row's cursor).
// An empty page has an empty, non-nil Tasks.
func NewTaskPage(rows []*Task, limit int, field SortField) *TaskPage {
	tasks, next := cutPage(rows, limit, func(t *Task) Cursor { return Cursor{Value: t.SortValue(field), ID: t.ID} })
	return &TaskPage{Tasks: tasks, Next: next}
}

// ProjectListFilter selects one page of one user's projects, ordered by
// created_at, then id.
type ProjectListFilter struct {
	UserID string
	Limit  int
	After  *Cursor
}

// ProjectPage is one page of a project list.
type ProjectPage struct {
	Projects []*Project
	Next     *Cursor
}

// NewProjectPage is NewTaskPage for projects, which are listed by
// created_at.
func NewProjectPage(rows []*Project, limit int) *ProjectPage {
	projects, next := cutPage(rows, limit, func(p *Project) Cursor {
		created := p.CreatedAt.UTC().Format(time.RFC3339Nano)
		return Cursor{Value: &created, ID: p.ID}
	})
	return &ProjectPage{Projects: projects, Next: next}
}

// cutPage returns the first limit rows (never nil) and, when there are
// more, the cursor of the last one kept.
func cutPage[T any](rows []T, limit int, cursor func(T) Cursor) ([]T, *Cursor) {
	if rows == nil {
		rows = []T{}
	}
	if len(rows) <= limit {
		return rows, nil
	}
	next := cursor(rows[limit-1])
	return rows[:limit], &next
}

// Precondition makes a write conditional: when IfVersion is non-zero the
// write happens only if the row's Version equals it, and fails with
// EPRECONDITION otherwise, atomically.
type Precondition struct {
	IfVersion int64
}

// Check returns changed() unless the precondition holds for a row at
// version.
func (p Precondition) Check(version int64, changed func() *Error) error {
	if p.IfVersion != 0 && p.IfVersion != version {
		return changed()
	}
	return nil
}

// IssuerStore keeps the tasks and projects of the users of one token
// issuer. Every method is scoped by user id: a row of another user is
// reported as ENOTFOUND, exactly like a missing one.
type IssuerStore interface {
	// CreateTask inserts t, setting ID (when empty), CreatedAt, UpdatedAt
	// and Version (1). A ProjectID must name a project of the same user,
	// otherwise EINVALID on field project_id. An ID that exists already
	// gives ECONFLICT. A user who has as many tasks as the store's Limits
	// allow gets ELIMIT (TooManyTasks), decided atomically with the
	// insert.
	CreateTask(ctx context.Context, t *Task) error
	Task(ctx context.Context, userID, id string) (*Task, error)
	Tasks(ctx context.Context, f TaskFilter) (*TaskPage, error)
	// UpdateTask applies u atomically (UpdatedAt = now, Version + 1) and
	// returns the task as stored.
	UpdateTask(ctx context.Context, userID, id string, u TaskUpdate, p Precondition) (*Task, error)
	DeleteTask(ctx context.Context, userID, id string, p Precondition) error

	// CreateProject, Project, Projects and UpdateProject are the same for
	// projects (ELIMIT: TooManyProjects).
	CreateProject(ctx context.Context, p *Project) error
	Project(ctx context.Context, userID, id string) (*Project, error)
	Projects(ctx context.Context, f ProjectListFilter) (*ProjectPage, error)
	UpdateProject(ctx context.Context, userID, id string, u ProjectUpdate, p Precondition) (*Project, error)
	// DeleteProject removes a project; its tasks lose their project
	// (each such task gets a new Version and UpdatedAt).
	DeleteProject(ctx context.Context, userID, id string, p Precondition) error

	// KeyClaimer keeps the responses of writes sent with an idempotency
	// key, each user's apart.
	KeyClaimer

	// Changes returns one page of the user's change feed (see Change),
	// read in one snapshot: ERESYNC when f.After cannot be continued
	// (ChangeHead.Check).
	Changes(ctx context.Context, f ChangeFilter) (*ChangePage, error)

	// UserData and DeleteUserData export and erase all of a user's rows.
	UserDataStore
}

// Store is everything the service keeps. A user is a subject of one token
// issuer: the same subject of another issuer is another user, who sees none
// of the first one's rows. The IssuerStore methods of a Store act for the
// issuer "" (data written before issuers were recorded, or a
// deployment that does not record them); ForIssuer gives those of any other.
type Store interface {
	IssuerStore
	// ForIssuer returns the rows of issuer's users, in the same database
	// and with the same resources as the Store itself.
	ForIssuer(issuer string) IssuerStore
	// Issuers returns the issuers that own rows, "" among them when rows
	// without an issuer exist, in ascending order.
	Issuers(ctx context.Context) ([]string, error)
	// AssignIssuer gives every row without an issuer to issuer: the rows
	// written before the store recorded issuers, for a deployment with one
	// issuer. It returns how many tasks and projects it changed.
	AssignIssuer(ctx context.Context, issuer string) (int64, error)
	// PurgeKeys deletes the idempotency keys that expired, in batches, and
	// returns how many.
	PurgeKeys(ctx context.Context) (int64, error)
	// PurgeTombstones forgets the deleted objects of every user whose
	// deletion is older than before, and returns how many it forgot. A
	// cursor from before a forgotten one is then refused with ERESYNC.
	PurgeTombstones(ctx context.Context, before time.Time) (int64, error)
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Clock tells the time; stores and handlers take one so tests can set it.
type Clock func() time.Time
