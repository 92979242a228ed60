package taskapi

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: clients read them from the "code"
// member of every error body, so they never change once published.
const (
	EINVALID      = "ERR_VALID"        // the request is well-formed but breaks a rule (422)
	ENOTFOUND     = "ERR_NF"           // no such resource for this user (404)
	EBADREQUEST   = "ERR_BAD_REQUEST"  // malformed JSON, query or header (400)
	ECONFLICT     = "ERR_CONFLICT"     // the resource already exists (409)
	EPRECONDITION = "ERR_PRECONDITION" // If-Match did not match (412)
	ELIMIT        = "ERR_LIMIT"        // the user has as many tasks (or projects) as one may have (409)
	ERESYNC       = "ERR_RESYNC"       // the change feed cannot continue from the cursor: read everything again (410)
	EUNAVAILABLE  = "ERR_UNAVAILABLE"  // a dependency is down; retry later (503)
	EINTERNAL     = "ERR_INTERNAL"     // a bug or an unexpected failure (500)
)

// FieldError is one broken rule of one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error meant for the API's client: a stable code, a message
// safe to show, and for EINVALID the fields at fault. Anything that is not an
// *Error is internal and is never shown to a client.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("taskapi error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise. It returns "" for a nil error.
func ErrorCode(err error) string { return clientError(err).Code }

// ErrorMessage returns the client-safe message of err, or "Internal error"
// when err is not an *Error.
func ErrorMessage(err error) string { return clientError(err).Message }

// clientError is what a client may learn of err: the *Error it is or
// wraps, an internal error for anything else, nothing for nil.
func clientError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return &Error{}
	case errors.As(err, &e):
		return e
	}
	return &Error{Code: EINTERNAL, Message: "Internal error"}
}

// ValidationError returns an EINVALID error for the given field errors.
func ValidationError(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: "Validation error", Fields: fields}
}

// fieldsError returns the EINVALID error of fields, or nil when there are
// none.
func fieldsError(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return ValidationError(fields...)
}

// The errors of the domain's resources, for the stores and the service
// alike. Each call returns a new value, so no caller can change another's.

// TaskNotFound is the answer to a task id the user has no task of (missing,
// or another user's: the same answer, so nothing leaks).
func TaskNotFound() *Error { return Errorf(ENOTFOUND, "Task not found") }

// ProjectNotFound is TaskNotFound for projects.
func ProjectNotFound() *Error { return Errorf(ENOTFOUND, "Project not found") }

// TaskExists is the answer to a new task whose id is taken.
func TaskExists() *Error { return Errorf(ECONFLICT, "A task with this id already exists") }

// ProjectExists is the answer to a new project whose id is taken.
func ProjectExists() *Error { return Errorf(ECONFLICT, "A project with this id already exists") }

// TaskChanged is a store's answer to a Precondition the task no longer meets.
func TaskChanged() *Error {
	return Errorf(EPRECONDITION, "The task has changed since it was read")
}

// ProjectChanged is a store's answer to a Precondition the project no
// longer meets.
func ProjectChanged() *Error {
	return Errorf(EPRECONDITION, "The project has changed since it was read")
}

// PreconditionFailed is the answer to an If-Match that names none of the
// resource's current versions.
func PreconditionFailed() *Error {
	return Errorf(EPRECONDITION, "The resource has changed: If-Match does not match its current ETag")
}

// NoSuchProject is the answer to a project_id that names no project of the
// user (missing, or another user's: the same answer, so nothing leaks).
func NoSuchProject() *Error {
	return ValidationError(FieldError{Field: "project_id", Message: "must name one of your projects"})
}

// Busy is a store's answer when it is too busy to serve the request now.
func Busy() *Error { return Errorf(EUNAVAILABLE, "The database is busy, retry later") }

// Unavailable is a store's answer when its database cannot be reached or
// cannot write.
func Unavailable() *Error { return Errorf(EUNAVAILABLE, "The database is unavailable, retry later") }

// errEmptyUpdate is the answer to an update that changes nothing.
func errEmptyUpdate() *Error {
	return ValidationError(FieldError{Message: "at least one field must be given"})
}
