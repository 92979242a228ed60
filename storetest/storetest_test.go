// Package storetest is the contract suite of taskapi.Store: every store
// (SQLite, PostgreSQL) runs the same tests, so the service behaves the same
// on each.
//
// TestSQLite and TestPostgres run it, each with a function that opens a
// fresh, empty, migrated store reading the suite's clock, with the given
// taskapi.Limits. A new store gets a test of its own beside them.
//
// Beyond taskapi.Store's documentation the suite expects what the service
// needs of every store:
//   - ENOTFOUND with the messages "Task not found" and "Project not found";
//   - timestamps kept to the microsecond at least (the suite's clock never
//     uses finer steps), returned by a write exactly as a later read gives them;
//   - names and ids compared byte by byte when sorting (COLLATE "C" in
//     PostgreSQL);
//   - search that lower-cases letters beyond ASCII too ("BRÛLÉE" finds
//     "brûlée");
//   - Limit below 1, an unknown sort field and malformed cursors answered
//     with EBADREQUEST;
//   - a cancelled context reported as an error that wraps context.Canceled.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// Run runs the contract suite. open must return a fresh, empty, migrated
// store for the (sub)test t, reading the clock Now(t) and capping each
// user's rows at limits, and close it when t ends (t.Cleanup). The
// subtests run in parallel, so open is called concurrently.
func Run(t *testing.T, open func(t *testing.T, limits taskapi.Limits) taskapi.Store) {
	groups := []struct {
		name   string
		tests  []test
		limits taskapi.Limits
	}{
		{"Task", taskTests, taskapi.Limits{}},
		{"Project", projectTests, taskapi.Limits{}},
		{"List", listTests, taskapi.Limits{}},
		{"Concurrency", concurrencyTests, taskapi.Limits{}},
		{"InvalidUTF8", invalidUTF8Tests, taskapi.Limits{}},
		{"Issuers", issuerTests, taskapi.Limits{}},
		{"Limits", append(limitTests, keyLimitTests...), testLimits},
		{"IdempotencyKeys", keyTests, taskapi.Limits{}},
		{"Changes", changeTests, taskapi.Limits{}},
		{"UserData", userDataTests, taskapi.Limits{}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newEnv(t, func(t *testing.T) taskapi.Store { return open(t, g.limits) }))
				})
			}
		})
	}
}

// test is one subtest of the suite.
type test struct {
	name string
	run  func(t *testing.T, e *env)
}

// Users of the suite. Their ids look like the tokens' subjects.
const (
	alice = "auth0|alice"
	bob   = "google-oauth2|1005416677358699"
)

// start is the suite's clock at the beginning of every subtest.
var start = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

var clocks sync.Map // *testing.T → *clock

// Now returns the clock of the suite's subtest t; the store that open
// returns must read its time from it. For any other t it returns time.Now.
func Now(t testing.TB) func() time.Time {
	if c, ok := clocks.Load(t); ok {
		return c.(*clock).now
	}
	return time.Now
}

// clock is a settable clock, safe for concurrent use. It stands still
// unless a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock by d and returns the new time.
func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// env is what every subtest works with: its store and clock.
type env struct {
	t     *testing.T
	s     taskapi.Store
	clock *clock
	ctx   context.Context
}

func newEnv(t *testing.T, open func(t *testing.T) taskapi.Store) *env {
	c := &clock{t: start}
	clocks.Store(t, c)
	t.Cleanup(func() { clocks.Delete(t) })
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	return &env{t: t, s: s, clock: c, ctx: t.Context()}
}

// task returns a new task of user with the given name, changed by mods.
func task(user, name string, mods ...func(*taskapi.Task)) *taskapi.Task {
	t := &taskapi.Task{UserID: user, Name: name}
	for _, m := range mods {
		m(t)
	}
	return t
}

func inProject(id string) func(*taskapi.Task) {
	return func(t *taskapi.Task) { t.ProjectID = &id }
}

func described(d string) func(*taskapi.Task) {
	return func(t *taskapi.Task) { t.Description = &d }
}

func due(d string) func(*taskapi.Task) {
	return func(t *taskapi.Task) { v := date(d); t.DueDate = &v }
}

func completed(at time.Time) func(*taskapi.Task) {
	return func(t *taskapi.Task) { t.CompletedOn = &at }
}

func withID(id string) func(*taskapi.Task) {
	return func(t *taskapi.Task) { t.ID = id }
}

