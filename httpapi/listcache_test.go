package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/sqlite"
)

func TestListCacheUnit(t *testing.T) {
	body := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	t.Run("hit only at the same version", func(t *testing.T) {
		c := newListCache(1 << 20)
		if _, ok := c.get("k", 0); ok {
			t.Fatal("hit in an empty cache")
		}
		c.put("k", 3, body(10), "<next>")
		if e, ok := c.get("k", 3); !ok || len(e.body) != 10 || e.link != "<next>" {
			t.Fatalf("get at the version put: %v %v", e, ok)
		}
		for _, v := range []int64{0, 2, 4} {
			if _, ok := c.get("k", v); ok {
				t.Errorf("hit at version %d, kept at 3", v)
			}
		}
		if h, m := c.hits.Load(), c.misses.Load(); h != 1 || m != 4 {
			t.Errorf("hits, misses = %d, %d; want 1, 4", h, m)
		}
	})
	t.Run("an older page does not replace a newer one", func(t *testing.T) {
		c := newListCache(1 << 20)
		c.put("k", 5, body(5), "")
		c.put("k", 4, body(4), "")
		if e, ok := c.get("k", 5); !ok || len(e.body) != 5 {
			t.Fatalf("version 5 page lost: %v %v", e, ok)
		}
		c.put("k", 6, body(6), "")
		if _, ok := c.get("k", 5); ok {
			t.Fatal("version 5 page still served after version 6 was put")
		}
		if n, size := c.len(); n != 1 || size != (&listEntry{key: "k", body: body(6)}).cost() {
			t.Fatalf("len = %d, %d bytes after replacing", n, size)
		}
	})
	t.Run("bounded by bytes, least recently used out first", func(t *testing.T) {
		const max = 8 * 1024
		c := newListCache(max)
		for i := range 20 {
			c.put(fmt.Sprint("k", i), 1, body(500), "")
			if i == 10 {
				c.get("k0", 1) // k0 recently used: kept longer than k1
			}
		}
		n, size := c.len()
		if size > max {
			t.Fatalf("%d bytes kept, bound %d", size, max)
		}
		if n < 10 {
			t.Fatalf("only %d pages kept in %d bytes", n, max)
		}
		if _, ok := c.get("k19", 1); !ok {
			t.Error("the newest page was evicted")
		}
		if _, ok := c.get("k1", 1); ok {
			t.Error("k1, the least recently used, is still kept")
		}
	})
	t.Run("a page over an eighth of the bound is not kept", func(t *testing.T) {
		c := newListCache(8 * 1024)
		c.put("big", 1, body(2*1024), "")
		if _, ok := c.get("big", 1); ok {
			t.Fatal("oversized page kept")
		}
	})
}

func TestListKey(t *testing.T) {
	// Requests that must never share a page: the same bytes split
	// differently between the sub, the path and the query.
	reqs := [][3]string{
		{"u", "/tasks", "limit=5"},
		{"u\x00", "/tasks", "limit=5"},
		{"u\x00/tasks\x00", "/x", ""},
		{"u", "/tasks\x00limit=5", ""},
		{"u1", "/tasks", ""},
		{"u", "1/tasks", ""},
		{"3:u", "/tasks", ""},
		{"u", "/tasks", ""},
		{"", "", ""},
		{"a", "b\x00c", "d"},
		{"a\x00b", "c", "d"},
		{"a", "b", "c"},
		{"a", "", "bc"},
	}
	seen := map[string][3]string{}
	for _, r := range reqs {
		k := listKey(r[0], r[1], r[2])
		if prev, ok := seen[k]; ok {
			t.Errorf("%q and %q share the key %q", prev, r, k)
		}
		seen[k] = r
	}
}

func TestListCacheConfig(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := NewServer(Config{Store: st, Authenticate: testAuthenticate, ListCacheBytes: -1}); err == nil {
		t.Error("negative ListCacheBytes accepted")
	}
	if _, err := NewServer(Config{Store: unversioned{st}, Authenticate: testAuthenticate, ListCacheBytes: 1 << 20}); err == nil ||
		!strings.Contains(err.Error(), "ListVersioner") {
		t.Errorf("a store without ListVersion: err = %v", err)
	}
	if _, err := NewServer(Config{Store: unversioned{st}, Authenticate: testAuthenticate}); err != nil {
		t.Errorf("a store without ListVersion and no cache: %v", err)
	}
}

// unversioned hides the ListVersion of a store.
type unversioned struct{ taskapi.Store }

