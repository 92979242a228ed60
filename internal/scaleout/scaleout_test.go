package scaleout

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// instance is one running service: its own store, pool, verifier and
// HTTP server.
type instance struct {
	name string
	url  string
}

// cluster is two instances on one database schema, and a token they both
// accept.
type cluster struct {
	a, b  *instance
	token string
	iss   *devissuer.Issuer
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	schema := pgtest.Schema(t)
	iss := devissuer.NewTestServer(t)
	c := &cluster{a: start(t, "A", schema, iss), b: start(t, "B", schema, iss), iss: iss}
	tok, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|scaleout", Scope: "openid email"})
	if err != nil {
		t.Fatal(err)
	}
	c.token = tok
	return c
}

// start runs one instance of the service on the database at dbURL, as
// `taskapi serve` assembles it: a store that migrates at open, the bearer
// verifier of the issuer, sharing accepted DPoP proofs through the
// database, the API.
func start(t *testing.T, name, dbURL string, iss *devissuer.Issuer) *instance {
	t.Helper()
	store, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	t.Cleanup(func() { store.Close() })
	v, err := bearer.New(bearer.Config{IssuerBaseURL: iss.URL(), Audience: []string{"task-manager-api"},
		DPoP: bearer.DPoPOptions{ReplayStore: store.DPoPReplays()}, ErrorHandler: httpapi.WriteAuthError})
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	t.Cleanup(func() { v.Close() })
	h, err := httpapi.NewServer(httpapi.Config{Store: store, Authenticate: v.Authenticate})
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &instance{name: name, url: srv.URL}
}

// response is an answer with its JSON body decoded.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with the cluster's token to in and decodes the
// answer, failing the test on a transport error. header holds extra
// headers as name, value pairs.
func (c *cluster) do(t *testing.T, in *instance, method, path string, body any, header ...string) response {
	t.Helper()
	r, err := c.send(t.Context(), in, method, path, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is do for any goroutine: it reports a failure as an error.
func (c *cluster) send(ctx context.Context, in *instance, method, path string, body any, header ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.url+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s on %s: %w", method, path, in.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s on %s: %w", method, path, in.name, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return response{}, fmt.Errorf("%s %s on %s: %d, body %q is not JSON", method, path, in.name, resp.StatusCode, raw)
		}
	}
	return r, nil
}

// want fails the test unless r has status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %v", r.status, status, r.body)
	}
	return r
}

// task returns the "task" member of the body.
func (r response) task(t *testing.T) map[string]any {
	t.Helper()
	task, ok := r.body["task"].(map[string]any)
	if !ok {
		t.Fatalf("no task in %v", r.body)
	}
	return task
}

// createTask creates a task named name through in and returns its id and
// ETag.
func (c *cluster) createTask(t *testing.T, in *instance, name string) (id, etag string) {
	t.Helper()
	r := c.do(t, in, "POST", "/tasks", map[string]any{"name": name}).want(t, http.StatusCreated)
	id, _ = r.task(t)["id"].(string)
	if id == "" || r.header.Get("ETag") == "" || r.header.Get("Location") != "/tasks/"+id {
		t.Fatalf("create: id %q, ETag %q, Location %q", id, r.header.Get("ETag"), r.header.Get("Location"))
	}
	return id, r.header.Get("ETag")
}

func TestScaleOut(t *testing.T) {
	c := newCluster(t)
	t.Run("OnlyWithAToken", func(t *testing.T) {
		for _, in := range []*instance{c.a, c.b} {
			resp, err := http.Get(in.url + "/tasks")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: GET /tasks without a token: %d, want 401", in.name, resp.StatusCode)
			}
		}
	})
	t.Run("WritesVisibleAtOnce", func(t *testing.T) { testWritesVisible(t, c) })
	t.Run("ListsAcrossInstances", func(t *testing.T) { testListsAcrossInstances(t, c) })
	t.Run("ETagsAcrossInstances", func(t *testing.T) { testETags(t, c) })
	t.Run("PageTokensAcrossInstances", func(t *testing.T) { testPageTokens(t, c) })
	t.Run("IfMatchRace", func(t *testing.T) { testIfMatchRace(t, c) })
	t.Run("NoLostUpdate", func(t *testing.T) { testNoLostUpdate(t, c) })
	t.Run("DPoPReplayAcrossInstances", func(t *testing.T) { testDPoPReplay(t, c) })
}

