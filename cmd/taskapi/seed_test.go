package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/postgres/pgtest"
	"github.com/taskapi/taskapi/sqlite"
)

// databases returns a DATABASE_URL for each store: a fresh SQLite file and
// a fresh PostgreSQL schema (pgtest skips, or fails under CI, when the
// server is not there).
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") },
		"postgres": func(t *testing.T) string { return pgtest.Schema(t) },
	}
}

// snapshot is everything the store at databaseURL holds for one user of
// the development issuer (seed's default).
func snapshot(t *testing.T, databaseURL, user string) (projects []taskapi.Project, tasks []taskapi.Task) {
	t.Helper()
	ctx := context.Background()
	db, err := parseDatabaseURL(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(ctx, db, taskapi.Limits{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	users := store.ForIssuer(httpapi.CanonicalIssuer(issuerURL(devIssuerAddr)))
	pp, err := users.Projects(ctx, taskapi.ProjectListFilter{UserID: user, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pp.Projects {
		projects = append(projects, *p)
	}
	tp, err := users.Tasks(ctx, taskapi.TaskFilter{UserID: user, Limit: 100, Sort: taskapi.Sort{Field: taskapi.SortName}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tp.Tasks {
		tasks = append(tasks, *tk)
	}
	return projects, tasks
}

func TestSeedIdempotent(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) { testSeedIdempotent(t, newDB(t)) })
	}
}

func testSeedIdempotent(t *testing.T, databaseURL string) {
	t.Chdir(t.TempDir())
	env := map[string]string{"SEED_USERS": "google-oauth2|100541667735869923759, auth0|bob", "DATABASE_URL": databaseURL}

	r := runCmd(t, env, "seed", "-user", "dev|alice")
	if r.err != nil {
		t.Fatalf("seed: %v\n%s", r.err, r.stderr)
	}
	if got := strings.Count(r.stdout, "(3 created, 0 already there)"); got != 3 {
		t.Errorf("first run output:\n%s\nwant 3 users with 3 rows created each", r.stdout)
	}
	users := []string{"dev|alice", "google-oauth2|100541667735869923759", "auth0|bob"}
	type data struct {
		projects []taskapi.Project
		tasks    []taskapi.Task
	}
	first := map[string]data{}
	today := taskapi.DateOf(time.Now().UTC())
	for _, u := range users {
		p, tk := snapshot(t, databaseURL, u)
		first[u] = data{p, tk}
		if len(p) != 1 || len(tk) != 2 {
			t.Fatalf("%s: %d projects and %d tasks, want 1 and 2", u, len(p), len(tk))
		}
		var inProject, without int
		for _, task := range tk {
			switch {
			case task.ProjectID == nil:
				without++
			case *task.ProjectID == p[0].ID:
				inProject++
			}
			if task.DueDate == nil || !task.DueDate.After(today) {
				t.Errorf("%s: task %q due %v, want a future date", u, task.Name, task.DueDate)
			}
			if task.UserID != u || task.Completed() {
				t.Errorf("%s: task %+v", u, task)
			}
		}
		if inProject != 1 || without != 1 {
			t.Errorf("%s: %d tasks in the project and %d without, want 1 and 1", u, inProject, without)
		}
	}

	r = runCmd(t, env, "seed", "-user", "dev|alice")
	if r.err != nil {
		t.Fatalf("second seed: %v\n%s", r.err, r.stderr)
	}
	if got := strings.Count(r.stdout, "(0 created, 3 already there)"); got != 3 {
		t.Errorf("second run output:\n%s\nwant every row already there", r.stdout)
	}
	for _, u := range users {
		p, tk := snapshot(t, databaseURL, u)
		if !slices.EqualFunc(p, first[u].projects, sameProject) || !slices.EqualFunc(tk, first[u].tasks, sameTask) {
			t.Errorf("%s: data changed by the second run:\n%+v %+v\nwas\n%+v %+v", u, p, tk, first[u].projects, first[u].tasks)
		}
	}
}

func sameProject(a, b taskapi.Project) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Version == b.Version && a.UpdatedAt.Equal(b.UpdatedAt)
}

func sameTask(a, b taskapi.Task) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Version == b.Version && a.UpdatedAt.Equal(b.UpdatedAt) &&
		*a.DueDate == *b.DueDate && (a.ProjectID == nil) == (b.ProjectID == nil)
}

func TestSeedRecreatesDeletedRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	if n, err := seedUser(ctx, store, "", "u", now); err != nil || n != 3 {
		t.Fatalf("seedUser = %d, %v; want 3 rows", n, err)
	}
	if err := store.DeleteTask(ctx, "u", seedID("", "u", "task-1"), taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if n, err := seedUser(ctx, store, "", "u", now); err != nil || n != 1 {
		t.Fatalf("seedUser after a delete = %d, %v; want the 1 missing row", n, err)
	}
}

func TestSeedErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, "no users: give -user SUB"},
		{map[string]string{"SEED_USERS": " , "}, nil, "no users"},
		{nil, []string{"-user", ""}, `-user "": empty`},
		{nil, []string{"-user", strings.Repeat("x", 256)}, "longer than 255 characters"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, []string{"-user", "u"}, `unsupported scheme "mysql"`},
	}
	for _, tt := range tests {
		r := runCmd(t, tt.env, append([]string{"seed"}, tt.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("seed %v (env %v): err = %v, want %q", tt.args, tt.env, r.err, tt.want)
		}
	}
	if _, err := os.Stat("taskapi.db"); err == nil {
		t.Error("a failed seed created taskapi.db")
	}
}

func TestMigrate(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			databaseURL := newDB(t)
			db, _ := parseDatabaseURL(databaseURL)
			env := map[string]string{"DATABASE_URL": databaseURL}
			for range 2 { // the second run finds nothing to do
				r := runCmd(t, env, "migrate")
				if r.err != nil || r.stdout != "migrations applied to "+db.String()+"\n" {
					t.Fatalf("migrate: %v, %q", r.err, r.stdout)
				}
			}
			p, tk := snapshot(t, databaseURL, "nobody")
			if len(p) != 0 || len(tk) != 0 {
				t.Errorf("fresh database holds %d projects, %d tasks", len(p), len(tk))
			}
		})
	}
}

func TestMigrateSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if r := runCmd(t, nil, "migrate"); r.err != nil || r.stdout != "migrations applied to taskapi.db\n" {
		t.Fatalf("migrate: %v, %q", r.err, r.stdout)
	}
	p, tk := snapshot(t, "sqlite:taskapi.db", "nobody")
	if len(p) != 0 || len(tk) != 0 {
		t.Errorf("fresh database holds %d projects, %d tasks", len(p), len(tk))
	}
}
