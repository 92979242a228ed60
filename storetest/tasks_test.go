package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

var taskTests = []test{
	{"CreateGeneratesID", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")
		done := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.FixedZone("CET", 3600))
		in := task(alice, "Buy milk", inProject(p.ID), described("two litres"), due("2026-04-01"), completed(done))
		e.createTask(in)
		if in.ID == "" {
			t.Fatal("CreateTask left the ID empty")
		}
		if !in.CreatedAt.Equal(start) || !in.UpdatedAt.Equal(start) || in.Version != 1 {
			t.Fatalf("CreateTask set created %v, updated %v, version %d; want %v, %v, 1 (does the store read storetest.Now?)",
				in.CreatedAt, in.UpdatedAt, in.Version, start, start)
		}
		want := &taskapi.Task{ID: in.ID, UserID: alice, ProjectID: &p.ID, Name: "Buy milk", Description: ptr("two litres"),
			DueDate: ptr(date("2026-04-01")), CompletedOn: &done, CreatedAt: start, UpdatedAt: start, Version: 1}
		sameTask(t, in, want)
		sameTask(t, e.mustTask(alice, in.ID), want)

		other := e.createTask(task(alice, "Walk the dog"))
		if other.ID == in.ID {
			t.Fatalf("two tasks got the same id %q", in.ID)
		}
		sameTask(t, e.mustTask(alice, other.ID), &taskapi.Task{ID: other.ID, UserID: alice, Name: "Walk the dog",
			CreatedAt: start, UpdatedAt: start, Version: 1})
	}},
	{"CreateKeepsPresetID", func(t *testing.T, e *env) {
		in := e.createTask(task(alice, "Preset", withID("client-chosen-id")))
		if in.ID != "client-chosen-id" {
			t.Fatalf("ID = %q, want the preset one", in.ID)
		}
		e.mustTask(alice, "client-chosen-id")
	}},
	{"CreateDuplicateIDConflicts", func(t *testing.T, e *env) {
		first := e.createTask(task(alice, "First", withID("dup")))
		for _, user := range []string{alice, bob} {
			err := e.s.CreateTask(e.ctx, task(user, "Second", withID("dup")))
			wantCode(t, err, taskapi.ECONFLICT)
		}
		sameTask(t, e.mustTask(alice, "dup"), first)
		if got := e.allTasks(taskapi.TaskFilter{UserID: bob}, 10); len(got) != 0 {
			t.Fatalf("bob has %d tasks after a conflict, want 0", len(got))
		}
	}},
	{"CreateProjectMustBeOwn", func(t *testing.T, e *env) {
		bobs := e.createProject(bob, "Bob's")
		for _, pid := range []string{bobs.ID, "no-such-project"} {
			err := e.s.CreateTask(e.ctx, task(alice, "Sneaky", inProject(pid)))
			wantField(t, err, "project_id")
		}
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 10); len(got) != 0 {
			t.Fatalf("alice has %d tasks after refused creates, want 0", len(got))
		}
		if got := e.allTasks(taskapi.TaskFilter{UserID: bob, Project: taskapi.ProjectFilter{ID: bobs.ID}}, 10); len(got) != 0 {
			t.Fatalf("bob's project has %d tasks, want 0", len(got))
		}
	}},
	{"GetIsolation", func(t *testing.T, e *env) {
		bobs := e.createTask(task(bob, "Bob's task"))
		_, err := e.s.Task(e.ctx, alice, bobs.ID)
		wantNotFound(t, err, "Task not found")
		_, err = e.s.Task(e.ctx, alice, "no-such-task")
		wantNotFound(t, err, "Task not found")
		_, err = e.s.Task(e.ctx, bob, "")
		wantNotFound(t, err, "Task not found")
		sameTask(t, e.mustTask(bob, bobs.ID), bobs)
	}},
	{"Update", testUpdateTask},
	{"UpdateIsolation", func(t *testing.T, e *env) {
		bobs := e.createTask(task(bob, "Bob's task"))
		e.clock.advance(time.Second)
		_, err := e.s.UpdateTask(e.ctx, alice, bobs.ID, taskapi.TaskUpdate{Name: ptr("mine now")}, taskapi.Precondition{})
		wantNotFound(t, err, "Task not found")
		_, err = e.s.UpdateTask(e.ctx, alice, bobs.ID, taskapi.TaskUpdate{Completed: ptr(true)}, taskapi.Precondition{IfVersion: 1})
		wantNotFound(t, err, "Task not found")
		_, err = e.s.UpdateTask(e.ctx, alice, "no-such-task", taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantNotFound(t, err, "Task not found")
		sameTask(t, e.mustTask(bob, bobs.ID), bobs)
	}},
	{"UpdatePrecondition", func(t *testing.T, e *env) {
		in := e.createTask(task(alice, "Original"))
		e.clock.advance(time.Second)
		for _, v := range []int64{2, 7, -1} {
			_, err := e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("lost")}, taskapi.Precondition{IfVersion: v})
			wantCode(t, err, taskapi.EPRECONDITION)
		}
		sameTask(t, e.mustTask(alice, in.ID), in)
		got, err := e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("kept")}, taskapi.Precondition{IfVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.Name != "kept" {
			t.Fatalf("after a matching IfVersion: version %d, name %q", got.Version, got.Name)
		}
		_, err = e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("stale")}, taskapi.Precondition{IfVersion: 1})
		wantCode(t, err, taskapi.EPRECONDITION)
		sameTask(t, e.mustTask(alice, in.ID), got)
	}},
	{"UpdateProjectMustBeOwn", func(t *testing.T, e *env) {
		own := e.createProject(alice, "Own")
		bobs := e.createProject(bob, "Bob's")
		in := e.createTask(task(alice, "Task", inProject(own.ID)))
		e.clock.advance(time.Second)
		for _, pid := range []string{bobs.ID, "no-such-project"} {
			_, err := e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("moved"), ProjectID: taskapi.Value(pid)}, taskapi.Precondition{})
			wantField(t, err, "project_id")
		}
		sameTask(t, e.mustTask(alice, in.ID), in)
	}},
	{"Delete", func(t *testing.T, e *env) {
		keep := e.createTask(task(alice, "Keep"))
		gone := e.createTask(task(alice, "Gone"))
		bobs := e.createTask(task(bob, "Bob's"))
		wantNotFound(t, e.s.DeleteTask(e.ctx, alice, bobs.ID, taskapi.Precondition{}), "Task not found")
		wantNotFound(t, e.s.DeleteTask(e.ctx, alice, "no-such-task", taskapi.Precondition{}), "Task not found")
		wantCode(t, e.s.DeleteTask(e.ctx, alice, gone.ID, taskapi.Precondition{IfVersion: 2}), taskapi.EPRECONDITION)
		sameTask(t, e.mustTask(alice, gone.ID), gone)
		if err := e.s.DeleteTask(e.ctx, alice, gone.ID, taskapi.Precondition{IfVersion: 1}); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.Task(e.ctx, alice, gone.ID)
		wantNotFound(t, err, "Task not found")
		wantNotFound(t, e.s.DeleteTask(e.ctx, alice, gone.ID, taskapi.Precondition{}), "Task not found")
		if err := e.s.DeleteTask(e.ctx, alice, keep.ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 10); len(got) != 0 {
			t.Fatalf("alice has %d tasks after deleting both, want 0", len(got))
		}
		sameTask(t, e.mustTask(bob, bobs.ID), bobs)
	}},
	{"CancelledContext", func(t *testing.T, e *env) {
		in := e.createTask(task(alice, "Task"))
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		_, err := e.s.Task(ctx, alice, in.ID)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Task with a cancelled context: %v, want context.Canceled", err)
		}
		_, err = e.s.UpdateTask(ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("UpdateTask with a cancelled context: %v, want context.Canceled", err)
		}
		sameTask(t, e.mustTask(alice, in.ID), in)
	}},
}

