package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

var changeTests = []test{
	{"HeadOfNewUser", func(t *testing.T, e *env) {
		page := e.changes(alice, nil, 0)
		if page.Next != 0 || len(page.Changes) != 0 || page.Changes == nil || page.More {
			t.Fatalf("feed of a user who never wrote: %+v, want no changes, cursor 0", page)
		}
		page = e.changes(alice, ptr[int64](0), 10)
		if page.Next != 0 || len(page.Changes) != 0 || page.More {
			t.Fatalf("feed from 0 of a user who never wrote: %+v", page)
		}
	}},
	{"CreatesUpdatesDeletes", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")                  // 1
		a := e.createTask(task(alice, "A", inProject(p.ID))) // 2
		b := e.createTask(task(alice, "B"))                  // 3
		e.clock.advance(time.Second)
		a2, err := e.s.UpdateTask(e.ctx, alice, a.ID, taskapi.TaskUpdate{Name: ptr("A2")}, taskapi.Precondition{}) // 4
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.DeleteTask(e.ctx, alice, b.ID, taskapi.Precondition{}); err != nil { // 5
			t.Fatal(err)
		}
		page := e.changes(alice, ptr[int64](0), 10)
		e.wantChanges(page.Changes, "project "+p.ID, "task "+a.ID, "-task "+b.ID)
		sameProject(t, page.Changes[0].Project, p)
		sameTask(t, page.Changes[1].Task, a2)
		if page.Next != 5 || page.More {
			t.Fatalf("cursor %d, more %v; want 5, false", page.Next, page.More)
		}
		if head := e.changes(alice, nil, 0); head.Next != 5 {
			t.Fatalf("current cursor %d, want 5", head.Next)
		}
		// From the cursor: nothing new.
		if again := e.changes(alice, &page.Next, 10); len(again.Changes) != 0 || again.Next != 5 {
			t.Fatalf("from the latest cursor: %+v", again)
		}
		// From 3: the changes numbered 4 and 5 only.
		e.wantChanges(e.changes(alice, ptr[int64](3), 10).Changes, "task "+a.ID, "-task "+b.ID)
		// From 4: the delete only; a's latest change (4) is behind it.
		e.wantChanges(e.changes(alice, ptr[int64](4), 10).Changes, "-task "+b.ID)
	}},
	{"OnceAtItsLatestChange", func(t *testing.T, e *env) {
		a := e.createTask(task(alice, "A"))
		b := e.createTask(task(alice, "B"))
		for i := range 3 {
			if _, err := e.s.UpdateTask(e.ctx, alice, a.ID, taskapi.TaskUpdate{Name: ptr(fmt.Sprint(i))}, taskapi.Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		page := e.changes(alice, ptr[int64](0), 10)
		e.wantChanges(page.Changes, "task "+b.ID, "task "+a.ID)
		if page.Changes[1].Seq != 5 || page.Changes[1].Task.Version != 4 || page.Changes[1].Task.Name != "2" {
			t.Fatalf("a at change %d, version %d, name %q; want 5, 4, \"2\"", page.Changes[1].Seq, page.Changes[1].Task.Version, page.Changes[1].Task.Name)
		}
	}},
	{"ProjectDeleteShowsItsTasks", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Doomed")
		in1 := e.createTask(task(alice, "in 1", inProject(p.ID)))
		in2 := e.createTask(task(alice, "in 2", inProject(p.ID)))
		e.createTask(task(alice, "out")) // not in the project: no change
		cursor := e.changes(alice, nil, 0).Next
		if err := e.s.DeleteProject(e.ctx, alice, p.ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		page := e.changes(alice, &cursor, 10)
		// The tasks lose their project, in the order the store updates
		// them, then the project goes.
		first, second := in1.ID, in2.ID
		if len(page.Changes) > 0 && page.Changes[0].ID == second {
			first, second = second, first
		}
		e.wantChanges(page.Changes, "task "+first, "task "+second, "-project "+p.ID)
		for _, c := range page.Changes[:2] {
			if c.Task.ProjectID != nil || c.Task.Version != 2 {
				t.Fatalf("task %s after its project's delete: project %v, version %d", c.ID, c.Task.ProjectID, c.Task.Version)
			}
			sameTask(t, c.Task, e.mustTask(alice, c.ID))
		}
	}},
	{"Pages", func(t *testing.T, e *env) {
		var want []string
		for i := range 7 {
			want = append(want, "task "+e.createTask(task(alice, fmt.Sprint(i))).ID)
		}
		var got []string
		cursor := int64(0)
		for _, size := range []int{3, 3, 1} {
			page := e.changes(alice, &cursor, 3)
			if len(page.Changes) != size || page.More != (size == 3) {
				t.Fatalf("page after %d: %d changes, more %v; want %d", cursor, len(page.Changes), page.More, size)
			}
			for _, c := range page.Changes {
				got = append(got, string(c.Kind)+" "+c.ID)
			}
			cursor = page.Next
		}
		if !slices.Equal(got, want) || cursor != 7 {
			t.Fatalf("pages gave %v up to %d, want %v up to 7", got, cursor, want)
		}
	}},
	{"BadCursors", func(t *testing.T, e *env) {
		e.createTask(task(alice, "A"))
		_, err := e.s.Changes(e.ctx, taskapi.ChangeFilter{UserID: alice, After: ptr[int64](2), Limit: 10})
		wantCode(t, err, taskapi.ERESYNC) // ahead of the feed
		_, err = e.s.Changes(e.ctx, taskapi.ChangeFilter{UserID: bob, After: ptr[int64](1), Limit: 10})
		wantCode(t, err, taskapi.ERESYNC) // another user's cursor
		_, err = e.s.Changes(e.ctx, taskapi.ChangeFilter{UserID: alice, After: ptr[int64](0), Limit: 0})
		wantCode(t, err, taskapi.EBADREQUEST)
	}},
	{"FailedWritesTakeNoNumber", func(t *testing.T, e *env) {
		a := e.createTask(task(alice, "A"))
		e.createProject(alice, "P")
		_, err := e.s.UpdateTask(e.ctx, alice, a.ID, taskapi.TaskUpdate{Name: ptr("x")}, taskapi.Precondition{IfVersion: 9})
		wantCode(t, err, taskapi.EPRECONDITION)
		_, err = e.s.UpdateTask(e.ctx, alice, a.ID, taskapi.TaskUpdate{ProjectID: taskapi.Value("nope")}, taskapi.Precondition{})
		wantCode(t, err, taskapi.EINVALID)
		wantCode(t, e.s.CreateTask(e.ctx, task(alice, "dup", withID(a.ID))), taskapi.ECONFLICT)
		wantCode(t, e.s.DeleteTask(e.ctx, alice, "missing", taskapi.Precondition{}), taskapi.ENOTFOUND)
		wantCode(t, e.s.DeleteTask(e.ctx, bob, a.ID, taskapi.Precondition{}), taskapi.ENOTFOUND)
		if next := e.changes(alice, nil, 0).Next; next != 2 {
			t.Fatalf("cursor %d after two writes and five failed ones, want 2", next)
		}
	}},
	{"UsersAndIssuersApart", func(t *testing.T, e *env) {
		a := e.createTask(task(alice, "A", withID("shared-id")))
		if err := e.s.DeleteTask(e.ctx, alice, a.ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		// Bob takes the id alice freed: her tombstone stays hers.
		b := e.createTask(task(bob, "B", withID("shared-id")))
		other := e.s.ForIssuer(issuerA)
		c := task(alice, "C")
		if err := other.CreateTask(e.ctx, c); err != nil {
			t.Fatal(err)
		}
		e.wantChanges(e.changes(alice, ptr[int64](0), 10).Changes, "-task shared-id")
		page := e.changes(bob, ptr[int64](0), 10)
		e.wantChanges(page.Changes, "task shared-id")
		sameTask(t, page.Changes[0].Task, b)
		theirs, err := other.Changes(e.ctx, taskapi.ChangeFilter{UserID: alice, After: ptr[int64](0), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		e.wantChanges(theirs.Changes, "task "+c.ID)
	}},
	{"PurgeTombstones", func(t *testing.T, e *env) {
		x := e.createTask(task(alice, "X")) // 1
		if err := e.s.DeleteTask(e.ctx, alice, x.ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err) // 2
		}
		y := e.createTask(task(alice, "Y")) // 3
		e.createTask(task(bob, "kept"))
		// Tombstones are younger than an hour: none goes.
		if n, err := e.s.PurgeTombstones(e.ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge of tombstones older than an hour: %d, %v; want 0", n, err)
		}
		e.wantChanges(e.changes(alice, ptr[int64](0), 10).Changes, "-task "+x.ID, "task "+y.ID)
		if n, err := e.s.PurgeTombstones(e.ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge of every tombstone: %d, %v; want 1", n, err)
		}
		// Cursors before the forgotten tombstone cannot go on; from it on,
		// the feed goes on.
		for _, after := range []int64{0, 1} {
			_, err := e.s.Changes(e.ctx, taskapi.ChangeFilter{UserID: alice, After: &after, Limit: 10})
			wantCode(t, err, taskapi.ERESYNC)
		}
		e.wantChanges(e.changes(alice, ptr[int64](2), 10).Changes, "task "+y.ID)
		if head := e.changes(alice, nil, 0); head.Next != 3 {
			t.Fatalf("current cursor %d after the purge, want 3", head.Next)
		}
		// Other users' cursors are untouched.
		e.wantChanges(e.changes(bob, ptr[int64](0), 10).Changes, "task "+e.allTasks(taskapi.TaskFilter{UserID: bob}, 10)[0].ID)
		if n, err := e.s.PurgeTombstones(e.ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("second purge: %d, %v; want 0", n, err)
		}
	}},
	{"AssignIssuerMovesTheFeed", func(t *testing.T, e *env) {
		// Rows written without an issuer move to one: a tombstone in the
		// old user's feed, a change in the new one's.
		old := e.createTask(task(alice, "old"))
		if _, err := e.s.AssignIssuer(e.ctx, issuerA); err != nil {
			t.Fatal(err)
		}
		e.wantChanges(e.changes(alice, ptr[int64](1), 10).Changes, "-task "+old.ID)
		moved, err := e.s.ForIssuer(issuerA).Changes(e.ctx, taskapi.ChangeFilter{UserID: alice, After: ptr[int64](0), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		e.wantChanges(moved.Changes, "task "+old.ID)
		if moved.Changes[0].Task.Name != "old" {
			t.Fatalf("moved task %+v", moved.Changes[0].Task)
		}
	}},
	{"ReaderFollowsConcurrentWriters", testFeedUnderWriters},
}

// changes reads a page of user's feed and fails the test on error.
func (e *env) changes(user string, after *int64, limit int) *taskapi.ChangePage {
	e.t.Helper()
	page, err := e.s.Changes(e.ctx, taskapi.ChangeFilter{UserID: user, After: after, Limit: limit})
	if err != nil {
		e.t.Fatalf("Changes(%s, after %v): %v", user, after, err)
	}
	return page
}

// wantChanges fails the test unless changes are, in order, those named
// "kind id" (a tombstone: "-kind id"), each with the state its kind says,
// in strictly increasing numbers.
func (e *env) wantChanges(changes []taskapi.Change, want ...string) {
	e.t.Helper()
	var got []string
	for i, c := range changes {
		name := string(c.Kind) + " " + c.ID
		if c.Deleted {
			name = "-" + name
		}
		got = append(got, name)
		live := !c.Deleted && (c.Kind == taskapi.ChangeTask) == (c.Task != nil) && (c.Kind == taskapi.ChangeProject) == (c.Project != nil)
		dead := c.Deleted && c.Task == nil && c.Project == nil
		if !live && !dead {
			e.t.Errorf("change %s: deleted %v, task %v, project %v", name, c.Deleted, c.Task, c.Project)
		}
		if i > 0 && c.Seq <= changes[i-1].Seq {
			e.t.Errorf("change %s numbered %d after %d", name, c.Seq, changes[i-1].Seq)
		}
	}
	if !slices.Equal(got, want) {
		e.t.Fatalf("changes %q, want %q", got, want)
	}
}

// testFeedUnderWriters has 8 writers create, update and delete tasks and
// projects of one user while a reader follows the feed: the reader's
// picture, built from the feed alone, must end equal to the store's rows,
// with every change seen once (numbers strictly increasing from page to
// page, no object at one version twice).
func testFeedUnderWriters(t *testing.T, e *env) {
	const writers, opsEach = 8, 40
	var (
		mu                sync.Mutex
		taskIDs, projects []string
	)
	pick := func(rng *rand.Rand, ids []string) string {
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 0 {
			return "none"
		}
		return ids[rng.IntN(len(ids))]
	}
	write := func(w int, rng *rand.Rand) error {
		ok := func(err error, codes ...string) error {
			if err == nil || slices.Contains(codes, taskapi.ErrorCode(err)) {
				return nil
			}
			return err
		}
		switch op := rng.IntN(10); {
		case op < 3:
			nt := task(alice, fmt.Sprintf("w%d", w))
			if rng.IntN(2) == 0 {
				nt.ProjectID = ptr(pick(rng, projects))
			}
			err := e.s.CreateTask(e.ctx, nt)
			if err == nil {
				mu.Lock()
				taskIDs = append(taskIDs, nt.ID)
				mu.Unlock()
			}
			return ok(err, taskapi.EINVALID)
		case op < 6:
			u := taskapi.TaskUpdate{Name: ptr(fmt.Sprintf("w%d %d", w, rng.IntN(1000))), Completed: ptr(rng.IntN(2) == 0)}
			if rng.IntN(3) == 0 {
				u.ProjectID = taskapi.Value(pick(rng, projects))
			}
			_, err := e.s.UpdateTask(e.ctx, alice, pick(rng, taskIDs), u, taskapi.Precondition{})
			return ok(err, taskapi.ENOTFOUND, taskapi.EINVALID)
		case op < 7:
			return ok(e.s.DeleteTask(e.ctx, alice, pick(rng, taskIDs), taskapi.Precondition{}), taskapi.ENOTFOUND)
		case op < 8:
			p := &taskapi.Project{UserID: alice, Name: fmt.Sprintf("p%d", w)}
			err := e.s.CreateProject(e.ctx, p)
			if err == nil {
				mu.Lock()
				projects = append(projects, p.ID)
				mu.Unlock()
			}
			return err
		case op < 9:
			_, err := e.s.UpdateProject(e.ctx, alice, pick(rng, projects), taskapi.ProjectUpdate{Name: ptr(fmt.Sprint(rng.IntN(1000)))}, taskapi.Precondition{})
			return ok(err, taskapi.ENOTFOUND)
		default:
			return ok(e.s.DeleteProject(e.ctx, alice, pick(rng, projects), taskapi.Precondition{}), taskapi.ENOTFOUND)
		}
	}

	// The reader starts from the current cursor and an empty picture: the
	// user has nothing yet. Bob writes too, and must never show.
	reader := newFeedReader(e, e.changes(alice, nil, 0).Next)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 17))
			for range opsEach {
				if err := write(w, rng); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range opsEach {
			e.createTask(task(bob, fmt.Sprint(i)))
		}
	})
	go func() { wg.Wait(); close(done) }()
	for polls := 0; ; polls++ {
		select {
		case <-done:
			reader.catchUp()
			reader.same(e.allTasks(taskapi.TaskFilter{UserID: alice}, 100), e.allProjects(alice))
			t.Logf("the reader polled %d times, applied %d changes", polls, reader.applied)
			return
		default:
			reader.poll(5)
		}
	}
}

// feedReader is a client of the feed: its picture of the user's objects,
// built from the changes alone.
type feedReader struct {
	e        *env
	cursor   int64
	lastSeq  int64
	tasks    map[string]*taskapi.Task
	projects map[string]*taskapi.Project
	seen     map[string]bool // "kind id version" of every state applied
	applied  int
}

func newFeedReader(e *env, cursor int64) *feedReader {
	return &feedReader{e: e, cursor: cursor, lastSeq: cursor, tasks: map[string]*taskapi.Task{},
		projects: map[string]*taskapi.Project{}, seen: map[string]bool{}}
}

// poll reads one page of up to limit changes and applies it; it reports
// whether more follow.
func (r *feedReader) poll(limit int) bool {
	t := r.e.t
	t.Helper()
	page := r.e.changes(alice, &r.cursor, limit)
	for _, c := range page.Changes {
		if c.Seq <= r.lastSeq {
			t.Fatalf("change %d (%s %s) after change %d: seen before", c.Seq, c.Kind, c.ID, r.lastSeq)
		}
		r.lastSeq = c.Seq
		r.applied++
		switch {
		case c.Deleted && c.Kind == taskapi.ChangeTask:
			delete(r.tasks, c.ID)
		case c.Deleted:
			delete(r.projects, c.ID)
		case c.Task != nil:
			r.once(fmt.Sprint("task ", c.ID, " ", c.Task.Version))
			r.tasks[c.ID] = c.Task
		default:
			r.once(fmt.Sprint("project ", c.ID, " ", c.Project.Version))
			r.projects[c.ID] = c.Project
		}
	}
	if page.Next < r.cursor {
		t.Fatalf("cursor went back from %d to %d", r.cursor, page.Next)
	}
	r.cursor = page.Next
	return page.More
}

// once fails the test when the reader was given the state key before.
func (r *feedReader) once(key string) {
	if r.seen[key] {
		r.e.t.Fatalf("%s given twice", key)
	}
	r.seen[key] = true
}

// catchUp reads the feed to its end.
func (r *feedReader) catchUp() {
	for r.poll(7) {
	}
}

// same fails the test unless the reader's picture is exactly tasks and
// projects.
func (r *feedReader) same(tasks []*taskapi.Task, projects []*taskapi.Project) {
	t := r.e.t
	t.Helper()
	if len(tasks) != len(r.tasks) || len(projects) != len(r.projects) {
		t.Errorf("the reader has %d tasks and %d projects, the store %d and %d", len(r.tasks), len(r.projects), len(tasks), len(projects))
	}
	for _, want := range tasks {
		got, ok := r.tasks[want.ID]
		if !ok {
			t.Errorf("task %s missing from the reader's picture", want.ID)
			continue
		}
		sameTask(t, got, want)
	}
	for _, want := range projects {
		got, ok := r.projects[want.ID]
		if !ok {
			t.Errorf("project %s missing from the reader's picture", want.ID)
			continue
		}
		sameProject(t, got, want)
	}
}

// allProjects lists every project of user.
func (e *env) allProjects(user string) []*taskapi.Project {
	e.t.Helper()
	var all []*taskapi.Project
	f := taskapi.ProjectListFilter{UserID: user, Limit: 100}
	for {
		page, err := e.s.Projects(e.ctx, f)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, page.Projects...)
		if page.Next == nil {
			return all
		}
		f.After = page.Next
	}
}
