package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

var userDataTests = []test{
	{"ExportHasEverythingOfTheUserOnly", func(t *testing.T, e *env) {
		home := e.createProject(alice, "Home")
		e.clock.advance(time.Second)
		work := e.createProject(alice, "Work")
		t1 := e.createTask(task(alice, "in Home", inProject(home.ID), described("d"), due("2026-04-01")))
		e.clock.advance(time.Second)
		t2 := e.createTask(task(alice, "no project", completed(start)))
		// Another user's rows, and the same user id under another
		// issuer, are not the user's.
		e.createProject(bob, "Bob's")
		e.createTask(task(bob, "Bob's task"))
		if err := e.s.ForIssuer(issuerA).CreateTask(e.ctx, task(alice, "Alice of issuer A")); err != nil {
			t.Fatal(err)
		}

		d, err := e.s.UserData(e.ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Projects) != 2 || len(d.Tasks) != 2 {
			t.Fatalf("export: %d projects, %d tasks; want 2 and 2", len(d.Projects), len(d.Tasks))
		}
		sameProject(t, d.Projects[0], e.mustProject(alice, home.ID))
		sameProject(t, d.Projects[1], e.mustProject(alice, work.ID))
		sameTask(t, d.Tasks[0], e.mustTask(alice, t1.ID))
		sameTask(t, d.Tasks[1], e.mustTask(alice, t2.ID))

		empty, err := e.s.UserData(e.ctx, "auth0|nobody")
		if err != nil || empty.Projects == nil || empty.Tasks == nil || len(empty.Projects)+len(empty.Tasks) != 0 {
			t.Errorf("export of a user without rows: %+v, %v; want empty, non-nil lists", empty, err)
		}
	}},
	{"DeleteRemovesEverythingOfTheUserOnly", func(t *testing.T, e *env) {
		home := e.createProject(alice, "Home")
		e.createProject(alice, "Work")
		e.createTask(task(alice, "in Home", inProject(home.ID)))
		e.createTask(task(alice, "loose"))
		e.createTask(task(alice, "another"))
		bobs := e.createTask(task(bob, "Bob's task"))
		bobsProject := e.createProject(bob, "Bob's")
		a := e.s.ForIssuer(issuerA)
		if err := a.CreateTask(e.ctx, task(alice, "Alice of issuer A")); err != nil {
			t.Fatal(err)
		}
		// Saved responses of idempotent writes hold the user's data too.
		saved := &taskapi.SavedResponse{Status: 200, Body: []byte("task in Home")}
		e.release(e.claim(e.s, key(alice, "k1", "a")), saved)
		e.release(e.claim(e.s, key(bob, "k1", "b")), saved)

		got, err := e.s.DeleteUserData(e.ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if got != (taskapi.UserDeletion{Tasks: 3, Projects: 2, IdempotencyKeys: 1}) {
			t.Errorf("deleted %+v, want 3 tasks, 2 projects and 1 idempotency key", got)
		}
		// The key's response is gone: the same request executes again.
		e.release(e.claim(e.s, key(alice, "k1", "a")), nil)
		e.wantReplay(e.s, key(bob, "k1", "b"), saved)
		if d, err := e.s.UserData(e.ctx, alice); err != nil || len(d.Tasks)+len(d.Projects) != 0 {
			t.Errorf("after the delete: %d tasks, %d projects, %v; want none", len(d.Tasks), len(d.Projects), err)
		}
		_, err = e.s.Project(e.ctx, alice, home.ID)
		wantNotFound(t, err, "Project not found")
		// Others keep theirs, unchanged.
		sameTask(t, e.mustTask(bob, bobs.ID), bobs)
		sameProject(t, e.mustProject(bob, bobsProject.ID), bobsProject)
		if d, err := a.UserData(e.ctx, alice); err != nil || len(d.Tasks) != 1 {
			t.Errorf("the user of issuer A: %v tasks, %v; want 1", len(d.Tasks), err)
		}
		// Again: nothing left, no error.
		if got, err := e.s.DeleteUserData(e.ctx, alice); err != nil || got != (taskapi.UserDeletion{}) {
			t.Errorf("second delete: %+v, %v; want nothing deleted and no error", got, err)
		}
		// The user may start again.
		e.createTask(task(alice, "fresh start"))
	}},
	{"CancelledContext", func(t *testing.T, e *env) {
		e.createTask(task(alice, "kept"))
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if _, err := e.s.DeleteUserData(ctx, alice); !errors.Is(err, context.Canceled) {
			t.Errorf("DeleteUserData with a cancelled context: %v", err)
		}
		if _, err := e.s.UserData(ctx, alice); !errors.Is(err, context.Canceled) {
			t.Errorf("UserData with a cancelled context: %v", err)
		}
		if d, err := e.s.UserData(e.ctx, alice); err != nil || len(d.Tasks) != 1 {
			t.Errorf("after a cancelled delete: %v, %v; want the task kept", d, err)
		}
	}},
}
