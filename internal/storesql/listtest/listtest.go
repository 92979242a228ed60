// Package listtest is the test matrix of the task lists' plans, shared by
// the plan tests of both stores (sqlite, postgres): a user's seed rows
// shaped so that every plan of storesql.ListTasks is taken, every filter ×
// sort combination, and a reference list computed in Go to check the
// stores' pages against.
package listtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// Users and projects of the seed.
const (
	Big          = "auth0|big"   // BigTasks tasks
	Small        = "auth0|small" // SmallTasks tasks, beside many like it
	BigProject   = "p-big"       // half of Big's tasks
	SmallProject = "p-small"     // 1% of Big's tasks
	BigTasks     = 3 * storesql.ProbeLimit
	SmallTasks   = 100
)

// Start is the created_at of the first task of the seed.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Tasks returns n tasks of user, with ids prefixed by user: half completed,
// due dates over 100 days with one in ten without, "Rare" in 1% of the
// descriptions; for Big, half in BigProject and 1% in SmallProject,
// "common" in a twentieth of the names and "Éclair" in a tenth.
func Tasks(user string, n int) []*taskapi.Task {
	tasks := make([]*taskapi.Task, n)
	for i := range tasks {
		t := &taskapi.Task{
			ID:        fmt.Sprintf("%s-%05d", user, (i*7919)%n), // ids not in created order
			UserID:    user,
			Name:      fmt.Sprintf("Task %d", i%500), // names repeat: ties broken by id
			CreatedAt: Start.Add(time.Duration(i) * time.Second),
			UpdatedAt: Start.Add(time.Duration((i*31)%n) * time.Minute),
			Version:   1,
		}
		if i%20 == 0 && user == Big { // words of Big's alone: rare in the table
			t.Name += " common"
		}
		if i%10 == 3 && user == Big {
			t.Name = "Éclair " + t.Name
		}
		if i%100 == 7 {
			t.Description = ptr("a Rare note")
		} else if i%3 == 0 {
			t.Description = ptr("plain words")
		}
		if i%10 != 0 {
			d := taskapi.NewDate(2026, 1, 1+i%100)
			t.DueDate = &d
		}
		if i%2 == 1 {
			c := Start.Add(time.Duration((i*13)%n) * time.Hour)
			t.CompletedOn = &c
		}
		if user == Big {
			switch {
			case i%100 == 5:
				t.ProjectID = ptr(SmallProject)
			case i%2 == 0:
				t.ProjectID = ptr(BigProject)
			}
		}
		tasks[i] = t
	}
	return tasks
}

// Case is one filter of the matrix.
type Case struct {
	Name   string
	Filter taskapi.TaskFilter // without UserID, Sort, Limit
}