// testDPoPReplay: a DPoP proof accepted by A is refused by B, with the
// answer A gives to its own replay (400 invalid_dpop_proof, as the bearer
// package answers every replay); a new proof passes on B. Both instances
// are reached under one name, as behind a load balancer that keeps the
// Host header, so that the proof's htu fits either.
func testDPoPReplay(t *testing.T, c *cluster) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.iss.Token(devissuer.TokenRequest{Subject: "auth0|scaleout-dpop",
		Extra: map[string]any{"cnf": map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(thumb)}}})
	if err != nil {
		t.Fatal(err)
	}
	const host = "api.example.com"
	ath := sha256.Sum256([]byte(tok))
	newProof := func(jti string) string {
		payload, err := json.Marshal(map[string]any{"jti": jti, "htm": "GET", "htu": "http://" + host + "/tasks",
			"iat": time.Now().Unix(), "ath": base64.RawURLEncoding.EncodeToString(ath[:])})
		if err != nil {
			t.Fatal(err)
		}
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		p, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	send := func(in *instance, proof string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", in.url+"/tasks", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := response{status: resp.StatusCode, header: resp.Header}
		if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
			t.Fatalf("%s: %d, body not JSON: %v", in.name, resp.StatusCode, err)
		}
		return r
	}
	proof := newProof("scaleout-1")
	send(c.a, proof).want(t, http.StatusOK)
	replay := send(c.b, proof).want(t, http.StatusBadRequest)
	if replay.body["code"] != bearer.CodeInvalidDPoPProof || replay.body["error"] != `DPoP proof "jti" has already been used` {
		t.Fatalf("B's answer to the replay: %v", replay.body)
	}
	local := send(c.a, proof).want(t, http.StatusBadRequest)
	if !reflect.DeepEqual(replay.body, local.body) || replay.header.Get("WWW-Authenticate") != local.header.Get("WWW-Authenticate") {
		t.Fatalf("B's answer %v %q differs from A's own replay %v %q", replay.body, replay.header.Get("WWW-Authenticate"),
			local.body, local.header.Get("WWW-Authenticate"))
	}
	send(c.b, newProof("scaleout-2")).want(t, http.StatusOK)
}

// testWritesVisible: each write through one instance is read through the
// other by the very next request.
func testWritesVisible(t *testing.T, c *cluster) {
	id, _ := c.createTask(t, c.a, "Written through A")
	got := c.do(t, c.b, "GET", "/tasks/"+id, nil).want(t, http.StatusOK).task(t)
	if got["name"] != "Written through A" || got["completed"] != false {
		t.Fatalf("B reads %v", got)
	}
	c.do(t, c.b, "PUT", "/tasks/"+id, map[string]any{"name": "Renamed through B"}).want(t, http.StatusOK)
	if got := c.do(t, c.a, "GET", "/tasks/"+id, nil).want(t, http.StatusOK).task(t); got["name"] != "Renamed through B" {
		t.Fatalf("A reads %v after B's update", got)
	}
	c.do(t, c.a, "POST", "/tasks/"+id+"/complete", nil).want(t, http.StatusOK)
	if got := c.do(t, c.b, "GET", "/tasks/"+id, nil).want(t, http.StatusOK).task(t); got["completed"] != true {
		t.Fatalf("B reads %v after A completed it", got)
	}
	list := c.do(t, c.b, "GET", "/tasks?completed=true&limit=100", nil).want(t, http.StatusOK)
	if !slices.Contains(taskIDs(t, list), id) {
		t.Fatalf("B's list of completed tasks lacks %s: %v", id, list.body)
	}
	c.do(t, c.a, "DELETE", "/tasks/"+id, nil).want(t, http.StatusNoContent)
	c.do(t, c.b, "GET", "/tasks/"+id, nil).want(t, http.StatusNotFound)
	c.do(t, c.b, "DELETE", "/tasks/"+id, nil).want(t, http.StatusNotFound)
}