// testUpdateTask checks every field of a partial update: the fields it sets
// change, the others stay, Version grows by one and UpdatedAt moves to now.
func testUpdateTask(t *testing.T, e *env) {
	home := e.createProject(alice, "Home")
	work := e.createProject(alice, "Work")
	doneBefore := start.Add(-time.Hour)
	given := time.Date(2026, 3, 10, 9, 0, 0, 500000000, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name   string
		before []func(*taskapi.Task)
		update taskapi.TaskUpdate
		want   func(t *taskapi.Task, now time.Time)
	}{
		{"name", nil, taskapi.TaskUpdate{Name: ptr("Renamed")},
			func(t *taskapi.Task, _ time.Time) { t.Name = "Renamed" }},
		{"set description", nil, taskapi.TaskUpdate{Description: taskapi.Value("new words")},
			func(t *taskapi.Task, _ time.Time) { t.Description = ptr("new words") }},
		{"clear description", []func(*taskapi.Task){described("old words")}, taskapi.TaskUpdate{Description: taskapi.Null[string]()},
			func(t *taskapi.Task, _ time.Time) { t.Description = nil }},
		{"set project", nil, taskapi.TaskUpdate{ProjectID: taskapi.Value(home.ID)},
			func(t *taskapi.Task, _ time.Time) { t.ProjectID = &home.ID }},
		{"move project", []func(*taskapi.Task){inProject(home.ID)}, taskapi.TaskUpdate{ProjectID: taskapi.Value(work.ID)},
			func(t *taskapi.Task, _ time.Time) { t.ProjectID = &work.ID }},
		{"clear project", []func(*taskapi.Task){inProject(home.ID)}, taskapi.TaskUpdate{ProjectID: taskapi.Null[string]()},
			func(t *taskapi.Task, _ time.Time) { t.ProjectID = nil }},
		{"set due date", nil, taskapi.TaskUpdate{DueDate: taskapi.Value(date("2026-12-31"))},
			func(t *taskapi.Task, _ time.Time) { t.DueDate = ptr(date("2026-12-31")) }},
		{"clear due date", []func(*taskapi.Task){due("2026-05-01")}, taskapi.TaskUpdate{DueDate: taskapi.Null[taskapi.Date]()},
			func(t *taskapi.Task, _ time.Time) { t.DueDate = nil }},
		{"set completed_on", nil, taskapi.TaskUpdate{CompletedOn: taskapi.Value(given)},
			func(t *taskapi.Task, _ time.Time) { t.CompletedOn = &given }},
		{"clear completed_on", []func(*taskapi.Task){completed(doneBefore)}, taskapi.TaskUpdate{CompletedOn: taskapi.Null[time.Time]()},
			func(t *taskapi.Task, _ time.Time) { t.CompletedOn = nil }},
		{"complete an open task", nil, taskapi.TaskUpdate{Completed: ptr(true)},
			func(t *taskapi.Task, now time.Time) { t.CompletedOn = &now }},
		{"complete a completed task keeps its date", []func(*taskapi.Task){completed(doneBefore)}, taskapi.TaskUpdate{Completed: ptr(true)},
			func(t *taskapi.Task, _ time.Time) {}},
		{"reopen", []func(*taskapi.Task){completed(doneBefore)}, taskapi.TaskUpdate{Completed: ptr(false)},
			func(t *taskapi.Task, _ time.Time) { t.CompletedOn = nil }},
		{"reopen an open task", nil, taskapi.TaskUpdate{Completed: ptr(false)},
			func(t *taskapi.Task, _ time.Time) {}},
		{"several fields", []func(*taskapi.Task){described("old"), due("2026-05-01"), inProject(home.ID)},
			taskapi.TaskUpdate{Name: ptr("All"), Description: taskapi.Null[string](), DueDate: taskapi.Value(date("2027-01-01")), Completed: ptr(true)},
			func(t *taskapi.Task, now time.Time) {
				t.Name, t.Description, t.DueDate, t.CompletedOn = "All", nil, ptr(date("2027-01-01")), &now
			}},
	}
	for _, tc := range tests {
		// Every case starts from a task with all the untouched fields set,
		// so a store that clears or overwrites the wrong column fails.
		mods := append([]func(*taskapi.Task){described("desc"), due("2026-06-01"), inProject(work.ID)}, tc.before...)
		before := e.createTask(task(alice, "Task "+tc.name, mods...))
		now := e.clock.advance(time.Minute)
		got, err := e.s.UpdateTask(e.ctx, alice, before.ID, tc.update, taskapi.Precondition{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := *before
		tc.want(&want, now)
		want.UpdatedAt = now
		want.Version = 2
		if d := taskDiff(got, &want); d != "" {
			t.Errorf("%s: returned %s", tc.name, d)
		}
		if d := taskDiff(e.mustTask(alice, before.ID), &want); d != "" {
			t.Errorf("%s: stored %s", tc.name, d)
		}
	}

	// Versions keep counting.
	in := e.createTask(task(alice, "Counted"))
	for v := int64(2); v <= 4; v++ {
		now := e.clock.advance(time.Second)
		got, err := e.s.UpdateTask(e.ctx, alice, in.ID, taskapi.TaskUpdate{Name: ptr("Counted again")}, taskapi.Precondition{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != v || !got.UpdatedAt.Equal(now) || !got.CreatedAt.Equal(in.CreatedAt) {
			t.Fatalf("update %d: version %d, updated %v, created %v", v-1, got.Version, got.UpdatedAt, got.CreatedAt)
		}
	}
}

// invalidUTF8Tests: an id or filter that is not valid UTF-8 (a path such as
// /tasks/%ff) names nothing, in every store: not found, or an empty list,
// never an internal error.
var invalidUTF8Tests = []test{
	{"InvalidUTF8MatchesNothing", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")
		e.createTask(task(alice, "Buy milk", inProject(p.ID)))
		const bad = "\xff\xfe"
		wantNotFound := func(what string, err error, msg string) {
			t.Helper()
			var apiErr *taskapi.Error
			if !errors.As(err, &apiErr) || apiErr.Code != taskapi.ENOTFOUND || apiErr.Message != msg {
				t.Errorf("%s: %v; want ENOTFOUND %q", what, err, msg)
			}
		}
		_, err := e.s.Task(e.ctx, alice, bad)
		wantNotFound("Task", err, "Task not found")
		_, err = e.s.UpdateTask(e.ctx, alice, bad, taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantNotFound("UpdateTask", err, "Task not found")
		wantNotFound("DeleteTask", e.s.DeleteTask(e.ctx, alice, bad, taskapi.Precondition{}), "Task not found")
		_, err = e.s.Project(e.ctx, alice, bad)
		wantNotFound("Project", err, "Project not found")
		_, err = e.s.UpdateProject(e.ctx, alice, bad, taskapi.ProjectUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantNotFound("UpdateProject", err, "Project not found")
		wantNotFound("DeleteProject", e.s.DeleteProject(e.ctx, alice, bad, taskapi.Precondition{}), "Project not found")
		_, err = e.s.Task(e.ctx, bad, "any")
		wantNotFound("Task of a user id that is not UTF-8", err, "Task not found")

		for _, f := range []taskapi.TaskFilter{
			{UserID: alice, Limit: 10, Project: taskapi.ProjectFilter{ID: bad}},
			{UserID: bad, Limit: 10},
		} {
			page, err := e.s.Tasks(e.ctx, f)
			if err != nil || len(page.Tasks) != 0 || page.Next != nil {
				t.Errorf("Tasks(%+v) = %+v, %v; want an empty page", f, page, err)
			}
		}
		page, err := e.s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: bad, Limit: 10})
		if err != nil || len(page.Projects) != 0 {
			t.Errorf("Projects of a user id that is not UTF-8 = %+v, %v; want an empty page", page, err)
		}
		if err := e.s.CreateTask(e.ctx, task(alice, "In no project", inProject(bad))); taskapi.ErrorCode(err) != taskapi.EINVALID {
			t.Errorf("CreateTask with a project_id that is not UTF-8: %v; want EINVALID", err)
		}
	}},
}
