package sqlite

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

func TestFTSQuery(t *testing.T) {
	for _, tc := range []struct{ term, want string }{
		{"abc", `"abc"`},
		{"MILK", `"mil" AND "ilk"`},
		{"abcdef", `"abc" AND "def"`},
		{"abcdefg", `"abc" AND "def" AND "efg"`},
		{`a"b`, `"a""b"`},
		{"BRÛLÉE", `"brû" AND "lée"`},
	} {
		if got := ftsQuery(tc.term); got != tc.want {
			t.Errorf("ftsQuery(%q) = %s, want %s", tc.term, got, tc.want)
		}
	}
}

// textSearch returns the ids of user's tasks that contain term by the
// plan of an indexed search: the text index's candidates, rechecked.
func textSearch(t *testing.T, s *Store, user, term string) []string {
	t.Helper()
	ids, err := queryAll(t.Context(), s, "search", func(r rowScanner) (id string, err error) { return id, r.Scan(&id) },
		`SELECT id FROM tasks WHERE user_id = ? AND issuer = ? AND `+textCandidates+` AND `+dialect.Search+` ORDER BY id`,
		append(append([]any{user, s.issuer}, textCandidatesArgs(term, user, s.issuer)...), strings.ToLower(term), strings.ToLower(term))...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestTextIndex runs random creates, updates, deletes and moves of a task
// to another user, some by plain SQL as the sqlite3 shell would write them, with the index brought up to
// date now and then (and the store reopened, as after a crash), and after
// every step compares each search through the index with a scan of every
// task. At the end the index holds exactly the rows of tasks.
func TestTextIndex(t *testing.T) {
	s, path := open(t, withTick(make(chan time.Time)))
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"milk", "Éclair", "bread", "MILKSHAKE", "brûlée", "tea", "abc\"def"}
	text := func() string {
		var w []string
		for range 1 + rng.IntN(3) {
			w = append(w, words[rng.IntN(len(words))])
		}
		return strings.Join(w, " ")
	}
	users := []string{"auth0|a", "auth0|b"}
	live := map[string]*taskapi.Task{}
	ids := func() []string {
		var ids []string
		for id := range live {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	check := func(step int) {
		t.Helper()
		for _, user := range users {
			for _, term := range []string{"milk", "MILKS", "éclair", "rûl", "bread tea", "c\"d", "zzz"} {
				var want []string
				for _, id := range ids() {
					task := live[id]
					if task.UserID == user && (containsLower(task.Name, strings.ToLower(term)) ||
						task.Description != nil && containsLower(*task.Description, strings.ToLower(term))) {
						want = append(want, id)
					}
				}
				if got := textSearch(t, s, user, term); !slices.Equal(got, want) {
					t.Fatalf("step %d: search %q of %s = %v, want %v", step, term, user, got, want)
				}
			}
		}
	}
	for step := range 400 {
		switch op := rng.IntN(10); {
		case op < 4 || len(live) == 0:
			desc := text()
			task := &taskapi.Task{UserID: users[rng.IntN(2)], Name: text(), Description: &desc}
			if err := s.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
			live[task.ID] = task
		case op < 6:
			id := ids()[rng.IntN(len(live))]
			name := text()
			u, err := s.UpdateTask(ctx, live[id].UserID, id, taskapi.TaskUpdate{Name: &name}, taskapi.Precondition{})
			if err != nil {
				t.Fatal(err)
			}
			live[id] = u
		case op < 7: // the newest task, so that SQLite may reuse its seq
			all := ids()
			slices.SortFunc(all, func(a, b string) int { return live[a].CreatedAt.Compare(live[b].CreatedAt) })
			id := all[len(all)-1]
			if err := s.DeleteTask(ctx, live[id].UserID, id, taskapi.Precondition{}); err != nil {
				t.Fatal(err)
			}
			delete(live, id)
		case op < 8: // by plain SQL, without the store's functions
			id := fmt.Sprintf("shell-%d", step)
			name, desc := text(), text()
			now := formatTime(time.Now())
			if _, err := s.write.ExecContext(ctx, `INSERT INTO tasks (id, user_id, name, description, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`, id, users[0], name, desc, now, now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.write.ExecContext(ctx, `UPDATE tasks SET description = ? WHERE id = ?`, strings.ToUpper(desc), id); err != nil {
				t.Fatal(err)
			}
			desc = strings.ToUpper(desc)
			live[id] = &taskapi.Task{ID: id, UserID: users[0], Name: name, Description: &desc, CreatedAt: time.Now()}
		case op < 9 && step%2 == 0: // to the other user, by plain SQL
			id := ids()[rng.IntN(len(live))]
			to := users[0]
			if live[id].UserID == to {
				to = users[1]
			}
			if _, err := s.write.ExecContext(ctx, `UPDATE tasks SET user_id = ? WHERE id = ?`, to, id); err != nil {
				t.Fatal(err)
			}
			moved := *live[id]
			moved.UserID = to
			live[id] = &moved
		case op < 9:
			if _, err := s.indexText(ctx); err != nil {
				t.Fatal(err)
			}
		default: // a restart keeps what is indexed and what is not
			s.Close()
			var err error
			if s, err = Open(ctx, path, withTick(make(chan time.Time))); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
		}
		check(step)
	}
	if _, err := s.indexText(ctx); err != nil {
		t.Fatal(err)
	}
	check(-1)
	var pending, stale int
	if err := s.write.QueryRow(`SELECT (SELECT count(*) FROM tasks WHERE seq > (SELECT indexed_to FROM task_text_state)),
		(SELECT count(*) FROM task_text_stale)`).Scan(&pending, &stale); err != nil || pending+stale != 0 {
		t.Fatalf("after indexing: %d rows not indexed, %d stale (%v)", pending, stale, err)
	}
	var extra int
	if err := s.write.QueryRow(`SELECT count(*) FROM task_text WHERE rowid NOT IN
		(SELECT u.no * ` + userSpan + ` + t.seq FROM tasks AS t JOIN task_text_users AS u USING (user_id, issuer))`).Scan(&extra); err != nil || extra != 0 {
		t.Fatalf("the index holds %d rows that are gone (%v)", extra, err)
	}
}

// TestIndexingPlans checks that indexing reads the tasks it indexes by
// seq, and each one's user by its key: never a user's every task.
func TestIndexingPlans(t *testing.T) {
	s, _ := open(t)
	for _, tc := range []struct {
		query string
		args  []any
	}{
		{qIndexNew, []any{1, 5}},
		{qIndexStale, []any{5}},
	} {
		plan := queryPlan(t, s.write, tc.query, tc.args...)
		if !strings.HasPrefix(plan, "SEARCH t USING INTEGER PRIMARY KEY") ||
			!strings.Contains(plan, "SEARCH u USING COVERING INDEX sqlite_autoindex_task_text_users_1 (user_id=? AND issuer=?)") {
			t.Errorf("plan of %s:\n%s", tc.query, plan)
		}
	}
}