// Cases returns the filters of the matrix: none, each filter alone (with
// few and with many matching rows), and some together.
func Cases() []Case {
	due := func(y, m, d int) *taskapi.Date { v := taskapi.NewDate(y, time.Month(m), d); return &v }
	return []Case{
		{"none", taskapi.TaskFilter{}},
		{"completed", taskapi.TaskFilter{Completed: ptr(true)}},
		{"open", taskapi.TaskFilter{Completed: ptr(false)}},
		{"big project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{ID: BigProject}}},
		{"small project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{ID: SmallProject}}},
		{"no project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{None: true}}},
		{"due before, 9%", taskapi.TaskFilter{DueBefore: due(2026, 1, 11)}},
		{"due after, most", taskapi.TaskFilter{DueAfter: due(2026, 1, 5)}},
		{"due before, none", taskapi.TaskFilter{DueBefore: due(2000, 1, 1)}},
		{"due between", taskapi.TaskFilter{DueAfter: due(2026, 1, 20), DueBefore: due(2026, 1, 30)}},
		{"search common", taskapi.TaskFilter{Search: "COMMON"}},
		{"search rare", taskapi.TaskFilter{Search: "rare"}},
		{"search absent", taskapi.TaskFilter{Search: "zebra"}},
		{"search unicode", taskapi.TaskFilter{Search: "ÉCLAIR"}},
		{"search across words", taskapi.TaskFilter{Search: "ASK 12"}},
		{"search short", taskapi.TaskFilter{Search: "ar"}},
		{"search short absent", taskapi.TaskFilter{Search: "q"}},
		{"open, due before", taskapi.TaskFilter{Completed: ptr(false), DueBefore: due(2026, 1, 11)}},
		{"open in big project", taskapi.TaskFilter{Completed: ptr(false), Project: taskapi.ProjectFilter{ID: BigProject}}},
		{"search in small project", taskapi.TaskFilter{Search: "éclair", Project: taskapi.ProjectFilter{ID: SmallProject}}},
		{"search open, due after", taskapi.TaskFilter{Search: "common", Completed: ptr(false), DueAfter: due(2026, 1, 50)}},
	}
}

// Sorts returns every sort of a task list.
func Sorts() []taskapi.Sort {
	var sorts []taskapi.Sort
	for _, f := range []taskapi.SortField{taskapi.SortCreatedAt, taskapi.SortUpdatedAt, taskapi.SortDueDate, taskapi.SortName, taskapi.SortCompletedOn} {
		sorts = append(sorts, taskapi.Sort{Field: f}, taskapi.Sort{Field: f, Desc: true})
	}
	return sorts
}

// Want returns the tasks of all that f selects, in f.Sort order: the
// definition the stores' lists must agree with.
func Want(all []*taskapi.Task, f taskapi.TaskFilter) []*taskapi.Task {
	var want []*taskapi.Task
	term := strings.ToLower(f.Search)
	for _, t := range all {
		switch {
		case t.UserID != f.UserID,
			f.Completed != nil && *f.Completed != (t.CompletedOn != nil),
			f.Project.None && t.ProjectID != nil,
			f.Project.ID != "" && (t.ProjectID == nil || *t.ProjectID != f.Project.ID),
			f.DueBefore != nil && (t.DueDate == nil || !t.DueDate.Before(*f.DueBefore)),
			f.DueAfter != nil && (t.DueDate == nil || !t.DueDate.After(*f.DueAfter)),
			term != "" && !strings.Contains(strings.ToLower(t.Name), term) &&
				(t.Description == nil || !strings.Contains(strings.ToLower(*t.Description), term)):
			continue
		}
		want = append(want, t)
	}
	field := f.Sort.Field
	if field == "" {
		field = taskapi.SortCreatedAt
	}
	slices.SortFunc(want, func(a, b *taskapi.Task) int {
		c := compare(a, b, field)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if f.Sort.Desc {
			return -c
		}
		return c
	})
	return want
}

// compare orders a and b by field, a missing value last.
func compare(a, b *taskapi.Task, field taskapi.SortField) int {
	switch field {
	case taskapi.SortCreatedAt:
		return a.CreatedAt.Compare(b.CreatedAt)
	case taskapi.SortUpdatedAt:
		return a.UpdatedAt.Compare(b.UpdatedAt)
	case taskapi.SortName:
		return strings.Compare(a.Name, b.Name)
	}
	va, vb := a.SortValue(field), b.SortValue(field)
	switch {
	case va == nil && vb == nil:
		return 0
	case va == nil:
		return 1
	case vb == nil:
		return -1
	case field == taskapi.SortCompletedOn:
		return a.CompletedOn.Compare(*b.CompletedOn)
	}
	return strings.Compare(*va, *vb)
}

// Pages is how many pages Check reads of each list.
const Pages = 3

// Check reads the first Pages pages of f with list, each of limit tasks,
// and reports on t where they differ from want. Pages of a search may hold
// fewer tasks than limit (storesql's window): they must still follow one
// another in want's order.
func Check(t *testing.T, want []*taskapi.Task, f taskapi.TaskFilter, list func(taskapi.TaskFilter) (*taskapi.TaskPage, error)) {
	t.Helper()
	var got []string
	for range Pages {
		page, err := list(f)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(page.Tasks) > f.Limit {
			t.Fatalf("a page of %d tasks, limit %d", len(page.Tasks), f.Limit)
		}
		if f.Search == "" && page.Next != nil && len(page.Tasks) < f.Limit {
			t.Fatalf("a short page of %d tasks with a next page, without a search", len(page.Tasks))
		}
		for _, task := range page.Tasks {
			got = append(got, task.ID)
		}
		if page.Next == nil {
			break
		}
		f.After = page.Next
	}
	var wantIDs []string
	for _, task := range want {
		wantIDs = append(wantIDs, task.ID)
	}
	if len(got) > len(wantIDs) || !slices.Equal(got, wantIDs[:len(got)]) {
		t.Fatalf("listed %d tasks %v…, want %d in the order %v…", len(got), head(got), len(wantIDs), head(wantIDs))
	}
	if f.Search == "" && len(got) < min(len(wantIDs), Pages*f.Limit) {
		t.Fatalf("listed %d tasks in %d pages, want %d", len(got), Pages, min(len(wantIDs), Pages*f.Limit))
	}
}

func head(ids []string) []string { return ids[:min(len(ids), 5)] }

func ptr[T any](v T) *T { return &v }
