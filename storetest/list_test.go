package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

var listTests = []test{
	{"Filters", testFilters},
	{"SearchUnicode", testSearchUnicode},
	{"Sort", testSort},
	{"Pages", testPages},
	{"PagesUnderChange", testPagesUnderChange},
	{"BadRequests", testBadRequests},
}

// testFilters checks each filter, alone and together, against a set of
// tasks of alice; bob's tasks match every filter and must never show.
func testFilters(t *testing.T, e *env) {
	home := e.createProject(alice, "Home")
	work := e.createProject(alice, "Work")
	bobs := e.createProject(bob, "Bob's")
	done := start.Add(-time.Hour)
	mk := func(name string, mods ...func(*taskapi.Task)) string {
		e.clock.advance(time.Second) // distinct created_at: the default order is creation
		return e.createTask(task(alice, name, mods...)).ID
	}
	milk := mk("Buy MILK", inProject(home.ID), due("2026-04-01"))
	dog := mk("Walk the dog", described("and buy some Milk on the way"), due("2026-04-02"), completed(done))
	pct := mk("Raise prices 100%", inProject(work.ID), due("2026-04-03"))
	under := mk("file_name cleanup", inProject(work.ID), completed(done))
	plain := mk("Plain", described("nothing here"))
	// Bob's tasks match everything alice asks for.
	for _, name := range []string{"Buy milk", "100% file_name"} {
		e.createTask(task(bob, name, inProject(bobs.ID), due("2026-04-02"), completed(done)))
		e.createTask(task(bob, name, due("2026-04-02")))
	}

	tests := []struct {
		name   string
		filter taskapi.TaskFilter
		want   []string
	}{
		{"none", taskapi.TaskFilter{}, []string{milk, dog, pct, under, plain}},
		{"completed", taskapi.TaskFilter{Completed: ptr(true)}, []string{dog, under}},
		{"not completed", taskapi.TaskFilter{Completed: ptr(false)}, []string{milk, pct, plain}},
		{"search name, other case", taskapi.TaskFilter{Search: "milk"}, []string{milk, dog}},
		{"search upper case", taskapi.TaskFilter{Search: "MILK ON"}, []string{dog}},
		{"search description", taskapi.TaskFilter{Search: "Nothing"}, []string{plain}},
		{"search percent is literal", taskapi.TaskFilter{Search: "0%"}, []string{pct}},
		{"search lone percent", taskapi.TaskFilter{Search: "%"}, []string{pct}},
		{"search underscore is literal", taskapi.TaskFilter{Search: "e_n"}, []string{under}},
		{"search lone underscore", taskapi.TaskFilter{Search: "_"}, []string{under}},
		{"search no match", taskapi.TaskFilter{Search: "zebra"}, nil},
		{"search with completed", taskapi.TaskFilter{Search: "milk", Completed: ptr(false)}, []string{milk}},
		{"no project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{None: true}}, []string{dog, plain}},
		{"project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{ID: work.ID}}, []string{pct, under}},
		{"another user's project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{ID: bobs.ID}}, nil},
		{"unknown project", taskapi.TaskFilter{Project: taskapi.ProjectFilter{ID: "no-such-project"}}, nil},
		{"due before is strict", taskapi.TaskFilter{DueBefore: ptr(date("2026-04-02"))}, []string{milk}},
		{"due after is strict", taskapi.TaskFilter{DueAfter: ptr(date("2026-04-02"))}, []string{pct}},
		{"due between", taskapi.TaskFilter{DueAfter: ptr(date("2026-03-31")), DueBefore: ptr(date("2026-04-03"))}, []string{milk, dog}},
		{"due after, none match", taskapi.TaskFilter{DueAfter: ptr(date("2026-04-03"))}, nil},
		{"all together", taskapi.TaskFilter{Completed: ptr(false), Search: "b", Project: taskapi.ProjectFilter{ID: home.ID},
			DueBefore: ptr(date("2027-01-01")), DueAfter: ptr(date("2026-01-01"))}, []string{milk}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			f.UserID = alice
			for _, limit := range []int{100, 1} {
				got := e.allTasks(f, limit)
				for _, task := range got {
					if task.UserID != alice {
						t.Fatalf("listed %s of %s", task.ID, task.UserID)
					}
				}
				wantIDs(t, got, tc.want)
			}
		})
	}
}

// testSearchUnicode checks that search ignores the case of letters beyond
// ASCII too (lower-casing, not full case folding: ß need not match SS).
func testSearchUnicode(t *testing.T, e *env) {
	brulee := e.createTask(task(alice, "Crème BRÛLÉE")).ID
	e.clock.advance(time.Second)
	privet := e.createTask(task(alice, "Say hi", described("Привет, Мир"))).ID
	for search, want := range map[string][]string{
		"brûlée": {brulee}, "CRÈME": {brulee}, "crème brûlée": {brulee},
		"привет": {privet}, "МИР": {privet}, " ": {brulee, privet}, "ü": nil,
	} {
		wantIDs(t, e.allTasks(taskapi.TaskFilter{UserID: alice, Search: search}, 10), want)
	}
}

// sortCase is one order of a list.
type sortCase struct {
	sort taskapi.Sort
	name string
}

func allSorts() []sortCase {
	var out []sortCase
	for _, f := range []taskapi.SortField{taskapi.SortCreatedAt, taskapi.SortUpdatedAt, taskapi.SortDueDate, taskapi.SortName, taskapi.SortCompletedOn} {
		out = append(out, sortCase{taskapi.Sort{Field: f}, string(f)}, sortCase{taskapi.Sort{Field: f, Desc: true}, "-" + string(f)})
	}
	return out
}

// compareTasks is the documented order: the field ascending, NULLs last,
// ties broken by id; descending is exactly the reverse.
func compareTasks(s taskapi.Sort) func(a, b *taskapi.Task) int {
	return func(a, b *taskapi.Task) int {
		c := compareNullable(sortValue(a, s.Field), sortValue(b, s.Field))
		if c == 0 {
			c = compareBytes(a.ID, b.ID)
		}
		if s.Desc {
			return -c
		}
		return c
	}
}

// sortValue is a task's value of field in a form that compares byte by
// byte like the values (nil when it has none).
func sortValue(t *taskapi.Task, field taskapi.SortField) *string {
	ts := func(t time.Time) *string { return ptr(t.UTC().Format("2006-01-02T15:04:05.000000000")) }
	switch field {
	case taskapi.SortCreatedAt:
		return ts(t.CreatedAt)
	case taskapi.SortUpdatedAt:
		return ts(t.UpdatedAt)
	case taskapi.SortDueDate:
		if t.DueDate == nil {
			return nil
		}
		return ptr(t.DueDate.String())
	case taskapi.SortName:
		return &t.Name
	case taskapi.SortCompletedOn:
		if t.CompletedOn == nil {
			return nil
		}
		return ts(*t.CompletedOn)
	}
	panic("unknown sort field " + field)
}

func compareNullable(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1 // NULLs last
	case b == nil:
		return -1
	}
	return compareBytes(*a, *b)
}

// sortFixture creates tasks of user with ties and gaps in every sort
// field, and returns them as stored.
func sortFixture(e *env, user string, rng *rand.Rand, n int) []*taskapi.Task {
	names := []string{"alpha", "Alpha", "beta", "alpha", "Zulu", "émile", "a", "alpha "}
	dues := []string{"", "2026-04-01", "2026-04-02", "2026-04-01", "", "2027-01-31"}
	var out []*taskapi.Task
	for range n {
		var mods []func(*taskapi.Task)
		if d := dues[rng.IntN(len(dues))]; d != "" {
			mods = append(mods, due(d))
		}
		switch rng.IntN(3) {
		case 0:
			mods = append(mods, completed(start.Add(-time.Hour)))
		case 1:
			mods = append(mods, completed(start.Add(-time.Duration(rng.IntN(3))*time.Minute)))
		}
		if rng.IntN(2) == 0 { // about half share a created_at with the one before
			e.clock.advance(time.Duration(1+rng.IntN(1000)) * time.Microsecond)
		}
		out = append(out, e.createTask(task(user, names[rng.IntN(len(names))], mods...)))
	}
	// Updates spread updated_at apart from created_at.
	for i := range out {
		if rng.IntN(3) == 0 {
			e.clock.advance(time.Millisecond)
			u, err := e.s.UpdateTask(e.ctx, user, out[i].ID, taskapi.TaskUpdate{Description: taskapi.Value("touched")}, taskapi.Precondition{})
			if err != nil {
				e.t.Fatal(err)
			}
			out[i] = u
		}
	}
	e.createTask(task(bob, "alpha", due("2026-04-01"))) // never listed
	return out
}

// testSort checks every sort field in both directions, whole and page by
// page, against the documented order.
func testSort(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(1, 2))
	tasks := sortFixture(e, alice, rng, 30)
	for _, sc := range allSorts() {
		t.Run(sc.name, func(t *testing.T) {
			want := slices.Clone(tasks)
			slices.SortFunc(want, compareTasks(sc.sort))
			for _, limit := range []int{100, 3} {
				got := e.allTasks(taskapi.TaskFilter{UserID: alice, Sort: sc.sort}, limit)
				wantIDs(t, got, ids(want))
			}
			// A filter and a sort together.
			var open []*taskapi.Task
			for _, t := range want {
				if t.CompletedOn == nil {
					open = append(open, t)
				}
			}
			got := e.allTasks(taskapi.TaskFilter{UserID: alice, Sort: sc.sort, Completed: ptr(false)}, 4)
			wantIDs(t, got, ids(open))
		})
	}
}

