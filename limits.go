package taskapi

import "errors"

// Limits caps how many rows one user (a subject of one issuer) may keep,
// so that one account cannot fill the database. A store refuses the
// create that would go over a cap with ELIMIT (TooManyTasks,
// TooManyProjects), atomically with the insert: concurrent creates of one
// user never end above the cap. A cap of 0 is none. Rows a user has beyond
// a cap (the cap was lowered) stay; only creates are refused until the
// user is below it again.
type Limits struct {
	Tasks    int // the most tasks one user may have
	Projects int // the most projects one user may have
	// IdempotencyKeys is the most unexpired idempotency keys one user may
	// hold (see KeyPolicy.MaxPerUser).
	IdempotencyKeys int
}

// The caps of the binary when its configuration sets none
// (MAX_TASKS_PER_USER, MAX_PROJECTS_PER_USER): far above what a person
// keeps, low enough that one account cannot grow the database without
// bound.
const (
	DefaultMaxTasks    = 100_000
	DefaultMaxProjects = 10_000
)

// Check reports a negative cap.
func (l Limits) Check() error {
	if l.Tasks < 0 || l.Projects < 0 || l.IdempotencyKeys < 0 {
		return errors.New("a limit must not be negative (0 is no limit)")
	}
	return nil
}

// TooManyTasks is the answer to a new task of a user who has limit tasks
// already.
func TooManyTasks(limit int) *Error { return limitReached(limit, "task") }

// TooManyProjects is TooManyTasks for projects.
func TooManyProjects(limit int) *Error { return limitReached(limit, "project") }

func limitReached(limit int, what string) *Error {
	if limit != 1 {
		what += "s"
	}
	return Errorf(ELIMIT, "You have reached the limit of %d %s per user: delete some to create more", limit, what)
}