// testListsAcrossInstances: a write through one instance shows in the very
// next list read of the other, however often that list was read before.
func testListsAcrossInstances(t *testing.T, c *cluster) {
	const path = "/tasks?sort=-created_at&limit=100"
	for i := range 6 {
		writer, reader := c.a, c.b
		if i%2 == 1 {
			writer, reader = c.b, c.a
		}
		before := taskIDs(t, c.do(t, reader, "GET", path, nil).want(t, http.StatusOK))
		if again := taskIDs(t, c.do(t, reader, "GET", path, nil).want(t, http.StatusOK)); !slices.Equal(again, before) {
			t.Fatalf("%s: the same list read twice with no write between: %v, then %v", reader.name, before, again)
		}
		var want []string
		switch i % 3 {
		case 0, 1:
			id, _ := c.createTask(t, writer, fmt.Sprint("cached list ", i))
			want = append([]string{id}, before...)
		case 2:
			c.do(t, writer, "DELETE", "/tasks/"+before[0], nil).want(t, http.StatusNoContent)
			want = before[1:]
		}
		if got := taskIDs(t, c.do(t, reader, "GET", path, nil).want(t, http.StatusOK)); !slices.Equal(got, want) {
			t.Fatalf("round %d: %s's list after a write through %s: %v, want %v", i, reader.name, writer.name, got, want)
		}
	}
}

// testETags: an ETag one instance gave is honoured by the other, for
// If-None-Match (304) and If-Match (412 when stale).
func testETags(t *testing.T, c *cluster) {
	id, created := c.createTask(t, c.a, "Tagged")
	path := "/tasks/" + id
	if got := c.do(t, c.b, "GET", path, nil).want(t, http.StatusOK).header.Get("ETag"); got != created {
		t.Fatalf("B's ETag %q, A's %q: the same version must have the same tag", got, created)
	}
	c.do(t, c.b, "GET", path, nil, "If-None-Match", created).want(t, http.StatusNotModified)

	updated := c.do(t, c.b, "PUT", path, map[string]any{"name": "Tagged again"}, "If-Match", created).want(t, http.StatusOK).header.Get("ETag")
	if updated == "" || updated == created {
		t.Fatalf("ETag after the update %q, before %q", updated, created)
	}
	// A's old tag is stale everywhere now; B's new one works on A.
	c.do(t, c.a, "PUT", path, map[string]any{"name": "lost"}, "If-Match", created).want(t, http.StatusPreconditionFailed)
	c.do(t, c.a, "GET", path, nil, "If-None-Match", created).want(t, http.StatusOK)
	c.do(t, c.a, "GET", path, nil, "If-None-Match", updated).want(t, http.StatusNotModified)
	c.do(t, c.a, "DELETE", path, nil, "If-Match", created).want(t, http.StatusPreconditionFailed)
	c.do(t, c.a, "DELETE", path, nil, "If-Match", updated).want(t, http.StatusNoContent)
}

// taskIDs returns the ids of a list's tasks, in order.
func taskIDs(t *testing.T, r response) []string {
	t.Helper()
	tasks, ok := r.body["tasks"].([]any)
	if !ok {
		t.Fatalf("no tasks in %v", r.body)
	}
	var ids []string
	for _, task := range tasks {
		ids = append(ids, task.(map[string]any)["id"].(string))
	}
	return ids
}