// testPages checks page sizes and the Next cursor for every limit.
func testPages(t *testing.T, e *env) {
	const n = 10
	var all []string
	for range n {
		e.clock.advance(time.Second)
		all = append(all, e.createTask(task(alice, "Task")).ID)
	}
	for limit := 1; limit <= n+2; limit++ {
		f := taskapi.TaskFilter{UserID: alice, Limit: limit}
		var got []string
		for page := 0; ; page++ {
			p, err := e.s.Tasks(e.ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			wantLen := min(limit, n-page*limit)
			if len(p.Tasks) != wantLen {
				t.Fatalf("limit %d, page %d: %d rows, want %d", limit, page, len(p.Tasks), wantLen)
			}
			got = append(got, ids(p.Tasks)...)
			last := (page+1)*limit >= n
			if last != (p.Next == nil) {
				t.Fatalf("limit %d, page %d of %d rows: Next = %+v", limit, page, len(p.Tasks), p.Next)
			}
			if p.Next == nil {
				break
			}
			if p.Next.ID != p.Tasks[len(p.Tasks)-1].ID {
				t.Fatalf("limit %d: Next names %s, not the page's last row", limit, p.Next.ID)
			}
			f.After = p.Next
		}
		if !slices.Equal(got, all) {
			t.Fatalf("limit %d:\n got %v\nwant %v", limit, got, all)
		}
	}
	p, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: bob, Limit: 5})
	if err != nil || len(p.Tasks) != 0 || p.Next != nil {
		t.Fatalf("a user without tasks: %v, %+v", err, p)
	}
}

