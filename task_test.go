package taskapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

func ptr[T any](v T) *T { return &v }

// fields returns the field names of an EINVALID error, or nil.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := err.(*taskapi.Error)
	if !ok || e.Code != taskapi.EINVALID {
		t.Fatalf("error %v is not an EINVALID *Error", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestTaskValidate(t *testing.T) {
	// 02:00 UTC on 10 March: in UTC-12 it is still 9 March, so the 9th is
	// "today" somewhere and valid; the 8th is past everywhere.
	now := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	day := func(d int) *taskapi.Date { v := taskapi.NewDate(2026, 3, d); return &v }
	tests := []struct {
		name string
		task taskapi.Task
		want []string
	}{
		{"minimal", taskapi.Task{Name: "a"}, nil},
		{"empty name", taskapi.Task{Name: ""}, []string{"name"}},
		{"blank name", taskapi.Task{Name: " \t\n\u00a0\u2003\u3000"}, []string{"name"}},
		{"name with spaces around", taskapi.Task{Name: "  a  "}, nil},
		{"255 runes", taskapi.Task{Name: strings.Repeat("é", 255)}, nil},
		{"256 runes", taskapi.Task{Name: strings.Repeat("é", 256)}, []string{"name"}},
		{"invalid utf-8", taskapi.Task{Name: "\xff"}, []string{"name"}},
		{"1000-rune description", taskapi.Task{Name: "a", Description: ptr(strings.Repeat("x", 1000))}, nil},
		{"1001-rune description", taskapi.Task{Name: "a", Description: ptr(strings.Repeat("x", 1001))}, []string{"description"}},
		{"due today UTC", taskapi.Task{Name: "a", DueDate: day(10)}, nil},
		{"due today in UTC-12", taskapi.Task{Name: "a", DueDate: day(9)}, nil},
		{"due in the past everywhere", taskapi.Task{Name: "a", DueDate: day(8)}, []string{"due_date"}},
		{"completed now", taskapi.Task{Name: "a", CompletedOn: ptr(now)}, nil},
		{"completed within skew", taskapi.Task{Name: "a", CompletedOn: ptr(now.Add(4 * time.Minute))}, nil},
		{"completed in the future", taskapi.Task{Name: "a", CompletedOn: ptr(now.Add(time.Hour))}, []string{"completed_on"}},
		{"completed in year 0", taskapi.Task{Name: "a", CompletedOn: ptr(time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC))}, []string{"completed_on"}},
		{"completed in year 0 at an offset", taskapi.Task{Name: "a", CompletedOn: ptr(time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)))}, []string{"completed_on"}},
		{"completed in year 1", taskapi.Task{Name: "a", CompletedOn: ptr(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))}, nil},
		{"empty project id", taskapi.Task{Name: "a", ProjectID: ptr("")}, []string{"project_id"}},
		{"every rule at once", taskapi.Task{Name: "", DueDate: day(1), CompletedOn: ptr(now.Add(time.Hour))}, []string{"name", "due_date", "completed_on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fields(t, tt.task.Validate(now))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTaskNormalizeEmptyDescriptionIsNone(t *testing.T) {
	task := taskapi.Task{Name: "a", Description: ptr("")}
	if err := task.Validate(time.Now()); err != nil || task.Description == nil {
		t.Fatalf("Validate: %v, description %v; want valid and unchanged", err, task.Description)
	}
	task.Normalize()
	if task.Description != nil {
		t.Fatalf("description = %q, want none", *task.Description)
	}
}

func TestTaskUpdateValidate(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		upd  taskapi.TaskUpdate
		want []string
	}{
		{"empty", taskapi.TaskUpdate{}, []string{""}},
		{"name", taskapi.TaskUpdate{Name: ptr("b")}, nil},
		{"empty name", taskapi.TaskUpdate{Name: ptr("")}, []string{"name"}},
		{"blank name", taskapi.TaskUpdate{Name: ptr("   ")}, []string{"name"}},
		{"clear description", taskapi.TaskUpdate{Description: taskapi.Null[string]()}, nil},
		{"clear due date", taskapi.TaskUpdate{DueDate: taskapi.Null[taskapi.Date]()}, nil},
		{"past due date", taskapi.TaskUpdate{DueDate: taskapi.Value(taskapi.NewDate(2020, 1, 1))}, []string{"due_date"}},
		{"completed", taskapi.TaskUpdate{Completed: ptr(true)}, nil},
		{"completed with completed_on", taskapi.TaskUpdate{Completed: ptr(true), CompletedOn: taskapi.Value(now)}, []string{"completed"}},
		{"empty project id", taskapi.TaskUpdate{ProjectID: taskapi.Value("")}, []string{"project_id"}},
		{"clear project", taskapi.TaskUpdate{ProjectID: taskapi.Null[string]()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fields(t, tt.upd.Validate(now))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("fields = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTaskUpdateNormalizeEmptyDescriptionClears(t *testing.T) {
	u := taskapi.TaskUpdate{Description: taskapi.Value("")}
	if err := u.Validate(time.Now()); err != nil || !u.Description.Valid {
		t.Fatalf("Validate: %v, description %+v; want valid and unchanged", err, u.Description)
	}
	u.Normalize()
	if !u.Description.Set || u.Description.Valid {
		t.Fatalf("description = %+v, want a clear", u.Description)
	}
}

func TestProjectValidate(t *testing.T) {
	tests := []struct {
		name string
		p    taskapi.Project
		want []string
	}{
		{"ok", taskapi.Project{Name: "p"}, nil},
		{"empty name", taskapi.Project{}, []string{"name"}},
		{"blank name", taskapi.Project{Name: "\u2028 "}, []string{"name"}},
		{"long description", taskapi.Project{Name: "p", Description: ptr(strings.Repeat("x", 1001))}, []string{"description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fields(t, tt.p.Validate())
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("fields = %v, want %v", got, tt.want)
			}
		})
	}
	if got := fields(t, (&taskapi.ProjectUpdate{}).Validate()); len(got) != 1 {
		t.Fatalf("empty project update: fields = %v, want one", got)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"2026-03-10", "2026-03-10", true},
		{"2026-03-10T23:30:00-05:00", "2026-03-10", true}, // the day in its own offset
		{"2026-03-10T00:00:00.000Z", "2026-03-10", true},  // what Prisma sent
		{"2026-02-30", "", false},
		{"10/03/2026", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		d, err := taskapi.ParseDate(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDate(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && d.String() != tt.want {
			t.Errorf("ParseDate(%q) = %s, want %s", tt.in, d, tt.want)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	e := taskapi.Errorf(taskapi.ENOTFOUND, "Task %s", "not found")
	if taskapi.ErrorCode(e) != taskapi.ENOTFOUND || taskapi.ErrorMessage(e) != "Task not found" {
		t.Fatalf("code/message = %q/%q", taskapi.ErrorCode(e), taskapi.ErrorMessage(e))
	}
	plain := strings.NewReader("").UnreadByte() // any non-*Error error
	if taskapi.ErrorCode(plain) != taskapi.EINTERNAL || taskapi.ErrorMessage(plain) != "Internal error" {
		t.Fatalf("internal error leaked: %q/%q", taskapi.ErrorCode(plain), taskapi.ErrorMessage(plain))
	}
	if taskapi.ErrorCode(nil) != "" {
		t.Fatal("nil error has a code")
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := taskapi.NewID()
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestSortField(t *testing.T) {
	tests := []struct {
		f               taskapi.SortField
		valid, nullable bool
	}{
		{taskapi.SortCreatedAt, true, false},
		{taskapi.SortUpdatedAt, true, false},
		{taskapi.SortDueDate, true, true},
		{taskapi.SortName, true, false},
		{taskapi.SortCompletedOn, true, true},
		{"user_id", false, false},
		{"name; DROP TABLE tasks", false, false},
	}
	for _, tt := range tests {
		if tt.f.Valid() != tt.valid || tt.f.Nullable() != tt.nullable {
			t.Errorf("%q: Valid %v Nullable %v, want %v %v", tt.f, tt.f.Valid(), tt.f.Nullable(), tt.valid, tt.nullable)
		}
		if tt.valid && tt.f.Column() != string(tt.f) {
			t.Errorf("%q: Column %q", tt.f, tt.f.Column())
		}
	}
}

func TestTaskSortValue(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	due := taskapi.NewDate(2026, 4, 1)
	full := &taskapi.Task{Name: "n", CreatedAt: at, UpdatedAt: at.Add(time.Second), DueDate: &due, CompletedOn: &at}
	bare := &taskapi.Task{Name: "n", CreatedAt: at, UpdatedAt: at}
	tests := []struct {
		task  *taskapi.Task
		field taskapi.SortField
		want  string // "<nil>" for none
	}{
		{full, taskapi.SortCreatedAt, "2026-03-10T11:00:00.123456789Z"},
		{full, taskapi.SortUpdatedAt, "2026-03-10T11:00:01.123456789Z"},
		{full, taskapi.SortDueDate, "2026-04-01"},
		{full, taskapi.SortName, "n"},
		{full, taskapi.SortCompletedOn, "2026-03-10T11:00:00.123456789Z"},
		{bare, taskapi.SortDueDate, "<nil>"},
		{bare, taskapi.SortCompletedOn, "<nil>"},
		{full, "user_id", "<nil>"},
	}
	for _, tt := range tests {
		got := "<nil>"
		if v := tt.task.SortValue(tt.field); v != nil {
			got = *v
		}
		if got != tt.want {
			t.Errorf("SortValue(%q) = %s, want %s", tt.field, got, tt.want)
		}
	}
}

func TestTaskApply(t *testing.T) {
	created := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	earlier := time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)
	due := taskapi.NewDate(2026, 4, 1)
	base := func() taskapi.Task {
		return taskapi.Task{ID: "t1", UserID: "u", Name: "a", Description: ptr("d"), ProjectID: ptr("p1"),
			CreatedAt: created, UpdatedAt: created, Version: 3}
	}
	done := base()
	done.CompletedOn = &earlier
	tests := []struct {
		name   string
		task   taskapi.Task
		upd    taskapi.TaskUpdate
		check  func(*taskapi.Task) bool
		expect string
	}{
		{"name", base(), taskapi.TaskUpdate{Name: ptr("b")},
			func(t *taskapi.Task) bool { return t.Name == "b" && *t.Description == "d" }, "name b, description kept"},
		{"clear description and project", base(), taskapi.TaskUpdate{Description: taskapi.Null[string](), ProjectID: taskapi.Null[string]()},
			func(t *taskapi.Task) bool { return t.Description == nil && t.ProjectID == nil }, "both cleared"},
		{"due date", base(), taskapi.TaskUpdate{DueDate: taskapi.Value(due)},
			func(t *taskapi.Task) bool { return t.DueDate != nil && *t.DueDate == due }, "due 2026-04-01"},
		{"complete now", base(), taskapi.TaskUpdate{Completed: ptr(true)},
			func(t *taskapi.Task) bool {
				return t.CompletedOn != nil && t.CompletedOn.Equal(now) && t.CompletedOn.Location() == time.UTC
			}, "completed now, in UTC"},
		{"complete a completed task", done, taskapi.TaskUpdate{Completed: ptr(true)},
			func(t *taskapi.Task) bool { return t.CompletedOn.Equal(earlier) }, "its date kept"},
		{"reopen", done, taskapi.TaskUpdate{Completed: ptr(false)},
			func(t *taskapi.Task) bool { return t.CompletedOn == nil }, "no completion"},
		{"completed_on", base(), taskapi.TaskUpdate{CompletedOn: taskapi.Value(earlier.In(time.FixedZone("X", -7200)))},
			func(t *taskapi.Task) bool {
				return t.CompletedOn.Equal(earlier) && t.CompletedOn.Location() == time.UTC
			}, "completed_on in UTC"},
		{"clear completed_on", done, taskapi.TaskUpdate{CompletedOn: taskapi.Null[time.Time]()},
			func(t *taskapi.Task) bool { return t.CompletedOn == nil }, "no completion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task
			task.Apply(tt.upd, now)
			if !tt.check(&task) {
				t.Fatalf("after Apply: %+v; want %s", task, tt.expect)
			}
			if !task.UpdatedAt.Equal(now) || task.UpdatedAt.Location() != time.UTC || task.Version != 3 || !task.CreatedAt.Equal(created) {
				t.Fatalf("UpdatedAt %v, Version %d, CreatedAt %v; want now in UTC, 3, unchanged", task.UpdatedAt, task.Version, task.CreatedAt)
			}
		})
	}
}

func TestProjectApply(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := taskapi.Project{Name: "a", Description: ptr("d"), Version: 2}
	p.Apply(taskapi.ProjectUpdate{Name: ptr("b")}, now)
	if p.Name != "b" || p.Description == nil || !p.UpdatedAt.Equal(now) || p.Version != 2 {
		t.Fatalf("after a rename: %+v", p)
	}
	p.Apply(taskapi.ProjectUpdate{Description: taskapi.Null[string]()}, now)
	if p.Name != "b" || p.Description != nil {
		t.Fatalf("after clearing the description: %+v", p)
	}
}

func TestNewTaskPage(t *testing.T) {
	due := taskapi.NewDate(2030, 1, 2)
	rows := []*taskapi.Task{{ID: "a", DueDate: &due}, {ID: "b"}, {ID: "c"}}
	if p := taskapi.NewTaskPage(nil, 2, taskapi.SortDueDate); p.Tasks == nil || len(p.Tasks) != 0 || p.Next != nil {
		t.Fatalf("empty page: %+v; want a non-nil empty list and no cursor", p)
	}
	if p := taskapi.NewTaskPage(rows[:2], 2, taskapi.SortDueDate); len(p.Tasks) != 2 || p.Next != nil {
		t.Fatalf("exactly limit rows: %+v; want both and no cursor", p)
	}
	p := taskapi.NewTaskPage(rows[:2], 1, taskapi.SortDueDate)
	if len(p.Tasks) != 1 || p.Next == nil || p.Next.ID != "a" || p.Next.Value == nil || *p.Next.Value != "2030-01-02" {
		t.Fatalf("one past the limit: %+v; want the first row and its cursor", p)
	}
	if p := taskapi.NewTaskPage(rows, 2, taskapi.SortDueDate); p.Next == nil || p.Next.ID != "b" || p.Next.Value != nil {
		t.Fatalf("cursor of a row without a due date: %+v; want id b and no value", p.Next)
	}
	created := time.Date(2026, 3, 1, 9, 0, 0, 5, time.UTC)
	pp := taskapi.NewProjectPage([]*taskapi.Project{{ID: "p", CreatedAt: created}, {ID: "q"}}, 1)
	if len(pp.Projects) != 1 || pp.Next == nil || pp.Next.ID != "p" || *pp.Next.Value != "2026-03-01T09:00:00.000000005Z" {
		t.Fatalf("project page: %+v", pp)
	}
}