// testPageTokens: a list walked page by page, alternating between the
// instances, gives exactly the list read whole.
func testPageTokens(t *testing.T, c *cluster) {
	names := []string{"kiwi", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape"}
	for i, name := range names {
		c.createTask(t, []*instance{c.a, c.b}[i%2], "paged "+name)
	}
	for _, query := range []string{"search=paged", "search=paged&sort=name", "search=paged&sort=-created_at"} {
		whole := taskIDs(t, c.do(t, c.a, "GET", "/tasks?limit=100&"+query, nil).want(t, http.StatusOK))
		if len(whole) != len(names) {
			t.Fatalf("%s: %d tasks, want %d", query, len(whole), len(names))
		}
		var walked []string
		path := "/tasks?limit=3&" + query
		for page := 0; path != ""; page++ {
			in := []*instance{c.a, c.b}[page%2]
			r := c.do(t, in, "GET", path, nil).want(t, http.StatusOK)
			walked = append(walked, taskIDs(t, r)...)
			path = ""
			if tok, _ := r.body["next_page_token"].(string); tok != "" {
				path = "/tasks?limit=3&" + query + "&page_token=" + url.QueryEscape(tok)
				if !strings.Contains(r.header.Get("Link"), `rel="next"`) {
					t.Fatalf("%s: page %d from %s has a token but no Link", query, page, in.name)
				}
			}
			if page > len(names) {
				t.Fatalf("%s: the pages never end", query)
			}
		}
		if !slices.Equal(walked, whole) {
			t.Fatalf("%s: pages across instances\n got %v\nwant %v", query, walked, whole)
		}
	}
	// A token stays bound to its query on the other instance too.
	first := c.do(t, c.a, "GET", "/tasks?limit=3&search=paged", nil).want(t, http.StatusOK)
	tok, _ := first.body["next_page_token"].(string)
	c.do(t, c.b, "GET", "/tasks?limit=3&search=paged&sort=name&page_token="+url.QueryEscape(tok), nil).want(t, http.StatusBadRequest)
}

// race sends n requests at once, alternately to A and B (request i goes
// to A when i is even), and returns the answers in the order of i. A
// transport error fails the test.
func (c *cluster) race(t *testing.T, n int, send func(i int, in *instance) (response, error)) []response {
	t.Helper()
	out := make([]response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		in := []*instance{c.a, c.b}[i%2]
		wg.Go(func() {
			<-start
			out[i], errs[i] = send(i, in)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// testIfMatchRace: writers on both instances holding the same ETag: exactly
// one wins, every other gets 412.
func testIfMatchRace(t *testing.T, c *cluster) {
	const writers, rounds = 4, 5
	id, tag := c.createTask(t, c.a, "Raced")
	for round := range rounds {
		got := c.race(t, writers, func(i int, in *instance) (response, error) {
			return c.send(t.Context(), in, "PUT", "/tasks/"+id, map[string]any{"name": fmt.Sprintf("round %d writer %d", round, i)}, "If-Match", tag)
		})
		winner := -1
		for i, r := range got {
			switch r.status {
			case http.StatusOK:
				if winner >= 0 {
					t.Fatalf("round %d: writers %d and %d both won with %s", round, winner, i, tag)
				}
				winner = i
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("round %d: writer %d got %d %v", round, i, r.status, r.body)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		stored := c.do(t, []*instance{c.b, c.a}[round%2], "GET", "/tasks/"+id, nil).want(t, http.StatusOK)
		if want := fmt.Sprintf("round %d writer %d", round, winner); stored.task(t)["name"] != want || stored.header.Get("ETag") != got[winner].header.Get("ETag") {
			t.Fatalf("round %d: stored %v (ETag %s), want the winner's %q (ETag %s)", round, stored.task(t)["name"],
				stored.header.Get("ETag"), want, got[winner].header.Get("ETag"))
		}
		tag = stored.header.Get("ETag")
	}
}

// testNoLostUpdate: unconditional writes through both instances at once,
// renames and completions mixed: every one counts (version 1+N) and every
// writer saw a version of its own.
func testNoLostUpdate(t *testing.T, c *cluster) {
	const writers = 16
	id, _ := c.createTask(t, c.b, "Contended")
	got := c.race(t, writers, func(i int, in *instance) (response, error) {
		switch i % 4 {
		case 0, 1:
			return c.send(t.Context(), in, "PUT", "/tasks/"+id, map[string]any{"name": fmt.Sprintf("writer %d", i)})
		case 2:
			return c.send(t.Context(), in, "POST", "/tasks/"+id+"/complete", nil)
		default:
			return c.send(t.Context(), in, "POST", "/tasks/"+id+"/reopen", nil)
		}
	})
	var tags []string
	for i, r := range got {
		if r.status != http.StatusOK {
			t.Fatalf("writer %d: %d %v", i, r.status, r.body)
		}
		tags = append(tags, r.header.Get("ETag"))
	}
	var want []string
	for v := 2; v <= writers+1; v++ {
		want = append(want, fmt.Sprintf(`"%s-%d"`, id, v))
	}
	slices.Sort(tags)
	slices.Sort(want)
	if !slices.Equal(tags, want) {
		t.Fatalf("ETags of the writers\n got %v\nwant %v (versions 2…%d once each)", tags, want, writers+1)
	}
	for _, in := range []*instance{c.a, c.b} {
		if tag := c.do(t, in, "GET", "/tasks/"+id, nil).want(t, http.StatusOK).header.Get("ETag"); tag != fmt.Sprintf(`"%s-%d"`, id, writers+1) {
			t.Fatalf("%s: ETag %s after %d writes, want version %d", in.name, tag, writers, writers+1)
		}
	}
}
