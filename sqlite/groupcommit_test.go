package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// holdGroup makes the store's group busy with a transaction that waits
// until release is called, so that the writes started meanwhile queue and
// run together in the next group. queued waits until n requests queue.
func holdGroup(t *testing.T, s *Store) (g *group, queued func(n int), release func()) {
	t.Helper()
	g, ok := s.group.(*group)
	if !ok {
		t.Fatal("the store does not commit in groups")
	}
	held, free := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(*tx) error {
			close(held)
			<-free
			return nil
		})
	}()
	<-held
	queued = func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); len(g.queue) < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests queued, want %d", len(g.queue), n)
			}
		}
	}
	release = func() {
		close(free)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	return g, queued, release
}

// keyed returns the store of a claim of a new idempotency key of user u,
// and the claim.
func keyed(t *testing.T, s *Store, u, key string) (taskapi.IssuerStore, taskapi.KeyClaim) {
	t.Helper()
	k := taskapi.IdempotencyKey{UserID: u, Key: key, Fingerprint: "f"}
	saved, claim, err := s.ClaimKey(t.Context(), k, func(any) (*taskapi.SavedResponse, error) {
		return &taskapi.SavedResponse{Status: 201, Body: []byte(`{}`)}, nil
	})
	if saved != nil || err != nil {
		t.Fatalf("claim of %s: %v, %v", key, saved, err)
	}
	return claim.Store(), claim
}