// TestListCacheCoherent drives one database through a cached server, and
// through a server and a second store (another process on the same file)
// that the cached server knows nothing of, and checks after every write that
// the cached server answers each list exactly as an uncached one does.
func TestListCacheCoherent(t *testing.T) {
	clk := &clock{t: testStart}
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() *sqlite.Store {
		st, err := sqlite.Open(context.Background(), path, sqlite.WithNow(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	mine, other := open(), open()
	cached := newTestServer(t, func(c *Config) {
		c.Store, c.Now, c.ListCacheBytes, c.DefaultPageSize, c.Metrics = mine, clk.Now, 1<<20, 3, true
	})
	cached.store, cached.clock = mine, clk
	plain, err := NewServer(Config{Store: other, Authenticate: testAuthenticate, Now: cached.clock.Now, DefaultPageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	uncached := &testServer{t: t, handler: plain, store: other, clock: cached.clock, logs: &syncBuffer{}}

	const alice, bob = "auth0|alice", "auth0|bob"
	project := cached.createProject(alice, "home")["id"].(string)
	lists := []string{"/tasks", "/tasks?sort=name", "/tasks?completed=true", "/tasks?search=milk",
		"/projects/" + project + "/tasks", "/tasks?project_id=" + project}
	check := func(step string) {
		t.Helper()
		for _, user := range []string{alice, bob} {
			for _, path := range lists {
				for range 2 { // the second read is the one a stale cache would answer
					want := uncached.do(req{method: "GET", path: path, user: user})
					got := cached.do(req{method: "GET", path: path, user: user})
					if got.status != want.status || !bytes.Equal(got.raw, want.raw) || got.header.Get("Link") != want.header.Get("Link") {
						t.Fatalf("after %s, %s of %s:\ncached   %d %s Link %q\nuncached %d %s Link %q", step, path, user,
							got.status, got.raw, got.header.Get("Link"), want.status, want.raw, want.header.Get("Link"))
					}
				}
			}
		}
	}
	check("start")
	var ids []string
	for i := range 4 {
		ids = append(ids, cached.createTask(alice, map[string]any{"name": fmt.Sprint("buy milk ", i)})["id"].(string))
		check("create through the cached server")
	}
	// Writes the cached server never sees: another server, another store.
	uncached.createTask(alice, map[string]any{"name": "walk", "project_id": project})
	check("create through another server")
	uncached.do(req{method: "PATCH", path: "/tasks/" + ids[0], user: alice, body: map[string]any{"completed": true}}).want(t, 200, "")
	check("complete through another server")
	cached.do(req{method: "PATCH", path: "/tasks/" + ids[1], user: alice, body: map[string]any{"name": "aaa", "project_id": project}}).want(t, 200, "")
	check("rename and move")
	uncached.do(req{method: "DELETE", path: "/tasks/" + ids[2], user: alice}).want(t, 204, "")
	check("delete through another server")
	if err := other.DeleteProject(context.Background(), alice, project, taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	check("project deleted by another process") // its tasks lose their project; its list is 404
	cached.createTask(bob, map[string]any{"name": "bob's milk"})
	check("another user's write")

	// The comparison above is only worth something if the cache answered.
	m := cached.scrape()
	if hits, misses := metricValue(t, m, "taskapi_list_cache_hits_total"), metricValue(t, m, "taskapi_list_cache_misses_total"); hits < 50 || misses < 50 {
		t.Fatalf("list cache hits %v, misses %v: the cache was not exercised both ways", hits, misses)
	}
}

// TestListCacheConcurrentWrites reads lists while other goroutines write:
// once the writers are done, the cached server must answer what the
// database holds, whatever order the reads and writes interleaved in.
func TestListCacheConcurrentWrites(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.ListCacheBytes = 1 << 20; c.MaxPageSize = 100 })
	const user = "auth0|busy"
	const writers, perWriter = 4, 10
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					if res := s.do(req{method: "GET", path: "/tasks?limit=100", user: user}); res.status != 200 {
						t.Errorf("GET /tasks: %d %s", res.status, res.raw)
						return
					}
				}
			}
		})
	}
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range perWriter {
				res := s.do(req{method: "POST", path: "/tasks", user: user, body: map[string]any{"name": fmt.Sprintf("w%d-%d", w, i)}})
				if res.status != 201 {
					t.Errorf("POST /tasks: %d %s", res.status, res.raw)
					return
				}
			}
		})
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	res := s.do(req{method: "GET", path: "/tasks?limit=100", user: user}).want(t, 200, "")
	if n := len(res.ids("tasks")); n != writers*perWriter {
		t.Fatalf("the list after the writes has %d tasks, want %d", n, writers*perWriter)
	}
}