func date(s string) taskapi.Date {
	d, err := taskapi.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// createTask stores t and fails the test on error.
func (e *env) createTask(t *taskapi.Task) *taskapi.Task {
	e.t.Helper()
	if err := e.s.CreateTask(e.ctx, t); err != nil {
		e.t.Fatalf("CreateTask(%q): %v", t.Name, err)
	}
	return t
}

// createProject stores a project of user and fails the test on error.
func (e *env) createProject(user, name string) *taskapi.Project {
	e.t.Helper()
	p := &taskapi.Project{UserID: user, Name: name}
	if err := e.s.CreateProject(e.ctx, p); err != nil {
		e.t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p
}

// mustTask reads a stored task and fails the test on error.
func (e *env) mustTask(user, id string) *taskapi.Task {
	e.t.Helper()
	t, err := e.s.Task(e.ctx, user, id)
	if err != nil {
		e.t.Fatalf("Task(%s, %s): %v", user, id, err)
	}
	return t
}

func (e *env) mustProject(user, id string) *taskapi.Project {
	e.t.Helper()
	p, err := e.s.Project(e.ctx, user, id)
	if err != nil {
		e.t.Fatalf("Project(%s, %s): %v", user, id, err)
	}
	return p
}

// allTasks lists every task f selects, page by page of limit.
func (e *env) allTasks(f taskapi.TaskFilter, limit int) []*taskapi.Task {
	e.t.Helper()
	f.Limit = limit
	f.After = nil
	var all []*taskapi.Task
	for range 10000 {
		page, err := e.s.Tasks(e.ctx, f)
		if err != nil {
			e.t.Fatalf("Tasks(%+v): %v", f, err)
		}
		if len(page.Tasks) > limit {
			e.t.Fatalf("Tasks: %d rows on a page of limit %d", len(page.Tasks), limit)
		}
		all = append(all, page.Tasks...)
		if page.Next == nil {
			return all
		}
		if len(page.Tasks) == 0 {
			e.t.Fatal("Tasks: an empty page with a Next cursor")
		}
		f.After = page.Next
	}
	e.t.Fatal("Tasks: the pages never end")
	return nil
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := taskapi.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// wantField fails the test unless err is EINVALID on field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, taskapi.EINVALID)
	var e *taskapi.Error
	errors.As(err, &e)
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error %v: fields %+v, want one on %q", err, e.Fields, field)
}

// wantNotFound fails the test unless err is ENOTFOUND with message msg.
func wantNotFound(t *testing.T, err error, msg string) {
	t.Helper()
	wantCode(t, err, taskapi.ENOTFOUND)
	if got := taskapi.ErrorMessage(err); got != msg {
		t.Fatalf("error %v: message %q, want %q", err, got, msg)
	}
}

// sameTask fails the test unless got and want agree in every field.
func sameTask(t *testing.T, got, want *taskapi.Task) {
	t.Helper()
	if d := taskDiff(got, want); d != "" {
		t.Fatalf("task %s: %s", want.ID, d)
	}
}

func taskDiff(got, want *taskapi.Task) string {
	var d []string
	diff := func(field string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	diff("ID", got.ID, want.ID)
	diff("UserID", got.UserID, want.UserID)
	diff("ProjectID", str(got.ProjectID), str(want.ProjectID))
	diff("Name", got.Name, want.Name)
	diff("Description", str(got.Description), str(want.Description))
	diff("DueDate", dateStr(got.DueDate), dateStr(want.DueDate))
	diff("CompletedOn", timeStr(got.CompletedOn), timeStr(want.CompletedOn))
	diff("CreatedAt", timeStr(&got.CreatedAt), timeStr(&want.CreatedAt))
	diff("UpdatedAt", timeStr(&got.UpdatedAt), timeStr(&want.UpdatedAt))
	diff("Version", got.Version, want.Version)
	return strings.Join(d, "; ")
}

func sameProject(t *testing.T, got, want *taskapi.Project) {
	t.Helper()
	var d []string
	diff := func(field string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	diff("ID", got.ID, want.ID)
	diff("UserID", got.UserID, want.UserID)
	diff("Name", got.Name, want.Name)
	diff("Description", str(got.Description), str(want.Description))
	diff("CreatedAt", timeStr(&got.CreatedAt), timeStr(&want.CreatedAt))
	diff("UpdatedAt", timeStr(&got.UpdatedAt), timeStr(&want.UpdatedAt))
	diff("Version", got.Version, want.Version)
	if len(d) > 0 {
		t.Fatalf("project %s: %s", want.ID, strings.Join(d, "; "))
	}
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

func dateStr(d *taskapi.Date) string {
	if d == nil {
		return "<nil>"
	}
	return d.String()
}

// timeStr shows an instant in UTC, so equal instants compare equal.
func timeStr(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ids returns the ids of tasks, in order.
func ids(tasks []*taskapi.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

// wantIDs fails the test unless the tasks are exactly want, in order.
func wantIDs(t *testing.T, tasks []*taskapi.Task, want []string) {
	t.Helper()
	if got := ids(tasks); !slices.Equal(got, want) {
		t.Fatalf("tasks\n got %v\nwant %v", got, want)
	}
}
