package taskapi

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the fields, as the tutorial's validation schema.
const (
	MaxNameLen        = 255  // characters in a name
	MaxDescriptionLen = 1000 // characters in a description
	MaxUserIDLen      = 255  // characters in a user id (a token's sub)
	MaxIDLen          = 64   // bytes in a task or project id given by a client
)

// Task is one task of one user.
type Task struct {
	ID          string
	UserID      string
	ProjectID   *string
	Name        string
	Description *string
	DueDate     *Date
	CompletedOn *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version grows by one with every change; the ETag is made from it.
	Version int64
}

// Completed reports whether the task is done (CompletedOn is set).
func (t *Task) Completed() bool { return t.CompletedOn != nil }

// Init sets what a store sets on a task it creates, as of now: an ID when
// it has none, CreatedAt and UpdatedAt, and Version 1.
func (t *Task) Init(now time.Time) {
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1
}

// Nullable is a field of a partial update: left as is (Set false), cleared
// (Set true, Valid false) or given a value (Set and Valid true).
type Nullable[T any] struct {
	Set   bool
	Valid bool
	Value T
}

// Null returns a Nullable that clears the field.
func Null[T any]() Nullable[T] { return Nullable[T]{Set: true} }

// Value returns a Nullable that sets the field to v.
func Value[T any](v T) Nullable[T] { return Nullable[T]{Set: true, Valid: true, Value: v} }

// Ptr returns the value as a pointer: nil when cleared or not set.
func (n Nullable[T]) Ptr() *T {
	if !n.Valid {
		return nil
	}
	v := n.Value
	return &v
}

// TaskUpdate is a partial update of a task: only the fields that are Set
// (or non-nil) change.
type TaskUpdate struct {
	Name        *string
	Description Nullable[string]
	ProjectID   Nullable[string]
	DueDate     Nullable[Date]
	CompletedOn Nullable[time.Time]
	// Completed, when non-nil, sets CompletedOn to now if it was empty
	// (true; a completed task keeps its date) or clears it (false). It
	// cannot be given together with CompletedOn.
	Completed *bool
}

// Empty reports whether the update changes nothing.
func (u *TaskUpdate) Empty() bool {
	return u.Name == nil && !u.Description.Set && !u.ProjectID.Set &&
		!u.DueDate.Set && !u.CompletedOn.Set && u.Completed == nil
}

// earliestToday is the calendar day that is still "today" somewhere on
// Earth (UTC-12): a due date of today is valid all day in every zone.
func earliestToday(now time.Time) Date {
	return DateOf(now.UTC().Add(-12 * time.Hour))
}

// completedSkew is how far in the future a completed_on may be, for clients
// whose clocks run a little ahead.
const completedSkew = 5 * time.Minute

// validateName checks a task's or project's name: valid UTF-8, not blank
// (empty, or only white space), at most MaxNameLen characters. A valid name
// is stored as sent, spaces included.
func validateName(name string, fields []FieldError) []FieldError {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		fields = append(fields, FieldError{"name", "must be valid UTF-8"})
	case strings.TrimFunc(name, unicode.IsSpace) == "":
		fields = append(fields, FieldError{"name", "must not be empty"})
	case n > MaxNameLen:
		fields = append(fields, FieldError{"name", "must be at most 255 characters"})
	}
	return fields
}

func validateDescription(d string, fields []FieldError) []FieldError {
	if !utf8.ValidString(d) {
		return append(fields, FieldError{"description", "must be valid UTF-8"})
	}
	if utf8.RuneCountInString(d) > MaxDescriptionLen {
		return append(fields, FieldError{"description", "must be at most 1000 characters"})
	}
	return fields
}

// validateTexts checks a name and a description, each one when given.
func validateTexts(name, description *string) []FieldError {
	var fields []FieldError
	if name != nil {
		fields = validateName(*name, fields)
	}
	if description != nil {
		fields = validateDescription(*description, fields)
	}
	return fields
}

func validateTaskFields(due *Date, completedOn *time.Time, now time.Time, fields []FieldError) []FieldError {
	if due != nil && due.Before(earliestToday(now)) {
		fields = append(fields, FieldError{"due_date", "must be today or later"})
	}
	switch {
	case completedOn == nil:
	case completedOn.UTC().Year() < 1:
		// Not a time a store can keep and read back.
		fields = append(fields, FieldError{"completed_on", "must be in year 1 or later"})
	case completedOn.After(now.Add(completedSkew)):
		fields = append(fields, FieldError{"completed_on", "must not be in the future"})
	}
	return fields
}

// Check returns TaskChanged unless p lets a write change t.
func (t *Task) Check(p Precondition) error { return p.Check(t.Version, TaskChanged) }

// Normalize puts a new task in its stored form: an empty description is
// none, as the tutorial stored it.
func (t *Task) Normalize() {
	if t.Description != nil && *t.Description == "" {
		t.Description = nil
	}
}

// Validate checks a new task against the rules, as of now. It changes
// nothing.
func (t *Task) Validate(now time.Time) error {
	fields := validateTexts(&t.Name, t.Description)
	if t.ProjectID != nil && *t.ProjectID == "" {
		fields = append(fields, FieldError{"project_id", "must not be empty"})
	}
	return fieldsError(validateTaskFields(t.DueDate, t.CompletedOn, now, fields))
}

// Normalize puts an update in its stored form: setting an empty
// description clears it.
func (u *TaskUpdate) Normalize() {
	if u.Description.Valid && u.Description.Value == "" {
		u.Description = Null[string]()
	}
}

// Validate checks an update against the rules, as of now: it must change
// at least one field, and each field it sets must be valid. It changes
// nothing.
func (u *TaskUpdate) Validate(now time.Time) error {
	if u.Empty() {
		return errEmptyUpdate()
	}
	fields := validateTexts(u.Name, u.Description.Ptr())
	if u.ProjectID.Valid && u.ProjectID.Value == "" {
		fields = append(fields, FieldError{"project_id", "must not be empty"})
	}
	if u.Completed != nil && u.CompletedOn.Set {
		fields = append(fields, FieldError{"completed", "cannot be given with completed_on"})
	}
	return fieldsError(validateTaskFields(u.DueDate.Ptr(), u.CompletedOn.Ptr(), now, fields))
}

// Apply changes t as u says, as of now: each field u sets, and the
// completion (Completed true sets CompletedOn to now unless the task is
// completed already; false clears it). UpdatedAt becomes now. Times are
// kept in UTC. Apply neither validates u nor changes Version: the store
// does that when it writes.
func (t *Task) Apply(u TaskUpdate, now time.Time) {
	now = now.UTC()
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.Description.Set {
		t.Description = u.Description.Ptr()
	}
	if u.ProjectID.Set {
		t.ProjectID = u.ProjectID.Ptr()
	}
	if u.DueDate.Set {
		t.DueDate = u.DueDate.Ptr()
	}
	if u.CompletedOn.Set {
		t.CompletedOn = nil
		if u.CompletedOn.Valid {
			c := u.CompletedOn.Value.UTC()
			t.CompletedOn = &c
		}
	}
	if u.Completed != nil {
		switch {
		case !*u.Completed:
			t.CompletedOn = nil
		case t.CompletedOn == nil:
			t.CompletedOn = &now
		}
	}
	t.UpdatedAt = now
}
