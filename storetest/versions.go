package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// listVersionTests check taskapi.ListVersioner, on stores that implement
// it (the others skip them): a user's version is 0 until the user writes,
// grows with every committed write of the user, and with nothing else, and
// a list read after the version was v holds every change up to v.
var listVersionTests = []test{
	{"NewUserIsZeroAndReadsKeepIt", testListVersionReads},
	{"EveryWriteBumpsFailedOnesDoNot", testListVersionWrites},
	{"OtherUsersUnaffected", testListVersionIsolation},
	{"ReadAfterVersion", testListVersionReadAfter},
	{"ConcurrentWrites", testListVersionConcurrent},
}

// versioner returns the store as a ListVersioner, or skips the test.
func (e *env) versioner() taskapi.ListVersioner {
	e.t.Helper()
	lv, ok := e.s.(taskapi.ListVersioner)
	if !ok {
		e.t.Skipf("%T does not implement taskapi.ListVersioner", e.s)
	}
	return lv
}

// listVersion reads user's version and fails the test on error.
func (e *env) listVersion(lv taskapi.ListVersioner, user string) int64 {
	e.t.Helper()
	v, err := lv.ListVersion(e.ctx, user)
	if err != nil {
		e.t.Fatalf("ListVersion(%s): %v", user, err)
	}
	if v < 0 {
		e.t.Fatalf("ListVersion(%s) = %d, want >= 0", user, v)
	}
	return v
}

func testListVersionReads(t *testing.T, e *env) {
	lv := e.versioner()
	for _, user := range []string{alice, bob, "never|seen"} {
		if v := e.listVersion(lv, user); v != 0 {
			t.Fatalf("new user %s: version %d, want 0", user, v)
		}
	}
	// Reads of a user who has never written leave the version at 0.
	if _, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: alice, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if v := e.listVersion(lv, alice); v != 0 {
		t.Fatalf("after reads of an empty account: version %d, want 0", v)
	}

	p := e.createProject(alice, "Home")
	tk := e.createTask(task(alice, "Buy milk", inProject(p.ID)))
	v := e.listVersion(lv, alice)
	if v == 0 {
		t.Fatal("version 0 after alice wrote")
	}
	reads := []struct {
		name string
		read func() error
	}{
		{"Task", func() error { _, err := e.s.Task(e.ctx, alice, tk.ID); return err }},
		{"Task missing", func() error {
			_, err := e.s.Task(e.ctx, alice, "no-such-task")
			wantNotFound(t, err, "Task not found")
			return nil
		}},
		{"Tasks", func() error { _, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Limit: 10}); return err }},
		{"Tasks of project", func() error {
			_, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Project: taskapi.ProjectFilter{ID: p.ID}, Search: "milk", Limit: 1})
			return err
		}},
		{"Project", func() error { _, err := e.s.Project(e.ctx, alice, p.ID); return err }},
		{"Project missing", func() error {
			_, err := e.s.Project(e.ctx, alice, "no-such-project")
			wantNotFound(t, err, "Project not found")
			return nil
		}},
		{"Projects", func() error {
			_, err := e.s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: alice, Limit: 10})
			return err
		}},
		{"ListVersion", func() error { _, err := lv.ListVersion(e.ctx, alice); return err }},
	}
	for _, r := range reads {
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if got := e.listVersion(lv, alice); got != v {
			t.Fatalf("%s changed the version from %d to %d", r.name, v, got)
		}
	}
	if got := e.listVersion(lv, bob); got != 0 {
		t.Fatalf("bob's version %d after alice's writes, want 0", got)
	}
}

