package taskapi

import "time"

// Project groups tasks of one user. Deleting a project leaves its tasks
// without a project.
type Project struct {
	ID          string
	UserID      string
	Name        string
	Description *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version grows by one with every change; the ETag is made from it.
	Version int64
}

// ProjectUpdate is a partial update of a project.
type ProjectUpdate struct {
	Name        *string
	Description Nullable[string]
}

// Empty reports whether the update changes nothing.
func (u *ProjectUpdate) Empty() bool { return u.Name == nil && !u.Description.Set }

// Init is Task.Init for projects.
func (p *Project) Init(now time.Time) {
	if p.ID == "" {
		p.ID = NewID()
	}
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
}

// Check returns ProjectChanged unless pre lets a write change p.
func (p *Project) Check(pre Precondition) error { return pre.Check(p.Version, ProjectChanged) }

// Normalize puts a new project in its stored form: an empty description
// is none.
func (p *Project) Normalize() {
	if p.Description != nil && *p.Description == "" {
		p.Description = nil
	}
}

// Validate checks a new project against the rules. It changes nothing.
func (p *Project) Validate() error {
	return fieldsError(validateTexts(&p.Name, p.Description))
}

// Normalize puts an update in its stored form: setting an empty
// description clears it.
func (u *ProjectUpdate) Normalize() {
	if u.Description.Valid && u.Description.Value == "" {
		u.Description = Null[string]()
	}
}

// Validate checks an update against the rules: it must change at least one
// field, and each field it sets must be valid. It changes nothing.
func (u *ProjectUpdate) Validate() error {
	if u.Empty() {
		return errEmptyUpdate()
	}
	return fieldsError(validateTexts(u.Name, u.Description.Ptr()))
}

// Apply changes p as u says, as of now (UpdatedAt becomes now, in UTC).
// It neither validates u nor changes Version.
func (p *Project) Apply(u ProjectUpdate, now time.Time) {
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Description.Set {
		p.Description = u.Description.Ptr()
	}
	p.UpdatedAt = now.UTC()
}