// keySaved reports whether user u's key has a saved response.
func keySaved(t *testing.T, s *Store, u, key string) bool {
	t.Helper()
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM idempotency_keys WHERE user_id = ? AND key = ?`, u, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// taskNamed reports whether user u has a task of that name.
func taskNamed(t *testing.T, s *Store, u, name string) bool {
	t.Helper()
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM tasks WHERE user_id = ? AND name = ?`, u, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestGroupFailingMembers: writes that fail in a group are rolled back
// alone, each with its own error; the others commit, and the idempotency
// claims learn which is which.
func TestGroupFailingMembers(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	const u = "auth0|group"
	project := &taskapi.Project{UserID: u, Name: "P"}
	if err := s.CreateProject(ctx, project); err != nil {
		t.Fatal(err)
	}
	inProject := &taskapi.Task{UserID: u, Name: "in P", ProjectID: &project.ID}
	existing := &taskapi.Task{UserID: u, Name: "existing"}
	for _, task := range []*taskapi.Task{inProject, existing} {
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	goodKey, goodClaim := keyed(t, s, u, "good")
	badKey, badClaim := keyed(t, s, u, "bad")

	writes := []struct {
		name  string
		write func() error
		code  string // "" for success
	}{
		{"create", func() error { return s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "created"}) }, ""},
		{"duplicate id", func() error {
			return s.CreateTask(ctx, &taskapi.Task{ID: existing.ID, UserID: u, Name: "duplicate"})
		}, taskapi.ECONFLICT},
		{"no such project", func() error {
			return s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "orphan", ProjectID: ptr("nope")})
		}, taskapi.EINVALID},
		{"fails after writing", func() error {
			return s.inTx(ctx, func(tx *tx) error {
				if _, err := tx.exec(qInsertTask, "half", u, nil, "half", nil, nil, nil, "2030-01-01T00:00:00.000000000Z",
					"2030-01-01T00:00:00.000000000Z", 1, ""); err != nil {
					return err
				}
				return taskapi.Errorf(taskapi.EINVALID, "refused after its insert")
			})
		}, taskapi.EINVALID},
		{"stale If-Match", func() error {
			_, err := s.UpdateTask(ctx, u, existing.ID, taskapi.TaskUpdate{Name: ptr("renamed")}, taskapi.Precondition{IfVersion: 7})
			return err
		}, taskapi.EPRECONDITION},
		{"keyed create", func() error { return goodKey.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "keyed"}) }, ""},
		{"keyed duplicate", func() error {
			return badKey.CreateTask(ctx, &taskapi.Task{ID: existing.ID, UserID: u, Name: "keyed duplicate"})
		}, taskapi.ECONFLICT},
		{"delete project", func() error { return s.DeleteProject(ctx, u, project.ID, taskapi.Precondition{}) }, ""},
		{"create after the failures", func() error { return s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "last"}) }, ""},
	}

	g, queued, release := holdGroup(t, s) // its group counted already
	groups, members := g.groups.Load(), g.members.Load()
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w.write() })
		queued(i + 1) // in this order
	}
	release()
	wg.Wait()
	if got := g.groups.Load() - groups; got != 1 {
		t.Errorf("%d transactions after the held one, want 1 for all the writes", got)
	}
	if got := g.members.Load() - members; got != int64(len(writes)) {
		t.Errorf("%d requests run, want %d", got, len(writes))
	}
	for i, w := range writes {
		if w.code == "" && errs[i] != nil || w.code != "" && taskapi.ErrorCode(errs[i]) != w.code {
			t.Errorf("%s: %v, want code %q", w.name, errs[i], w.code)
		}
	}
	for name, want := range map[string]bool{"created": true, "keyed": true, "last": true,
		"duplicate": false, "orphan": false, "half": false, "keyed duplicate": false, "renamed": false} {
		if got := taskNamed(t, s, u, name); got != want {
			t.Errorf("task %q stored: %v, want %v", name, got, want)
		}
	}
	if _, err := s.Project(ctx, u, project.ID); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
		t.Errorf("the deleted project: %v", err)
	}
	if got, err := s.Task(ctx, u, inProject.ID); err != nil || got.ProjectID != nil || got.Version != 2 {
		t.Errorf("the deleted project's task: %+v, %v; want it without a project, version 2", got, err)
	}
	for _, c := range []taskapi.KeyClaim{goodClaim, badClaim} {
		if err := c.Release(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !keySaved(t, s, u, "good") || keySaved(t, s, u, "bad") {
		t.Errorf("saved keys: good %v, bad %v; want the committed write's only", keySaved(t, s, u, "good"), keySaved(t, s, u, "bad"))
	}
}

// TestGroupCommitFails: when the shared COMMIT fails, every write of the
// group fails, none is stored, no idempotency key keeps a response, and
// the store writes again afterwards.
func TestGroupCommitFails(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	const u = "auth0|commit"
	store, claim := keyed(t, s, u, "k")
	_, queued, release := holdGroup(t, s)
	writes := []func() error{
		func() error { return s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "before"}) },
		func() error { return store.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "keyed"}) },
		// A foreign key checked at COMMIT, which then fails.
		func() error {
			return s.inTx(ctx, func(tx *tx) error {
				if _, err := tx.ExecContext(tx.ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
					return err
				}
				_, err := tx.exec(qInsertTask, "dangling", u, "no such project", "dangling", nil, nil, nil,
					"2030-01-01T00:00:00.000000000Z", "2030-01-01T00:00:00.000000000Z", 1, "")
				return err
			})
		},
		func() error { return s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "after"}) },
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
		queued(i + 1)
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d succeeded in a group whose COMMIT failed", i)
		}
	}
	for _, name := range []string{"before", "keyed", "dangling", "after"} {
		if taskNamed(t, s, u, name) {
			t.Errorf("task %q stored by a failed COMMIT", name)
		}
	}
	if err := claim.Release(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if keySaved(t, s, u, "k") {
		t.Error("the key kept the response of a write that did not commit")
	}
	if err := s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "next"}); err != nil || !taskNamed(t, s, u, "next") {
		t.Errorf("a write after the failed COMMIT: %v", err)
	}
}

// TestGroupSkipsCancelled: a write whose context ends while it waits for
// the group is not run.
func TestGroupSkipsCancelled(t *testing.T) {
	s, _ := open(t)
	const u = "auth0|cancel"
	_, queued, release := holdGroup(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.CreateTask(ctx, &taskapi.Task{UserID: u, Name: "cancelled"}) }()
	queued(1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled write: %v, want an error wrapping context.Canceled", err)
	}
	release()
	if err := s.CreateTask(t.Context(), &taskapi.Task{UserID: u, Name: "next"}); err != nil {
		t.Fatal(err)
	}
	if taskNamed(t, s, u, "cancelled") {
		t.Error("a write cancelled before its turn was stored")
	}
}

// killChildEnv names the database file of TestKillDuringGroups's child.
const killChildEnv = "TASKAPI_GROUP_KILL_CHILD"

