package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// render is the suite's taskapi.Responder: a response that names what the
// write stored, so a replay tells which write it answers.
func render(v any) (*taskapi.SavedResponse, error) {
	switch v := v.(type) {
	case nil:
		return &taskapi.SavedResponse{Status: 204}, nil
	case *taskapi.Task:
		return &taskapi.SavedResponse{Status: 200, Location: "/tasks/" + v.ID, ETag: fmt.Sprint(v.ID, "-", v.Version), Body: []byte("task " + v.Name)}, nil
	case *taskapi.Project:
		return &taskapi.SavedResponse{Status: 200, Location: "/projects/" + v.ID, ETag: fmt.Sprint(v.ID, "-", v.Version), Body: []byte("project " + v.Name)}, nil
	}
	return nil, fmt.Errorf("render: %T", v)
}

// key returns an idempotency key of user for the request named request.
func key(user, k, request string) taskapi.IdempotencyKey {
	return taskapi.IdempotencyKey{UserID: user, Key: k, Fingerprint: taskapi.Fingerprint("POST", "/"+request, nil)}
}

// claim claims k on s and fails the test unless it gets a claim.
func (e *env) claim(s taskapi.IssuerStore, k taskapi.IdempotencyKey) taskapi.KeyClaim {
	e.t.Helper()
	saved, c, err := s.ClaimKey(e.ctx, k, render)
	if err != nil || saved != nil || c == nil {
		e.t.Fatalf("ClaimKey(%q) = %+v, %v, %v; want a claim", k.Key, saved, c, err)
	}
	return c
}

// release releases c with unchanged and fails the test on error.
func (e *env) release(c taskapi.KeyClaim, unchanged *taskapi.SavedResponse) {
	e.t.Helper()
	if err := c.Release(e.ctx, unchanged); err != nil {
		e.t.Fatalf("Release: %v", err)
	}
}

// wantReplay fails the test unless claiming k on s replays want.
func (e *env) wantReplay(s taskapi.IssuerStore, k taskapi.IdempotencyKey, want *taskapi.SavedResponse) {
	e.t.Helper()
	saved, c, err := s.ClaimKey(e.ctx, k, render)
	if c != nil {
		c.Release(e.ctx, nil)
	}
	if err != nil || saved == nil {
		e.t.Fatalf("ClaimKey(%q) = %+v, %v, %v; want the replay of %+v", k.Key, saved, c, err, want)
	}
	if saved.Status != want.Status || saved.Location != want.Location || saved.ETag != want.ETag || !bytes.Equal(saved.Body, want.Body) {
		e.t.Fatalf("replay of %q = %d %q %q %q, want %d %q %q %q", k.Key, saved.Status, saved.Location, saved.ETag, saved.Body,
			want.Status, want.Location, want.ETag, want.Body)
	}
}

// wantClaimError fails the test unless claiming k on s fails with code.
func (e *env) wantClaimError(s taskapi.IssuerStore, k taskapi.IdempotencyKey, code string) {
	e.t.Helper()
	saved, c, err := s.ClaimKey(e.ctx, k, render)
	if c != nil {
		c.Release(e.ctx, nil)
	}
	if saved != nil || c != nil {
		e.t.Fatalf("ClaimKey(%q) = %+v, %v; want %s", k.Key, saved, c, code)
	}
	wantCode(e.t, err, code)
}

