package storetest

import (
	"slices"
	"testing"

	"github.com/taskapi/taskapi"
)

// Issuers of the suite's tokens.
const (
	issuerA = "https://a.example.com/"
	issuerB = "https://b.example.com/"
)

var issuerTests = []test{
	{"SameSubjectOfAnotherIssuerIsAnotherUser", func(t *testing.T, e *env) {
		a, b := e.s.ForIssuer(issuerA), e.s.ForIssuer(issuerB)
		p := &taskapi.Project{UserID: alice, Name: "A's project"}
		if err := a.CreateProject(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		task := &taskapi.Task{UserID: alice, Name: "A's task", ProjectID: &p.ID}
		if err := a.CreateTask(e.ctx, task); err != nil {
			t.Fatal(err)
		}
		for _, other := range []struct {
			name string
			s    taskapi.IssuerStore
		}{{"issuer B", b}, {"no issuer", e.s}} {
			s := other.s
			if _, err := s.Task(e.ctx, alice, task.ID); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s reads A's task: %v", other.name, err)
			}
			if _, err := s.Project(e.ctx, alice, p.ID); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s reads A's project: %v", other.name, err)
			}
			if page, err := s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Limit: 10}); err != nil || len(page.Tasks) != 0 {
				t.Errorf("%s lists A's tasks: %v, %v", other.name, page, err)
			}
			if page, err := s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Limit: 10, Project: taskapi.ProjectFilter{ID: p.ID}}); err != nil || len(page.Tasks) != 0 {
				t.Errorf("%s lists the tasks of A's project: %v, %v", other.name, page, err)
			}
			if page, err := s.Projects(e.ctx, taskapi.ProjectListFilter{UserID: alice, Limit: 10}); err != nil || len(page.Projects) != 0 {
				t.Errorf("%s lists A's projects: %v, %v", other.name, page, err)
			}
			if _, err := s.UpdateTask(e.ctx, alice, task.ID, taskapi.TaskUpdate{Name: ptr("taken")}, taskapi.Precondition{}); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s updates A's task: %v", other.name, err)
			}
			if _, err := s.UpdateProject(e.ctx, alice, p.ID, taskapi.ProjectUpdate{Name: ptr("taken")}, taskapi.Precondition{}); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s updates A's project: %v", other.name, err)
			}
			if err := s.DeleteTask(e.ctx, alice, task.ID, taskapi.Precondition{}); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s deletes A's task: %v", other.name, err)
			}
			if err := s.DeleteProject(e.ctx, alice, p.ID, taskapi.Precondition{}); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
				t.Errorf("%s deletes A's project: %v", other.name, err)
			}
			if err := s.CreateTask(e.ctx, &taskapi.Task{UserID: alice, Name: "into A's project", ProjectID: &p.ID}); taskapi.ErrorCode(err) != taskapi.EINVALID {
				t.Errorf("%s files a task in A's project: %v", other.name, err)
			}
		}
		// B's own rows of the same subject, and a project of B's deleted:
		// A's rows are as they were.
		bp := &taskapi.Project{UserID: alice, Name: "B's project"}
		if err := b.CreateProject(e.ctx, bp); err != nil {
			t.Fatal(err)
		}
		if err := b.DeleteProject(e.ctx, alice, bp.ID, taskapi.Precondition{}); err != nil {
			t.Fatal(err)
		}
		got, err := a.Task(e.ctx, alice, task.ID)
		if err != nil || got.Name != "A's task" || got.ProjectID == nil || *got.ProjectID != p.ID || got.Version != 1 {
			t.Fatalf("A's task after B's writes: %+v, %v", got, err)
		}
	}},
	{"AssignIssuer", func(t *testing.T, e *env) {
		old := e.createTask(task(alice, "written before issuers"))
		e.createProject(bob, "also before")
		if err := e.s.ForIssuer(issuerB).CreateTask(e.ctx, task(alice, "B's")); err != nil {
			t.Fatal(err)
		}
		if got, err := e.s.Issuers(e.ctx); err != nil || !slices.Equal(got, []string{"", issuerB}) {
			t.Fatalf("Issuers = %q, %v; want \"\" and B", got, err)
		}
		n, err := e.s.AssignIssuer(e.ctx, issuerA)
		if err != nil || n != 2 {
			t.Fatalf("AssignIssuer = %d, %v; want 2 rows", n, err)
		}
		if got, err := e.s.Issuers(e.ctx); err != nil || !slices.Equal(got, []string{issuerA, issuerB}) {
			t.Fatalf("Issuers after AssignIssuer = %q, %v; want A and B", got, err)
		}
		if _, err := e.s.ForIssuer(issuerA).Task(e.ctx, alice, old.ID); err != nil {
			t.Errorf("A's user after AssignIssuer: %v", err)
		}
		if _, err := e.s.Task(e.ctx, alice, old.ID); taskapi.ErrorCode(err) != taskapi.ENOTFOUND {
			t.Errorf("no issuer after AssignIssuer still reads the task: %v", err)
		}
		if n, err := e.s.AssignIssuer(e.ctx, issuerB); err != nil || n != 0 {
			t.Errorf("second AssignIssuer = %d, %v; want nothing left", n, err)
		}
	}},
}