// testPagesUnderChange walks pages while tasks are created and deleted
// between the calls: no task shows twice, every task that existed
// throughout shows exactly once, and the order holds.
func testPagesUnderChange(t *testing.T, e *env) {
	for i, sc := range allSorts() {
		t.Run(sc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			user := fmt.Sprintf("user %d", i) // a user of its own: the others' rows stay out
			alive := map[string]*taskapi.Task{}
			for _, task := range sortFixture(e, user, rng, 12) {
				alive[task.ID] = task
			}
			deleted := map[string]bool{}
			seen := map[string]bool{}
			var prev *taskapi.Task
			cmp := compareTasks(sc.sort)
			f := taskapi.TaskFilter{UserID: user, Sort: sc.sort, Limit: 3}
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("the pages never end")
				}
				p, err := e.s.Tasks(e.ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, task := range p.Tasks {
					if seen[task.ID] {
						t.Fatalf("page %d: %s listed twice", pages, task.ID)
					}
					if deleted[task.ID] {
						t.Fatalf("page %d: %s listed after its deletion", pages, task.ID)
					}
					seen[task.ID] = true
					if prev != nil && cmp(prev, task) >= 0 {
						t.Fatalf("page %d: %s (%v) listed after %s (%v)", pages, task.ID,
							str(sortValue(task, sc.sort.Field)), prev.ID, str(sortValue(prev, sc.sort.Field)))
					}
					prev = task
				}
				if p.Next == nil {
					break
				}
				f.After = p.Next
				// Between pages: two new tasks (their values fall before
				// and after the cursor at random), one deletion of a task
				// not listed yet and one of a task listed already.
				for range 2 {
					e.clock.advance(time.Duration(rng.IntN(3)) * time.Microsecond)
					e.createTask(task(user, fmt.Sprintf("new %c", 'a'+rng.IntN(26)), due(fmt.Sprintf("2026-04-%02d", 1+rng.IntN(3)))))
				}
				for _, wantSeen := range []bool{false, true} {
					for _, id := range slices.Sorted(maps.Keys(alive)) {
						if seen[id] == wantSeen {
							if err := e.s.DeleteTask(e.ctx, user, id, taskapi.Precondition{}); err != nil {
								t.Fatal(err)
							}
							delete(alive, id)
							deleted[id] = true
							break
						}
					}
				}
			}
			for id := range alive {
				if !seen[id] {
					t.Errorf("%s existed throughout but was never listed", id)
				}
			}
		})
	}
}

