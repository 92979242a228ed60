package feedsync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/postgres/pgtest"
	"github.com/taskapi/taskapi/sqlite"
)

const (
	writers      = 8
	opsPerWriter = 30
)

func TestFeedSQLite(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "taskapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	iss := devissuer.NewTestServer(t)
	runFeed(t, iss, []string{serve(t, store, iss)})
}

// TestFeedPostgres runs two instances on one database: the writers and the
// reader pick either at random for each request.
func TestFeedPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.Schema(t)
	iss := devissuer.NewTestServer(t)
	var urls []string
	for range 2 {
		store, err := postgres.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		urls = append(urls, serve(t, store, iss))
	}
	runFeed(t, iss, urls)
}

// serve runs the API on store as `taskapi serve` assembles it, with the
// verifier of iss, and returns its URL.
func serve(t *testing.T, store taskapi.Store, iss *devissuer.Issuer) string {
	t.Helper()
	v, err := bearer.New(bearer.Config{IssuerBaseURL: iss.URL(), Audience: []string{"task-manager-api"}, ErrorHandler: httpapi.WriteAuthError})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	h, err := httpapi.NewServer(httpapi.Config{Store: store, Authenticate: v.Authenticate, RequireScopes: true, MaxPageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// client sends requests of one user to the instances at random.
type client struct {
	urls  []string
	token string
}

// do sends a request and decodes the JSON answer (nil for none).
func (c *client) do(ctx context.Context, rng *rand.Rand, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.urls[rng.IntN(len(c.urls))]+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, nil, fmt.Errorf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m, nil
}

// runFeed is the test: a reader follows the feed of one user from the
// start while 8 writers change that user's tasks and projects through the
// instances at urls (a second user writes too, and must never show); then
// the reader's picture must equal what GET /tasks and GET /projects list.
func runFeed(t *testing.T, iss *devissuer.Issuer, urls []string) {
	token := func(sub string) string {
		tok, err := iss.Token(devissuer.TokenRequest{Subject: sub, Scope: "read:tasks write:tasks delete:tasks"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	alice := &client{urls: urls, token: token("auth0|alice")}
	bob := &client{urls: urls, token: token("auth0|bob")}
	ctx := t.Context()

	r := &reader{c: alice, rng: rand.New(rand.NewPCG(1, 2)), picture: map[string]map[string]any{}, given: map[string]bool{}}
	r.start(t)

	var pool idPool
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range opsPerWriter {
				if err := write(ctx, alice, rng, &pool, w); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range opsPerWriter {
			if status, body, err := bob.do(ctx, rng, "POST", "/tasks", map[string]any{"name": fmt.Sprint("bob ", i)}); err != nil || status != 201 {
				errs <- fmt.Errorf("bob: %d %v %v", status, body, err)
				return
			}
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for following := true; following; {
		select {
		case <-done:
			following = false
		default:
			r.poll(t, 1+r.rng.IntN(10))
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for r.poll(t, 50) {
	}

	want := map[string]map[string]any{}
	for _, kind := range []string{"task", "project"} {
		for _, obj := range listAll(t, alice, kind+"s") {
			want[kind+" "+obj["id"].(string)] = obj
		}
	}
	if len(want) == 0 {
		t.Fatal("the writers left nothing: the test proves little")
	}
	for key, obj := range want {
		if got, ok := r.picture[key]; !ok {
			t.Errorf("%s is missing from the reader's picture", key)
		} else if !reflect.DeepEqual(got, obj) {
			t.Errorf("%s: the reader has\n%v\nthe server\n%v", key, got, obj)
		}
	}
	for key := range r.picture {
		if want[key] == nil {
			t.Errorf("the reader has %s, which the server does not", key)
		}
	}
	t.Logf("%d objects at the end; the reader polled %d times and was given %d changes (%d tombstones)",
		len(want), r.polls, r.changes, r.tombstones)
}

// idPool holds the ids the writers created, for the others to change.
type idPool struct {
	mu              sync.Mutex
	tasks, projects []string
}

func (p *idPool) add(ids *[]string, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*ids = append(*ids, id)
}

func (p *idPool) pick(rng *rand.Rand, ids *[]string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(*ids) == 0 {
		return "none"
	}
	return (*ids)[rng.IntN(len(*ids))]
}

// write makes one random change through c. A change of an object another
// writer deleted meanwhile is answered 404 (or 422 for a project that is
// gone): expected; any other failure is an error.
func write(ctx context.Context, c *client, rng *rand.Rand, pool *idPool, w int) error {
	var (
		method, path string
		body         map[string]any
		ok           = []int{200, 201, 204, 404}
		created      *[]string
	)
	switch op := rng.IntN(20); {
	case op < 6:
		method, path, body, created = "POST", "/tasks", map[string]any{"name": fmt.Sprintf("task of %d", w)}, &pool.tasks
		if rng.IntN(2) == 0 {
			body["project_id"] = pool.pick(rng, &pool.projects)
			ok = append(ok, 422)
		}
	case op < 12:
		method, path = "PATCH", "/tasks/"+pool.pick(rng, &pool.tasks)
		body = map[string]any{"name": fmt.Sprintf("renamed by %d", w), "completed": rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			body["project_id"] = pool.pick(rng, &pool.projects)
			ok = append(ok, 422)
		}
	case op < 14:
		method, path = "DELETE", "/tasks/"+pool.pick(rng, &pool.tasks)
	case op < 16:
		method, path, body, created = "POST", "/projects", map[string]any{"name": fmt.Sprintf("project of %d", w)}, &pool.projects
	case op < 18:
		method, path, body = "PATCH", "/projects/"+pool.pick(rng, &pool.projects), map[string]any{"description": fmt.Sprint("by ", w)}
	default:
		method, path = "DELETE", "/projects/"+pool.pick(rng, &pool.projects)
	}
	status, answer, err := c.do(ctx, rng, method, path, body)
	if err != nil {
		return err
	}
	for _, s := range ok {
		if status == s {
			if status == 201 {
				obj, _ := answer[path[1:len(path)-1]].(map[string]any)
				id, _ := obj["id"].(string)
				if id == "" {
					return fmt.Errorf("%s %s: 201 without an id: %v", method, path, answer)
				}
				pool.add(created, id)
			}
			return nil
		}
	}
	return fmt.Errorf("%s %s: %d %v", method, path, status, answer)
}

// reader is the client that follows the feed: its picture of the user's
// objects ("task ID" → the object as GET /tasks shows it), built from the
// changes alone.
type reader struct {
	c       *client
	rng     *rand.Rand
	cursor  string
	picture map[string]map[string]any
	// given holds every state and tombstone given, to refuse a second.
	given                      map[string]bool
	polls, changes, tombstones int
}

// start takes the current cursor, as a client does before its full read
// (the user has no objects yet).
func (r *reader) start(t *testing.T) {
	status, body, err := r.c.do(t.Context(), r.rng, "GET", "/changes", nil)
	if err != nil || status != 200 {
		t.Fatalf("GET /changes: %d %v %v", status, body, err)
	}
	r.cursor, _ = body["next_cursor"].(string)
	if r.cursor == "" {
		t.Fatalf("no next_cursor in %v", body)
	}
}

// poll reads one page of at most limit changes from the cursor, applies
// it, and reports whether more follow.
func (r *reader) poll(t *testing.T, limit int) bool {
	r.polls++
	path := "/changes?cursor=" + url.QueryEscape(r.cursor) + fmt.Sprintf("&limit=%d", limit)
	status, body, err := r.c.do(t.Context(), r.rng, "GET", path, nil)
	if err != nil || status != 200 {
		t.Fatalf("GET %s: %d %v %v", path, status, body, err)
	}
	changes, _ := body["changes"].([]any)
	if len(changes) > limit {
		t.Fatalf("GET %s: %d changes", path, len(changes))
	}
	for _, e := range changes {
		c := e.(map[string]any)
		kind, _ := c["type"].(string)
		id, _ := c["id"].(string)
		key := kind + " " + id
		r.changes++
		if c["deleted"] == true {
			r.tombstones++
			r.once(t, "deleted "+key) // ids are the server's: never used again
			delete(r.picture, key)
			continue
		}
		obj, _ := c[kind].(map[string]any)
		if obj == nil || obj["id"] != id {
			t.Fatalf("change %v has no %s", c, kind)
		}
		r.once(t, fmt.Sprint(key, " at ", obj["updated_at"]))
		r.picture[key] = obj
	}
	next, _ := body["next_cursor"].(string)
	if next == "" {
		t.Fatalf("GET %s: no next_cursor in %v", path, body)
	}
	r.cursor = next
	return body["has_more"] == true
}

// once fails the test when the feed gave what before.
func (r *reader) once(t *testing.T, what string) {
	if r.given[what] {
		t.Fatalf("the feed gave %s twice", what)
	}
	r.given[what] = true
}

// listAll reads every page of GET /tasks or GET /projects.
func listAll(t *testing.T, c *client, member string) []map[string]any {
	var all []map[string]any
	rng := rand.New(rand.NewPCG(3, 3))
	path := "/" + member + "?limit=100"
	for range 100 {
		status, body, err := c.do(t.Context(), rng, "GET", path, nil)
		if err != nil || status != 200 {
			t.Fatalf("GET %s: %d %v %v", path, status, body, err)
		}
		for _, e := range body[member].([]any) {
			all = append(all, e.(map[string]any))
		}
		next, _ := body["next_page_token"].(string)
		if next == "" {
			return all
		}
		path = "/" + member + "?limit=100&page_token=" + url.QueryEscape(next)
	}
	t.Fatalf("GET /%s does not end", member)
	return nil
}