var keyTests = []test{
	{"FirstExecutesRepeatReplays", func(t *testing.T, e *env) {
		k := key(alice, "k1", "create")
		c := e.claim(e.s, k)
		created := task(alice, "once")
		if err := c.Store().CreateTask(e.ctx, created); err != nil {
			t.Fatal(err)
		}
		e.release(c, nil)
		want, _ := render(created)
		e.wantReplay(e.s, k, want)
		e.wantReplay(e.s, k, want) // and again
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 10); len(got) != 1 {
			t.Fatalf("%d tasks, want 1", len(got))
		}
		// The same key for another request is refused, even later.
		e.wantClaimError(e.s, key(alice, "k1", "another"), taskapi.EKEYREUSED)
	}},
	{"EveryWriteSavesItsResponse", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")
		doomed := e.createProject(alice, "Doomed")
		tk := e.createTask(task(alice, "to change"))
		gone := e.createTask(task(alice, "to delete"))
		writes := []struct {
			name  string
			write func(s taskapi.IssuerStore) (any, error)
		}{
			{"CreateTask", func(s taskapi.IssuerStore) (any, error) {
				n := task(alice, "new", inProject(p.ID))
				return n, s.CreateTask(e.ctx, n)
			}},
			{"UpdateTask", func(s taskapi.IssuerStore) (any, error) {
				return s.UpdateTask(e.ctx, alice, tk.ID, taskapi.TaskUpdate{Name: ptr("changed")}, taskapi.Precondition{IfVersion: tk.Version})
			}},
			{"DeleteTask", func(s taskapi.IssuerStore) (any, error) {
				return nil, s.DeleteTask(e.ctx, alice, gone.ID, taskapi.Precondition{})
			}},
			{"CreateProject", func(s taskapi.IssuerStore) (any, error) {
				n := &taskapi.Project{UserID: alice, Name: "new"}
				return n, s.CreateProject(e.ctx, n)
			}},
			{"UpdateProject", func(s taskapi.IssuerStore) (any, error) {
				return s.UpdateProject(e.ctx, alice, p.ID, taskapi.ProjectUpdate{Name: ptr("renamed")}, taskapi.Precondition{})
			}},
			{"DeleteProject", func(s taskapi.IssuerStore) (any, error) {
				return nil, s.DeleteProject(e.ctx, alice, doomed.ID, taskapi.Precondition{})
			}},
		}
		for _, w := range writes {
			k := key(alice, "key-"+w.name, w.name)
			c := e.claim(e.s, k)
			v, err := w.write(c.Store())
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			e.release(c, &taskapi.SavedResponse{Status: 500}) // ignored: the write saved its response
			want, _ := render(v)
			if v == nil {
				want, _ = render(nil)
			}
			e.wantReplay(e.s, k, want)
		}
		if _, err := e.s.Task(e.ctx, alice, gone.ID); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
			t.Fatalf("the deleted task: %v", err)
		}
	}},
	{"InProgressUntilReleased", func(t *testing.T, e *env) {
		k := key(alice, "busy", "create")
		c := e.claim(e.s, k)
		e.wantClaimError(e.s, k, taskapi.EKEYINPROGRESS)
		e.wantClaimError(e.s, key(alice, "busy", "another"), taskapi.EKEYINPROGRESS)
		// Released without a response (the request failed): the next
		// request executes.
		e.release(c, nil)
		c = e.claim(e.s, k)
		e.release(c, nil)
	}},
	{"UnchangedResponseIsSaved", func(t *testing.T, e *env) {
		k := key(alice, "missing", "update")
		c := e.claim(e.s, k)
		_, err := c.Store().UpdateTask(e.ctx, alice, "no-such-task", taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantCode(t, err, taskapi.ENOTFOUND)
		notFound := &taskapi.SavedResponse{Status: 404, Body: []byte(`{"error":"Task not found","code":"ERR_NF"}`)}
		e.release(c, notFound)
		e.wantReplay(e.s, k, notFound)
	}},
	{"ScopedToUserAndIssuer", func(t *testing.T, e *env) {
		c := e.claim(e.s, key(alice, "shared", "create"))
		if err := c.Store().CreateTask(e.ctx, task(alice, "alice's")); err != nil {
			t.Fatal(err)
		}
		// Alice holds the key: bob's and alice-of-issuer-A's are free.
		for _, other := range []struct {
			s    taskapi.IssuerStore
			user string
		}{{e.s, bob}, {e.s.ForIssuer(issuerA), alice}} {
			oc := e.claim(other.s, key(other.user, "shared", "create"))
			n := task(other.user, "theirs")
			if err := oc.Store().CreateTask(e.ctx, n); err != nil {
				t.Fatal(err)
			}
			e.release(oc, nil)
			want, _ := render(n)
			e.wantReplay(other.s, key(other.user, "shared", "create"), want)
		}
		e.release(c, nil)
	}},
	{"ResponseCommitsWithTheChange", func(t *testing.T, e *env) {
		// A response that cannot be rendered fails the write: no task.
		k := key(alice, "unrenderable", "create")
		_, c, err := e.s.ClaimKey(e.ctx, k, func(any) (*taskapi.SavedResponse, error) { return nil, errors.New("cannot render") })
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Store().CreateTask(e.ctx, task(alice, "half-written")); err == nil {
			t.Fatal("CreateTask succeeded without saving its response")
		}
		e.release(c, nil)
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 10); len(got) != 0 {
			t.Fatalf("%d tasks after a write whose response failed, want 0", len(got))
		}
		// A write that fails saves no response: the key is free.
		c = e.claim(e.s, k)
		_, err = c.Store().UpdateTask(e.ctx, alice, "no-such-task", taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{})
		wantCode(t, err, taskapi.ENOTFOUND)
		e.release(c, nil)
		e.release(e.claim(e.s, k), nil)
	}},
	{"ExpireAndPurge", func(t *testing.T, e *env) {
		k := key(alice, "old", "create")
		c := e.claim(e.s, k)
		if err := c.Store().CreateTask(e.ctx, task(alice, "first")); err != nil {
			t.Fatal(err)
		}
		e.release(c, nil)
		if n, err := e.s.PurgeKeys(e.ctx); err != nil || n != 0 {
			t.Fatalf("PurgeKeys before expiry = %d, %v; want 0", n, err)
		}
		e.clock.advance(taskapi.DefaultKeyTTL)
		// Expired: the key is new again, for any request, and its new
		// response replaces the old one.
		c = e.claim(e.s, key(alice, "old", "another"))
		second := task(alice, "second")
		if err := c.Store().CreateTask(e.ctx, second); err != nil {
			t.Fatal(err)
		}
		e.release(c, nil)
		want, _ := render(second)
		e.wantReplay(e.s, key(alice, "old", "another"), want)

		e.release(e.claim(e.s, key(alice, "other", "x")), &taskapi.SavedResponse{Status: 404})
		e.clock.advance(taskapi.DefaultKeyTTL + time.Second)
		if n, err := e.s.PurgeKeys(e.ctx); err != nil || n != 2 {
			t.Fatalf("PurgeKeys after expiry = %d, %v; want 2", n, err)
		}
		e.release(e.claim(e.s, key(alice, "old", "create")), nil)
	}},
	{"ConcurrentClaimsExecuteOnce", func(t *testing.T, e *env) {
		k := key(alice, "race", "create")
		const n = 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		executed, busy, replayed := 0, 0, 0
		for range n {
			wg.Go(func() {
				saved, c, err := e.s.ClaimKey(e.ctx, k, render)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case taskapi.ErrorCode(err) == taskapi.EKEYINPROGRESS:
					busy++
				case err != nil:
					t.Error(err)
				case saved != nil:
					replayed++
				default:
					mu.Unlock()
					err := c.Store().CreateTask(e.ctx, task(alice, "raced"))
					c.Release(e.ctx, nil)
					mu.Lock()
					if err != nil {
						t.Error(err)
					}
					executed++
				}
			})
		}
		wg.Wait()
		if executed != 1 || executed+busy+replayed != n {
			t.Fatalf("executed %d, in progress %d, replayed %d; want 1 executed of %d", executed, busy, replayed, n)
		}
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 100); len(got) != 1 {
			t.Fatalf("%d tasks, want 1", len(got))
		}
	}},
}

// keyLimitTests run with testLimits: a user holds at most
// testLimits.IdempotencyKeys keys.
var keyLimitTests = []test{
	{"KeyCap", func(t *testing.T, e *env) {
		for i := range testLimits.IdempotencyKeys {
			e.release(e.claim(e.s, key(alice, fmt.Sprint("k", i), "x")), &taskapi.SavedResponse{Status: 404})
		}
		e.wantClaimError(e.s, key(alice, "one too many", "x"), taskapi.ELIMIT)
		// Held keys still replay; other users are not affected.
		e.wantReplay(e.s, key(alice, "k0", "x"), &taskapi.SavedResponse{Status: 404})
		e.release(e.claim(e.s, key(bob, "k", "x")), nil)
		// Once the keys expire, there is room again.
		e.clock.advance(taskapi.DefaultKeyTTL)
		e.release(e.claim(e.s, key(alice, "one too many", "x")), nil)
	}},
}