// TestKillDuringGroups writes from many goroutines in a child process,
// which prints each write once it is acknowledged, kills it (SIGKILL)
// mid-run and reopens the file: every acknowledged write is there, and no
// write is there in part (a project's delete and the unlinking of its
// tasks are one).
func TestKillDuringGroups(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "taskapi.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringGroups$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	killed := false
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !killed && (len(lines) >= 1500 || time.Now().After(deadline)) {
			cmd.Process.Kill() // SIGKILL; the lines it wrote before are still read
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before it was killed, after %d lines", len(lines))
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.read.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	projectOf := func(id string) (exists bool, project string) {
		var p *string
		err := s.read.QueryRow(`SELECT project_id FROM tasks WHERE id = ?`, id).Scan(&p)
		if err != nil {
			return false, ""
		}
		if p == nil {
			return true, ""
		}
		return true, *p
	}
	projectExists := func(id string) bool {
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM projects WHERE id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	tasks, projects, deleted := 0, map[string][]string{}, map[string]bool{}
	for _, line := range lines {
		f := strings.Fields(line)
		switch f[0] {
		case "T":
			tasks++
			if ok, _ := projectOf(f[1]); !ok {
				t.Errorf("acknowledged task %s is missing", f[1])
			}
		case "P":
			projects[f[1]] = f[2:]
		case "D":
			deleted[f[1]] = true
		}
	}
	for p, ts := range projects {
		exists := projectExists(p)
		if deleted[p] && exists {
			t.Errorf("acknowledged delete of project %s: it is still there", p)
		}
		for _, id := range ts {
			ok, in := projectOf(id)
			switch {
			case !ok:
				t.Errorf("acknowledged task %s of project %s is missing", id, p)
			case exists && in != p:
				t.Errorf("project %s is there, its task %s is in %q", p, id, in)
			case !exists && in != "":
				t.Errorf("project %s is deleted, its task %s is still in %q", p, id, in)
			}
		}
	}
	t.Logf("after SIGKILL: %d acknowledged tasks, %d projects (%d deleted) checked", tasks, len(projects), len(deleted))
	if tasks == 0 || len(deleted) == 0 {
		t.Errorf("the child acknowledged %d tasks, %d project deletes: too few to tell", tasks, len(deleted))
	}
}

// killChild is the child of TestKillDuringGroups: it writes until killed.
func killChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // unbuffered: out once written
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for w := range 16 {
		go func() {
			u := fmt.Sprintf("auth0|w%d", w)
			for i := 0; ; i++ {
				if i%4 != 0 {
					task := &taskapi.Task{UserID: u, Name: fmt.Sprintf("task %d", i)}
					if err := s.CreateTask(ctx, task); err != nil {
						fail(err)
					}
					say("T %s", task.ID)
					continue
				}
				p := &taskapi.Project{UserID: u, Name: fmt.Sprintf("project %d", i)}
				if err := s.CreateProject(ctx, p); err != nil {
					fail(err)
				}
				ids := []string{}
				for range 3 {
					task := &taskapi.Task{UserID: u, Name: "in " + p.Name, ProjectID: &p.ID}
					if err := s.CreateTask(ctx, task); err != nil {
						fail(err)
					}
					ids = append(ids, task.ID)
				}
				say("P %s %s", p.ID, strings.Join(ids, " "))
				if err := s.DeleteProject(ctx, u, p.ID, taskapi.Precondition{}); err != nil {
					fail(err)
				}
				say("D %s", p.ID)
			}
		}()
	}
	select {}
}

// BenchmarkCreateTaskParallel measures CreateTask from 64 goroutines, each
// a user of its own, as under a load of concurrent POST /tasks, and
// reports how many writes a transaction carried on average.
func BenchmarkCreateTaskParallel(b *testing.B) {
	s, _ := open(b)
	g := s.group.(*group)
	groups, members := g.groups.Load(), g.members.Load()
	var n sync.Mutex
	user := 0
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		n.Lock()
		u := fmt.Sprintf("auth0|bench%d", user)
		user++
		n.Unlock()
		for pb.Next() {
			if err := s.CreateTask(b.Context(), &taskapi.Task{UserID: u, Name: "Buy milk", Description: ptr("two litres")}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if d := g.groups.Load() - groups; d > 0 {
		b.ReportMetric(float64(g.members.Load()-members)/float64(d), "writes/tx")
	}
}