func testListVersionWrites(t *testing.T, e *env) {
	lv := e.versioner()
	// Bob's rows, for the writes of alice that must find them not hers.
	bobsProject := e.createProject(bob, "Bob's")
	bobsTask := e.createTask(task(bob, "Bob's task", inProject(bobsProject.ID)))

	// The steps run in order on one store; ids carries what a step
	// created to the later ones.
	ids := map[string]string{}
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	steps := []struct {
		name  string
		write func() error
		code  string // the error code the write must fail with ("canceled": context.Canceled); "" for success, which must bump
	}{
		{"CreateProject", func() error {
			p := &taskapi.Project{UserID: alice, Name: "Home"}
			err := e.s.CreateProject(e.ctx, p)
			ids["project"] = p.ID
			return err
		}, ""},
		{"CreateProject other", func() error {
			p := &taskapi.Project{UserID: alice, Name: "Work"}
			err := e.s.CreateProject(e.ctx, p)
			ids["other project"] = p.ID
			return err
		}, ""},
		{"CreateTask", func() error {
			tk := task(alice, "Loose")
			err := e.s.CreateTask(e.ctx, tk)
			ids["task"] = tk.ID
			return err
		}, ""},
		{"CreateTask in project", func() error {
			tk := task(alice, "In project", inProject(ids["project"]))
			err := e.s.CreateTask(e.ctx, tk)
			ids["task in project"] = tk.ID
			return err
		}, ""},
		{"CreateTask in project again", func() error {
			return e.s.CreateTask(e.ctx, task(alice, "Also in project", inProject(ids["project"]), withID("second-in-project")))
		}, ""},
		{"CreateTask duplicate id", func() error {
			return e.s.CreateTask(e.ctx, task(alice, "Again", withID(ids["task"])))
		}, taskapi.ECONFLICT},
		{"CreateTask id of bob's", func() error {
			return e.s.CreateTask(e.ctx, task(alice, "Again", withID(bobsTask.ID)))
		}, taskapi.ECONFLICT},
		{"CreateTask in bob's project", func() error {
			return e.s.CreateTask(e.ctx, task(alice, "Sneaky", inProject(bobsProject.ID)))
		}, taskapi.EINVALID},
		{"CreateTask cancelled", func() error {
			return e.s.CreateTask(cancelled, task(alice, "Too late"))
		}, "canceled"},
		{"UpdateTask", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{Name: ptr("Renamed")}, taskapi.Precondition{})
			return err
		}, ""},
		{"UpdateTask into project", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{ProjectID: taskapi.Value(ids["other project"])}, taskapi.Precondition{})
			return err
		}, ""},
		{"UpdateTask with its version", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{Completed: ptr(true)},
				taskapi.Precondition{IfVersion: e.mustTask(alice, ids["task"]).Version})
			return err
		}, ""},
		{"UpdateTask no change", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{}, taskapi.Precondition{})
			return err
		}, ""}, // a new Version and UpdatedAt: a change the list shows
		{"UpdateTask stale version", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{Name: ptr("Stale")}, taskapi.Precondition{IfVersion: 1})
			return err
		}, taskapi.EPRECONDITION},
		{"UpdateTask missing", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, "no-such-task", taskapi.TaskUpdate{Name: ptr("Ghost")}, taskapi.Precondition{})
			return err
		}, taskapi.ENOTFOUND},
		{"UpdateTask bob's", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, bobsTask.ID, taskapi.TaskUpdate{Name: ptr("Mine")}, taskapi.Precondition{})
			return err
		}, taskapi.ENOTFOUND},
		{"UpdateTask into bob's project", func() error {
			_, err := e.s.UpdateTask(e.ctx, alice, ids["task"], taskapi.TaskUpdate{ProjectID: taskapi.Value(bobsProject.ID)}, taskapi.Precondition{})
			return err
		}, taskapi.EINVALID},
		{"UpdateProject", func() error {
			_, err := e.s.UpdateProject(e.ctx, alice, ids["project"], taskapi.ProjectUpdate{Name: ptr("House")}, taskapi.Precondition{})
			return err
		}, ""},
		{"UpdateProject stale version", func() error {
			_, err := e.s.UpdateProject(e.ctx, alice, ids["project"], taskapi.ProjectUpdate{Name: ptr("Stale")}, taskapi.Precondition{IfVersion: 1})
			return err
		}, taskapi.EPRECONDITION},
		{"UpdateProject bob's", func() error {
			_, err := e.s.UpdateProject(e.ctx, alice, bobsProject.ID, taskapi.ProjectUpdate{Name: ptr("Mine")}, taskapi.Precondition{})
			return err
		}, taskapi.ENOTFOUND},
		{"CreateProject duplicate id", func() error {
			return e.s.CreateProject(e.ctx, &taskapi.Project{ID: ids["project"], UserID: alice, Name: "Again"})
		}, taskapi.ECONFLICT},
		{"DeleteTask stale version", func() error {
			return e.s.DeleteTask(e.ctx, alice, ids["task"], taskapi.Precondition{IfVersion: 1})
		}, taskapi.EPRECONDITION},
		{"DeleteTask bob's", func() error {
			return e.s.DeleteTask(e.ctx, alice, bobsTask.ID, taskapi.Precondition{})
		}, taskapi.ENOTFOUND},
		{"DeleteTask", func() error {
			return e.s.DeleteTask(e.ctx, alice, ids["task"], taskapi.Precondition{})
		}, ""},
		{"DeleteTask again", func() error {
			return e.s.DeleteTask(e.ctx, alice, ids["task"], taskapi.Precondition{})
		}, taskapi.ENOTFOUND},
		{"DeleteProject stale version", func() error {
			return e.s.DeleteProject(e.ctx, alice, ids["project"], taskapi.Precondition{IfVersion: 1})
		}, taskapi.EPRECONDITION},
		{"DeleteProject bob's", func() error {
			return e.s.DeleteProject(e.ctx, alice, bobsProject.ID, taskapi.Precondition{})
		}, taskapi.ENOTFOUND},
		{"DeleteProject cancelled", func() error {
			return e.s.DeleteProject(cancelled, alice, ids["project"], taskapi.Precondition{})
		}, "canceled"},
		{"DeleteProject with tasks", func() error {
			return e.s.DeleteProject(e.ctx, alice, ids["project"], taskapi.Precondition{})
		}, ""},
		{"DeleteProject again", func() error {
			return e.s.DeleteProject(e.ctx, alice, ids["project"], taskapi.Precondition{})
		}, taskapi.ENOTFOUND},
		{"DeleteProject empty", func() error {
			// Its one task was deleted above.
			return e.s.DeleteProject(e.ctx, alice, ids["other project"], taskapi.Precondition{})
		}, ""},
	}
	bobs := e.listVersion(lv, bob)
	prev := e.listVersion(lv, alice)
	if prev != 0 {
		t.Fatalf("alice's version %d before she wrote, want 0", prev)
	}
	for _, s := range steps {
		err := s.write()
		switch {
		case s.code == "" && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.code == "canceled":
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: error %v, want one of a cancelled context", s.name, err)
			}
		case s.code != "":
			wantCode(t, err, s.code)
		}
		v := e.listVersion(lv, alice)
		switch {
		case s.code == "" && v <= prev:
			t.Fatalf("%s: version %d after the write, want more than %d", s.name, v, prev)
		case s.code != "" && v != prev:
			t.Fatalf("%s failed (%v) but the version went from %d to %d", s.name, err, prev, v)
		}
		if got := e.listVersion(lv, bob); got != bobs {
			t.Fatalf("%s: bob's version went from %d to %d", s.name, bobs, got)
		}
		prev = v
	}
	// The project's tasks lost it (the contract of DeleteProject): the
	// bump above covered that change.
	for _, id := range []string{ids["task in project"], "second-in-project"} {
		if tk := e.mustTask(alice, id); tk.ProjectID != nil {
			t.Fatalf("task %s of the deleted project still in %q", id, *tk.ProjectID)
		}
	}
}

