package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

var projectTests = []test{
	{"Create", func(t *testing.T, e *env) {
		in := &taskapi.Project{UserID: alice, Name: "Home", Description: ptr("chores")}
		if err := e.s.CreateProject(e.ctx, in); err != nil {
			t.Fatal(err)
		}
		if in.ID == "" {
			t.Fatal("CreateProject left the ID empty")
		}
		want := &taskapi.Project{ID: in.ID, UserID: alice, Name: "Home", Description: ptr("chores"),
			CreatedAt: start, UpdatedAt: start, Version: 1}
		sameProject(t, in, want)
		sameProject(t, e.mustProject(alice, in.ID), want)
		if other := e.createProject(alice, "Work"); other.ID == in.ID || other.Description != nil {
			t.Fatalf("second project: id %q (first %q), description %v", other.ID, in.ID, other.Description)
		}
	}},
	{"CreatePresetAndDuplicateID", func(t *testing.T, e *env) {
		in := &taskapi.Project{ID: "my-project", UserID: alice, Name: "Mine"}
		if err := e.s.CreateProject(e.ctx, in); err != nil {
			t.Fatal(err)
		}
		if in.ID != "my-project" {
			t.Fatalf("ID = %q, want the preset one", in.ID)
		}
		for _, user := range []string{alice, bob} {
			err := e.s.CreateProject(e.ctx, &taskapi.Project{ID: "my-project", UserID: user, Name: "Again"})
			wantCode(t, err, taskapi.ECONFLICT)
		}
		sameProject(t, e.mustProject(alice, "my-project"), in)
		_, err := e.s.Project(e.ctx, bob, "my-project")
		wantNotFound(t, err, "Project not found")
	}},
	{"GetIsolation", func(t *testing.T, e *env) {
		bobs := e.createProject(bob, "Bob's")
		_, err := e.s.Project(e.ctx, alice, bobs.ID)
		wantNotFound(t, err, "Project not found")
		_, err = e.s.Project(e.ctx, alice, "no-such-project")
		wantNotFound(t, err, "Project not found")
	}},
	{"Update", func(t *testing.T, e *env) {
		in := &taskapi.Project{UserID: alice, Name: "Home", Description: ptr("chores")}
		if err := e.s.CreateProject(e.ctx, in); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			update taskapi.ProjectUpdate
			apply  func(p *taskapi.Project)
		}{
			{taskapi.ProjectUpdate{Name: ptr("House")}, func(p *taskapi.Project) { p.Name = "House" }},
			{taskapi.ProjectUpdate{Description: taskapi.Null[string]()}, func(p *taskapi.Project) { p.Description = nil }},
			{taskapi.ProjectUpdate{Description: taskapi.Value("garden")}, func(p *taskapi.Project) { p.Description = ptr("garden") }},
			{taskapi.ProjectUpdate{Name: ptr("Both"), Description: taskapi.Value("b")}, func(p *taskapi.Project) { p.Name, p.Description = "Both", ptr("b") }},
		}
		want := *in
		for i, s := range steps {
			now := e.clock.advance(time.Minute)
			got, err := e.s.UpdateProject(e.ctx, alice, in.ID, s.update, taskapi.Precondition{})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			s.apply(&want)
			want.UpdatedAt = now
			want.Version++
			sameProject(t, got, &want)
			sameProject(t, e.mustProject(alice, in.ID), &want)
		}
	}},
	{"UpdateIsolationAndPrecondition", func(t *testing.T, e *env) {
		bobs := e.createProject(bob, "Bob's")
		e.clock.advance(time.Second)
		_, err := e.s.UpdateProject(e.ctx, alice, bobs.ID, taskapi.ProjectUpdate{Name: ptr("mine")}, taskapi.Precondition{})
		wantNotFound(t, err, "Project not found")
		_, err = e.s.UpdateProject(e.ctx, alice, "no-such-project", taskapi.ProjectUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantNotFound(t, err, "Project not found")
		_, err = e.s.UpdateProject(e.ctx, bob, bobs.ID, taskapi.ProjectUpdate{Name: ptr("stale")}, taskapi.Precondition{IfVersion: 2})
		wantCode(t, err, taskapi.EPRECONDITION)
		sameProject(t, e.mustProject(bob, bobs.ID), bobs)
		got, err := e.s.UpdateProject(e.ctx, bob, bobs.ID, taskapi.ProjectUpdate{Name: ptr("fresh")}, taskapi.Precondition{IfVersion: 1})
		if err != nil || got.Version != 2 {
			t.Fatalf("matching IfVersion: %v, version %v", err, got)
		}
	}},
	{"DeleteUnlinksTasks", func(t *testing.T, e *env) {
		home := e.createProject(alice, "Home")
		work := e.createProject(alice, "Work")
		bobs := e.createProject(bob, "Bob's")
		inHome := []*taskapi.Task{e.createTask(task(alice, "h1", inProject(home.ID))), e.createTask(task(alice, "h2", inProject(home.ID)))}
		inWork := e.createTask(task(alice, "w1", inProject(work.ID)))
		loose := e.createTask(task(alice, "loose"))
		bobsTask := e.createTask(task(bob, "b1", inProject(bobs.ID)))
		// Raise one version, so the test sees +1 rather than "= 2".
		updated, err := e.s.UpdateTask(e.ctx, alice, inHome[1].ID, taskapi.TaskUpdate{Name: ptr("h2'")}, taskapi.Precondition{})
		if err != nil {
			t.Fatal(err)
		}
		inHome[1] = updated

		now := e.clock.advance(time.Hour)
		wantNotFound(t, e.s.DeleteProject(e.ctx, alice, bobs.ID, taskapi.Precondition{}), "Project not found")
		wantNotFound(t, e.s.DeleteProject(e.ctx, alice, "no-such-project", taskapi.Precondition{}), "Project not found")
		wantCode(t, e.s.DeleteProject(e.ctx, alice, home.ID, taskapi.Precondition{IfVersion: 2}), taskapi.EPRECONDITION)
		for _, before := range append(inHome, inWork, loose) {
			sameTask(t, e.mustTask(alice, before.ID), before)
		}
		sameProject(t, e.mustProject(alice, home.ID), home)

		if err := e.s.DeleteProject(e.ctx, alice, home.ID, taskapi.Precondition{IfVersion: 1}); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.Project(e.ctx, alice, home.ID)
		wantNotFound(t, err, "Project not found")
		wantNotFound(t, e.s.DeleteProject(e.ctx, alice, home.ID, taskapi.Precondition{}), "Project not found")
		for _, before := range inHome {
			want := *before
			want.ProjectID = nil
			want.Version++
			want.UpdatedAt = now
			sameTask(t, e.mustTask(alice, before.ID), &want)
		}
		sameTask(t, e.mustTask(alice, inWork.ID), inWork)
		sameTask(t, e.mustTask(alice, loose.ID), loose)
		sameTask(t, e.mustTask(bob, bobsTask.ID), bobsTask)
		sameProject(t, e.mustProject(bob, bobs.ID), bobs)
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice, Project: taskapi.ProjectFilter{None: true}}, 10); len(got) != 3 {
			t.Fatalf("alice has %d tasks without a project, want 3", len(got))
		}
	}},
	{"List", func(t *testing.T, e *env) {
		var want []string
		for i := range 7 {
			want = append(want, e.createProject(alice, "P").ID)
			e.createProject(bob, "B")
			if i%3 == 0 { // some share a created_at, so the id breaks the tie
				e.clock.advance(time.Millisecond)
			}
		}
		// Order: created_at, then id.
		slices.SortStableFunc(want, func(a, b string) int {
			pa, pb := e.mustProject(alice, a), e.mustProject(alice, b)
			if c := pa.CreatedAt.Compare(pb.CreatedAt); c != 0 {
				return c
			}
			return compareBytes(a, b)
		})
		for _, limit := range []int{1, 2, 3, 7, 8, 100} {
			var got []string
			f := taskapi.ProjectListFilter{UserID: alice, Limit: limit}
			for {
				page, err := e.s.Projects(e.ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Projects) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(page.Projects))
				}
				for _, p := range page.Projects {
					if p.UserID != alice {
						t.Fatalf("limit %d: listed %s of %s", limit, p.ID, p.UserID)
					}
					got = append(got, p.ID)
				}
				if page.Next == nil {
					break
				}
				f.After = page.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d:\n got %v\nwant %v", limit, got, want)
			}
		}
		page, err := e.s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: "nobody", Limit: 5})
		if err != nil || len(page.Projects) != 0 || page.Next != nil {
			t.Fatalf("a user without projects: %v, %+v", err, page)
		}
		_, err = e.s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: alice, Limit: 0})
		wantCode(t, err, taskapi.EBADREQUEST)
	}},
}

// compareBytes orders strings byte by byte, as stores must order ids and
// names.
func compareBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
