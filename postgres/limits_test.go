package postgres

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// TestCapAcrossInstances: two stores (two instances) on one schema, a cap
// of 5, 10 creates of one user at once, half through each: exactly 5 go
// in, the others are refused with ELIMIT. The lock that makes them take
// turns is the database's, not a process's.
func TestCapAcrossInstances(t *testing.T) {
	const limit, n = 5, 10
	url := pgtest.Schema(t)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), url, WithLimits(taskapi.Limits{Tasks: limit, Projects: limit}))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	for _, kind := range []string{"task", "project"} {
		t.Run(kind, func(t *testing.T) {
			var created, refused atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					var err error
					if kind == "task" {
						err = stores[i%2].CreateTask(t.Context(), &taskapi.Task{UserID: "u", Name: fmt.Sprint(i)})
					} else {
						err = stores[i%2].CreateProject(t.Context(), &taskapi.Project{UserID: "u", Name: fmt.Sprint(i)})
					}
					switch taskapi.ErrorCode(err) {
					case "":
						created.Add(1)
					case taskapi.ELIMIT:
						refused.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if created.Load() != limit || refused.Load() != n-limit {
				t.Fatalf("%d %ss created, %d refused; want %d and %d", created.Load(), kind, refused.Load(), limit, n-limit)
			}
			var rows int
			if err := admin(t, url).QueryRow(t.Context(), `SELECT count(*) FROM `+kind+`s WHERE user_id = 'u'`).Scan(&rows); err != nil || rows != limit {
				t.Fatalf("%d rows stored (%v), want %d", rows, err, limit)
			}
		})
	}
}

// TestCappedCreateErrorKeepsConnection: a capped create that fails in
// the middle of its batch (a duplicate id) rolls its transaction back and
// gives the connection back to the pool in a usable state, instead of
// leaving it for the pool to close.
func TestCappedCreateErrorKeepsConnection(t *testing.T) {
	s, err := Open(t.Context(), pgtest.Schema(t)+"&pool_max_conns=1", WithLimits(taskapi.Limits{Tasks: 10, Projects: 10}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateTask(ctx, &taskapi.Task{ID: "dup", UserID: "u", Name: "first"}); err != nil {
		t.Fatal(err)
	}
	conns := s.pool.Stat().NewConnsCount()
	for range 3 {
		err := s.CreateTask(ctx, &taskapi.Task{ID: "dup", UserID: "u", Name: "again"})
		if taskapi.ErrorCode(err) != taskapi.ECONFLICT {
			t.Fatalf("duplicate id: %v, want ECONFLICT", err)
		}
		err = s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "x", ProjectID: ptr("none")})
		if taskapi.ErrorCode(err) != taskapi.EINVALID {
			t.Fatalf("no such project: %v, want EINVALID", err)
		}
		if err := s.CreateProject(ctx, &taskapi.Project{ID: "dup", UserID: "u", Name: "p"}); err != nil && taskapi.ErrorCode(err) != taskapi.ECONFLICT {
			t.Fatal(err)
		}
	}
	if err := s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "after"}); err != nil {
		t.Fatal(err)
	}
	if got := s.pool.Stat().NewConnsCount(); got != conns {
		t.Fatalf("the pool opened %d connections after failed creates, want none", got-conns)
	}
}

// TestCountUsesAnIndex: with a realistic spread of rows over users, the
// planner reads one user's rows by an index on user_id, not the table. (It
// may read them from the index alone, or not: whether the visibility map
// lets it depends on transactions elsewhere in the database, such as
// parallel tests, so the test does not ask for an index-only scan.)
func TestCountUsesAnIndex(t *testing.T) {
	_, url := open(t)
	conn := admin(t, url)
	ctx := t.Context()
	for _, stmt := range []string{
		`INSERT INTO projects (id, user_id, name, created_at, updated_at, issuer)
			SELECT 'p' || g, 'u' || (g % 200), 'n', now(), now(), 'iss' FROM generate_series(1, 4000) g`,
		`INSERT INTO tasks (id, user_id, name, created_at, updated_at, issuer)
			SELECT 't' || g, 'u' || (g % 200), 'n', now(), now(), 'iss' FROM generate_series(1, 4000) g`,
		`VACUUM ANALYZE projects`, `VACUUM ANALYZE tasks`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{countTasksUpTo, countProjectsUpTo} {
		// At the cap, so that both steps run.
		count := "SELECT " + strings.NewReplacer("$2", "'u7'", "$11", "'iss'", "$8", "'iss'", "$12", "20", "$9", "20").Replace(q)
		rows, err := conn.Query(ctx, "EXPLAIN "+count)
		if err != nil {
			t.Fatalf("%s: %v", count, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		if !strings.Contains(all, "Index") || strings.Contains(all, "Seq Scan") {
			t.Errorf("%s\nplan:\n%s\nwant index scans, no sequential scan", count, all)
		}
	}
}