func testListVersionIsolation(t *testing.T, e *env) {
	lv := e.versioner()
	// Each user's writes move only their own version.
	writes := func(user string) []func() error {
		var p *taskapi.Project
		var tk *taskapi.Task
		return []func() error{
			func() error { p = &taskapi.Project{UserID: user, Name: "P"}; return e.s.CreateProject(e.ctx, p) },
			func() error { tk = task(user, "T", inProject(p.ID)); return e.s.CreateTask(e.ctx, tk) },
			func() error {
				_, err := e.s.UpdateTask(e.ctx, user, tk.ID, taskapi.TaskUpdate{Name: ptr("U")}, taskapi.Precondition{})
				return err
			},
			func() error {
				_, err := e.s.UpdateProject(e.ctx, user, p.ID, taskapi.ProjectUpdate{Name: ptr("Q")}, taskapi.Precondition{})
				return err
			},
			func() error { return e.s.DeleteProject(e.ctx, user, p.ID, taskapi.Precondition{}) },
			func() error { return e.s.DeleteTask(e.ctx, user, tk.ID, taskapi.Precondition{}) },
		}
	}
	for _, c := range []struct{ writer, other string }{{alice, bob}, {bob, alice}} {
		others := e.listVersion(lv, c.other)
		for i, w := range writes(c.writer) {
			before := e.listVersion(lv, c.writer)
			if err := w(); err != nil {
				t.Fatalf("%s's write %d: %v", c.writer, i, err)
			}
			if v := e.listVersion(lv, c.writer); v <= before {
				t.Fatalf("%s's write %d: version %d, want more than %d", c.writer, i, v, before)
			}
			if v := e.listVersion(lv, c.other); v != others {
				t.Fatalf("%s's write %d moved %s's version from %d to %d", c.writer, i, c.other, others, v)
			}
		}
	}
}

// listFingerprint returns every task of user, ids and versions, in one
// read (one page), so it is one consistent state of the list.
func (e *env) listFingerprint(user string) (string, error) {
	page, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: user, Limit: 1000})
	if err != nil {
		return "", err
	}
	if page.Next != nil {
		return "", fmt.Errorf("more than one page of tasks")
	}
	var b strings.Builder
	for _, tk := range page.Tasks {
		fmt.Fprintf(&b, "%s@%d %q;", tk.ID, tk.Version, tk.Name)
	}
	return b.String(), nil
}

