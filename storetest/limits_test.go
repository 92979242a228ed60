package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/taskapi/taskapi"
)

// testLimits are the caps of the Limits group's stores: small, so the
// tests reach them.
var testLimits = taskapi.Limits{Tasks: 3, Projects: 2, IdempotencyKeys: 2}

// wantLimit fails the test unless err is the store's ELIMIT for tasks (or
// projects), with the domain's message.
func wantLimit(t *testing.T, err error, want *taskapi.Error) {
	t.Helper()
	wantCode(t, err, taskapi.ELIMIT)
	if got := taskapi.ErrorMessage(err); got != want.Message {
		t.Fatalf("message %q, want %q", got, want.Message)
	}
}

// projectCount returns how many projects user has in s.
func (e *env) projectCount(s taskapi.IssuerStore, user string) int {
	e.t.Helper()
	page, err := s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: user, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(page.Projects)
}

var limitTests = []test{
	{"TaskCap", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")
		var tasks []*taskapi.Task
		for i := range testLimits.Tasks {
			tasks = append(tasks, e.createTask(task(alice, fmt.Sprint("task ", i), inProject(p.ID))))
		}
		over := task(alice, "one too many")
		wantLimit(t, e.s.CreateTask(e.ctx, over), taskapi.TooManyTasks(testLimits.Tasks))
		if over.ID != "" || over.Version != 0 {
			t.Fatalf("a refused create changed its task: %+v", over)
		}
		if got := e.allTasks(taskapi.TaskFilter{UserID: alice}, 10); len(got) != testLimits.Tasks {
			t.Fatalf("alice has %d tasks, want %d", len(got), testLimits.Tasks)
		}
		// Other users are not affected: another subject, and the same
		// subject of another issuer.
		for _, s := range []taskapi.IssuerStore{e.s, e.s.ForIssuer(issuerA)} {
			user := bob
			if s != e.s {
				user = alice
			}
			for i := range testLimits.Tasks {
				if err := s.CreateTask(e.ctx, task(user, fmt.Sprint("other ", i))); err != nil {
					t.Fatalf("%s: %v", user, err)
				}
			}
			wantCode(t, s.CreateTask(e.ctx, task(user, "over")), taskapi.ELIMIT)
		}
		// Deleting one makes room for one.
		if err := e.s.DeleteTask(e.ctx, alice, tasks[0].ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		e.createTask(task(alice, "in the freed place"))
		wantCode(t, e.s.CreateTask(e.ctx, task(alice, "over again")), taskapi.ELIMIT)
	}},
	{"ProjectCap", func(t *testing.T, e *env) {
		var projects []*taskapi.Project
		for i := range testLimits.Projects {
			projects = append(projects, e.createProject(alice, fmt.Sprint("project ", i)))
		}
		over := &taskapi.Project{UserID: alice, Name: "one too many"}
		wantLimit(t, e.s.CreateProject(e.ctx, over), taskapi.TooManyProjects(testLimits.Projects))
		if over.ID != "" || over.Version != 0 {
			t.Fatalf("a refused create changed its project: %+v", over)
		}
		if n := e.projectCount(e.s, alice); n != testLimits.Projects {
			t.Fatalf("alice has %d projects, want %d", n, testLimits.Projects)
		}
		e.createProject(bob, "Bob's")
		if err := e.s.ForIssuer(issuerA).CreateProject(e.ctx, &taskapi.Project{UserID: alice, Name: "A's"}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.DeleteProject(e.ctx, alice, projects[0].ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		e.createProject(alice, "in the freed place")
		wantCode(t, e.s.CreateProject(e.ctx, &taskapi.Project{UserID: alice, Name: "over again"}), taskapi.ELIMIT)
	}},
	{"CapsAreApart", func(t *testing.T, e *env) {
		// Tasks fill the tasks' cap only: projects can still be created,
		// and the reverse.
		for i := range testLimits.Tasks {
			e.createTask(task(alice, fmt.Sprint(i)))
		}
		for i := range testLimits.Projects {
			e.createProject(alice, fmt.Sprint(i))
		}
		wantCode(t, e.s.CreateTask(e.ctx, task(alice, "over")), taskapi.ELIMIT)
		wantCode(t, e.s.CreateProject(e.ctx, &taskapi.Project{UserID: alice, Name: "over"}), taskapi.ELIMIT)
	}},
	{"AtCapOtherWritesWork", func(t *testing.T, e *env) {
		p := e.createProject(alice, "Home")
		var last *taskapi.Task
		for i := range testLimits.Tasks {
			last = e.createTask(task(alice, fmt.Sprint(i)))
		}
		if _, err := e.s.UpdateTask(e.ctx, alice, last.ID, taskapi.TaskUpdate{Name: ptr("renamed"), ProjectID: taskapi.Value(p.ID)}, taskapi.Precondition{}); err != nil {
			t.Fatalf("update at the cap: %v", err)
		}
		if _, err := e.s.UpdateProject(e.ctx, alice, p.ID, taskapi.ProjectUpdate{Name: ptr("Away")}, taskapi.Precondition{}); err != nil {
			t.Fatalf("update of a project: %v", err)
		}
		if err := e.s.DeleteProject(e.ctx, alice, p.ID, taskapi.Precondition{}); err != nil {
			t.Fatalf("delete of a project with tasks: %v", err)
		}
		if got := e.mustTask(alice, last.ID); got.ProjectID != nil || got.Name != "renamed" {
			t.Fatalf("task after its project's delete: %+v", got)
		}
	}},
	{"BelowCapErrorsUnchanged", func(t *testing.T, e *env) {
		e.createTask(task(alice, "First", withID("dup")))
		wantCode(t, e.s.CreateTask(e.ctx, task(alice, "Second", withID("dup"))), taskapi.ECONFLICT)
		wantField(t, e.s.CreateTask(e.ctx, task(alice, "Sneaky", inProject(e.createProject(bob, "Bob's").ID))), "project_id")
		p := &taskapi.Project{ID: "pdup", UserID: alice, Name: "x"}
		if err := e.s.CreateProject(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.s.CreateProject(e.ctx, &taskapi.Project{ID: "pdup", UserID: bob, Name: "y"}), taskapi.ECONFLICT)
		// The failures took no place: alice can still fill her cap.
		for i := 1; i < testLimits.Tasks; i++ {
			e.createTask(task(alice, fmt.Sprint(i)))
		}
		wantCode(t, e.s.CreateTask(e.ctx, task(alice, "over")), taskapi.ELIMIT)
	}},
	{"ConcurrentCreatesStopAtCap", func(t *testing.T, e *env) {
		// Creates of one user at once: exactly the cap's number go in,
		// whatever the interleaving.
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			wg.Go(func() { errs[i] = e.s.CreateTask(e.ctx, task(alice, fmt.Sprint(i))) })
			wg.Go(func() { errs[n+i] = e.s.CreateProject(e.ctx, &taskapi.Project{UserID: alice, Name: fmt.Sprint(i)}) })
		}
		wg.Wait()
		created := map[string]int{}
		for i, err := range errs {
			kind := "tasks"
			if i >= n {
				kind = "projects"
			}
			switch taskapi.ErrorCode(err) {
			case "":
				created[kind]++
			case taskapi.ELIMIT:
			default:
				t.Fatalf("%s: %v", kind, err)
			}
		}
		if created["tasks"] != testLimits.Tasks || created["projects"] != testLimits.Projects {
			t.Fatalf("created %v; want %d tasks and %d projects", created, testLimits.Tasks, testLimits.Projects)
		}
		if got := len(e.allTasks(taskapi.TaskFilter{UserID: alice}, 10)); got != testLimits.Tasks {
			t.Fatalf("%d tasks stored, want %d", got, testLimits.Tasks)
		}
		if got := e.projectCount(e.s, alice); got != testLimits.Projects {
			t.Fatalf("%d projects stored, want %d", got, testLimits.Projects)
		}
	}},
}
