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

// Validate checks a new project against the rules.
func (p *Project) Validate() error {
	var fields []FieldError
	fields = validateName(p.Name, fields)
	if p.Description != nil {
		if *p.Description == "" {
			p.Description = nil
		} else {
			fields = validateDescription(*p.Description, fields)
		}
	}
	if len(fields) > 0 {
		return ValidationError(fields...)
	}
	return nil
}

// Validate checks an update against the rules: it must change at least one
// field, and each field it sets must be valid.
func (u *ProjectUpdate) Validate() error {
	if u.Empty() {
		return &Error{Code: EINVALID, Message: "Validation error", Fields: []FieldError{{"", "at least one field must be given"}}}
	}
	var fields []FieldError
	if u.Name != nil {
		fields = validateName(*u.Name, fields)
	}
	if u.Description.Valid {
		if u.Description.Value == "" {
			u.Description = Null[string]()
		} else {
			fields = validateDescription(u.Description.Value, fields)
		}
	}
	if len(fields) > 0 {
		return ValidationError(fields...)
	}
	return nil
}