func testListVersionReadAfter(t *testing.T, e *env) {
	lv := e.versioner()
	tk := e.createTask(task(alice, "Before"))
	v := e.listVersion(lv, alice)
	list, err := e.listFingerprint(alice)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing written: the version, and the list a cache keeps under it,
	// stay.
	if again := e.listVersion(lv, alice); again != v {
		t.Fatalf("version %d, then %d with no write", v, again)
	}
	if again, err := e.listFingerprint(alice); err != nil || again != list {
		t.Fatalf("list changed with no write: %s, then %s (%v)", list, again, err)
	}
	// A write: the version read after it is greater, and a list read
	// after that version holds the write.
	if _, err := e.s.UpdateTask(e.ctx, alice, tk.ID, taskapi.TaskUpdate{Name: ptr("After")}, taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	v2 := e.listVersion(lv, alice)
	if v2 <= v {
		t.Fatalf("version %d after an update, want more than %d", v2, v)
	}
	list2, err := e.listFingerprint(alice)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s@2 %q;", tk.ID, "After"); list2 != want {
		t.Fatalf("list read after version %d: %s, want %s", v2, list2, want)
	}
}

func testListVersionConcurrent(t *testing.T, e *env) {
	lv := e.versioner()
	const writers, writes = 8, 6
	shared := e.createTask(task(alice, "Shared"))
	initial := e.listVersion(lv, alice)

	// Readers, while the writers run: the version never goes back, and
	// whenever it is the same before and after a list read, the list is
	// the state of that version, so two such reads under one version
	// must agree (what a cache that keeps a list under its version
	// relies on).
	var (
		done      = make(chan struct{})
		readers   sync.WaitGroup
		mu        sync.Mutex
		byVersion = map[int64]string{}
		stable    atomic.Int64
	)
	for range 2 {
		readers.Go(func() {
			last := int64(0)
			for {
				select {
				case <-done:
					return
				default:
				}
				v1, err := lv.ListVersion(e.ctx, alice)
				if err != nil {
					t.Errorf("ListVersion: %v", err)
					return
				}
				list, err := e.listFingerprint(alice)
				if err != nil {
					t.Errorf("Tasks: %v", err)
					return
				}
				v2, err := lv.ListVersion(e.ctx, alice)
				if err != nil {
					t.Errorf("ListVersion: %v", err)
					return
				}
				if v1 < last || v2 < v1 {
					t.Errorf("version went back: %d, then %d, then %d", last, v1, v2)
					return
				}
				last = v2
				if v1 != v2 {
					continue
				}
				stable.Add(1)
				mu.Lock()
				prev, seen := byVersion[v1]
				if !seen {
					byVersion[v1] = list
				}
				mu.Unlock()
				if seen && prev != list {
					t.Errorf("two lists under version %d:\n%s\n%s", v1, prev, list)
					return
				}
			}
		})
	}

	var succeeded atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			tk := task(alice, fmt.Sprintf("writer %d", w))
			if err := e.s.CreateTask(e.ctx, tk); err != nil {
				t.Errorf("writer %d: create: %v", w, err)
				return
			}
			succeeded.Add(1)
			for i := range writes {
				id := tk.ID
				if i%2 == 1 {
					id = shared.ID
				}
				if _, err := e.s.UpdateTask(e.ctx, alice, id, taskapi.TaskUpdate{Name: ptr(fmt.Sprintf("writer %d write %d", w, i))},
					taskapi.Precondition{}); err != nil {
					t.Errorf("writer %d: update %d: %v", w, i, err)
					continue
				}
				succeeded.Add(1)
				// A pause, so that the readers also find the version
				// steady across a list read.
				time.Sleep(4 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()

	final := e.listVersion(lv, alice)
	if n := succeeded.Load(); final-initial < n {
		t.Fatalf("version went from %d to %d over %d successful writes, want a rise of at least %d", initial, final, n, n)
	}
	// The last word: no write runs now, so the list read now is the state
	// of the final version, and a list kept under it must be that one.
	list, err := e.listFingerprint(alice)
	if err != nil {
		t.Fatal(err)
	}
	if kept, ok := byVersion[final]; ok && kept != list {
		t.Fatalf("list kept under the final version %d:\n%s\nthe list now:\n%s", final, kept, list)
	}
	t.Logf("%d writes, version %d → %d, %d list reads under a steady version", succeeded.Load(), initial, final, stable.Load())
}