// testBadRequests checks the filters a store refuses.
func testBadRequests(t *testing.T, e *env) {
	e.createTask(task(alice, "Task"))
	tests := []struct {
		name string
		f    taskapi.TaskFilter
	}{
		{"limit 0", taskapi.TaskFilter{Limit: 0}},
		{"negative limit", taskapi.TaskFilter{Limit: -1}},
		{"unknown sort field", taskapi.TaskFilter{Limit: 5, Sort: taskapi.Sort{Field: "user_id"}}},
		{"cursor without a created_at", taskapi.TaskFilter{Limit: 5, After: &taskapi.Cursor{ID: "x"}}},
		{"cursor with a bad created_at", taskapi.TaskFilter{Limit: 5, After: &taskapi.Cursor{Value: ptr("yesterday"), ID: "x"}}},
		{"cursor with a bad due_date", taskapi.TaskFilter{Limit: 5, Sort: taskapi.Sort{Field: taskapi.SortDueDate},
			After: &taskapi.Cursor{Value: ptr("2026-13-01"), ID: "x"}}},
		{"cursor without a name", taskapi.TaskFilter{Limit: 5, Sort: taskapi.Sort{Field: taskapi.SortName}, After: &taskapi.Cursor{ID: "x"}}},
	}
	for _, tc := range tests {
		tc.f.UserID = alice
		_, err := e.s.Tasks(e.ctx, tc.f)
		if taskapi.ErrorCode(err) != taskapi.EBADREQUEST {
			t.Errorf("%s: %v, want %s", tc.name, err, taskapi.EBADREQUEST)
		}
	}
	// A nil cursor value is fine where the field may be empty.
	if _, err := e.s.Tasks(e.ctx, taskapi.TaskFilter{UserID: alice, Limit: 5, Sort: taskapi.Sort{Field: taskapi.SortDueDate},
		After: &taskapi.Cursor{ID: "x"}}); err != nil {
		t.Errorf("due_date cursor without a value: %v", err)
	}
}
