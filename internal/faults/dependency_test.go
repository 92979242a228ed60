package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// mixedLoad is workers alternating GET /tasks and POST /tasks, each answer
// filed under the phase that is current when it arrives (a request in
// flight when a fault starts is answered under the fault).
type mixedLoad struct {
	phase atomic.Int32

	mu     sync.Mutex
	counts map[int32]map[int]int // phase → status → answers (0: no answer)
	slow   map[int32]time.Duration
	errs   []string
	cond   *sync.Cond

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startMixed starts n workers on base; worker i acts with toks[i%len(toks)]
// (read again before every request, so a test may swap them).
func startMixed(base string, n int, toks func(i int) string) *mixedLoad {
	l := &mixedLoad{counts: map[int32]map[int]int{}, slow: map[int32]time.Duration{}, stop: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	for i := range n {
		l.wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-l.stop:
					return
				default:
				}
				var a answer
				var err error
				if j%2 == 0 {
					a, err = call(context.Background(), http.MethodGet, base+"/tasks", toks(i), nil)
				} else {
					_, a, err = createTask(context.Background(), base, toks(i), fmt.Sprintf("m%d-%d", i, j), "")
					if err == nil && a.status == 0 {
						a.status = http.StatusCreated
					}
				}
				phase := l.phase.Load()
				l.mu.Lock()
				if l.counts[phase] == nil {
					l.counts[phase] = map[int]int{}
				}
				if err != nil {
					l.counts[phase][0]++
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
				} else {
					l.counts[phase][a.status]++
				}
				l.slow[phase] = max(l.slow[phase], a.elapsed)
				l.cond.Broadcast()
				l.mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	return l
}

// waitFor waits until cond (called with the lock held) holds, for at most
// bound, and reports whether it did.
func (l *mixedLoad) waitFor(bound time.Duration, cond func() bool) bool {
	timer := time.AfterFunc(bound, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(bound)
	l.mu.Lock()
	defer l.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		l.cond.Wait()
	}
	return true
}

// total returns the answers of phase p with a status in statuses (any
// status when none is given).
func (l *mixedLoad) total(p int32, statuses ...int) int {
	n := 0
	for s, c := range l.counts[p] {
		if len(statuses) == 0 {
			n += c
			continue
		}
		for _, want := range statuses {
			if s == want {
				n += c
			}
		}
	}
	return n
}

// finish stops the workers.
func (l *mixedLoad) finish() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// Phases of a fault test.
const (
	phaseUp int32 = iota
	phaseDown
	phaseBack
)

// TestPostgresDownUnderLoad cuts the service off from PostgreSQL (a TCP
// proxy of the test between them, so the shared server is not restarted)
// under load: while it is down every request is answered 503 within the
// bound (504 ERR_OUTCOME_UNKNOWN for a write in flight at the cut, which
// may have committed), the process stays up, GET /ready says 503;
// restored, the service recovers by itself.
func TestPostgresDownUnderLoad(t *testing.T) {
	direct := postgresURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := harness.StartProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()

	idp := startIdP(t)
	tok := token(t, idp, "faults|pg-down")
	svc := startOrSkip(t, t.TempDir(), u.String(), idp)

	load := startMixed(svc.URL, 8, func(int) string { return tok })
	defer load.finish()
	if !load.waitFor(requestBound, func() bool { return load.total(phaseUp, 200, 201) >= 100 }) {
		t.Fatalf("no load before the cut: %v %v", load.counts, load.errs)
	}

	load.phase.Store(phaseDown)
	proxy.Cut()
	if !load.waitFor(2*requestBound, func() bool { return load.total(phaseDown, 503) >= 100 }) {
		t.Errorf("PostgreSQL down: not 100 answers 503 within %v: %v %v", 2*requestBound, load.counts[phaseDown], load.errs)
	}
	a, err := call(t.Context(), http.MethodGet, svc.URL+"/ready", "", nil)
	if err != nil || a.status != http.StatusServiceUnavailable {
		t.Errorf("GET /ready while PostgreSQL is down: %v %d %s, want 503", err, a.status, a.body)
	}
	a, err = call(t.Context(), http.MethodGet, svc.URL+"/tasks", tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, "GET /tasks while PostgreSQL is down", a)
	if svc.Exited() {
		t.Fatal("the service exited while PostgreSQL was down")
	}

	load.phase.Store(phaseBack)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	// Recovery: once one request succeeds, the next 100 do too.
	var first int
	if !load.waitFor(2*requestBound, func() bool { first = load.total(phaseBack); return load.total(phaseBack, 200, 201) > 0 }) {
		t.Fatalf("not recovered %v after PostgreSQL came back: %v", 2*requestBound, load.counts[phaseBack])
	}
	if !load.waitFor(2*requestBound, func() bool { return load.total(phaseBack, 200, 201) >= first+100 }) {
		t.Errorf("after recovery: %v", load.counts[phaseBack])
	}
	load.finish()

	load.mu.Lock()
	defer load.mu.Unlock()
	for p, byStatus := range load.counts {
		for s, n := range byStatus {
			switch {
			case s == 0:
				t.Errorf("phase %d: %d requests got no answer within %v: %v", p, n, requestBound, load.errs)
			case s == 503 && p == phaseDown:
			case s == 504 && p == phaseDown && n <= 8:
				// a write in flight when its connection was cut: it may
				// have committed, so its outcome is unknown (at most one
				// per worker)
			case s == 503 && p == phaseBack && n <= first:
				// answered before the pool reconnected
			case s == 200 || s == 201:
			default:
				t.Errorf("phase %d: %d answers %d", p, n, s)
			}
		}
	}
	t.Logf("answers by phase (0 up, 1 down, 2 back): %v; slowest by phase %v", load.counts, load.slow)
	a, err = call(t.Context(), http.MethodGet, svc.URL+"/ready", "", nil)
	if err != nil || a.status != http.StatusOK {
		t.Errorf("GET /ready after recovery: %v %d %s", err, a.status, a.body)
	}
}

// TestIdentityProviderFaults makes the identity provider fail, then slow,
// each under load: no valid request is refused while the keys are cached,
// and no request waits for the provider.
func TestIdentityProviderFaults(t *testing.T) {
	dir := t.TempDir()
	idp := startIdP(t)
	svc := start(t, dir, "sqlite:"+filepath.Join(dir, "taskapi.db"), idp)
	fetches := idp.JWKSFetches()

	t.Run("down", func(t *testing.T) {
		idp.SetFailing(true)
		defer idp.SetFailing(false)
		runIdPLoad(t, svc, idp, "down", nil)
	})
	t.Run("slow", func(t *testing.T) {
		const delay = 5 * time.Second
		idp.SetDelay(delay)
		defer idp.SetDelay(0)
		l := runIdPLoad(t, svc, idp, "slow", nil)
		if l.slow[phaseUp] >= delay {
			t.Errorf("a request took %v: it waited for the slow provider", l.slow[phaseUp])
		}
	})
	if n := idp.JWKSFetches() - fetches; n != 0 {
		t.Errorf("%d JWKS fetches while the keys were cached", n)
	}
}

// keyCooldown is the binary's least time between a successful JWKS fetch
// and a refetch for a token with an unknown kid (bearer.DefaultCooldown;
// the binary has no setting for it).
const keyCooldown = 30 * time.Second

// TestKeyRotation rotates the provider's signing key under load, the new
// key published beside the old one: tokens of the old key stay valid, and
// tokens of the new key are accepted after one JWKS fetch. It waits out
// the binary's refetch cooldown first (in parallel with the other tests):
// within the cooldown after a fetch, a token of a key the service has not
// seen is refused 401, as express-oauth2-jwt-bearer 1.10 refuses it.
func TestKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 30 s JWKS refetch cooldown of the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	idp := startIdP(t)
	svc := start(t, dir, "sqlite:"+filepath.Join(dir, "taskapi.db"), idp)
	started := time.Now() // the service fetched the keys before it was ready

	select {
	case <-time.After(time.Until(started.Add(keyCooldown + time.Second))):
	case <-t.Context().Done():
		return
	}
	before := idp.JWKSFetches()
	runIdPLoad(t, svc, idp, "rotate", func() {
		if err := idp.Rotate(); err != nil {
			t.Fatal(err)
		}
	})
	if n := idp.JWKSFetches() - before; n != 1 {
		t.Errorf("%d JWKS fetches for the new key, want 1", n)
	}
}

// runIdPLoad runs 8 workers on svc with fresh tokens (never seen by the
// service, so its cache of verified tokens does not help: each signature
// is checked with the cached key) until 200 answers; then, when change is
// not nil, calls it, gives half the workers fresh tokens (from the key
// current after change) and runs until 200 more. Every answer must be 2xx.
func runIdPLoad(t *testing.T, svc *harness.Service, idp *harness.IdP, name string, change func()) *mixedLoad {
	t.Helper()
	const workers = 8
	tokens := func(phase string) []string {
		toks := make([]string, workers)
		for i := range toks {
			toks[i] = token(t, idp, fmt.Sprintf("faults|idp-%s-%d", phase, i))
		}
		return toks
	}
	var mu sync.Mutex
	toks := tokens(name)
	l := startMixed(svc.URL, workers, func(i int) string { mu.Lock(); defer mu.Unlock(); return toks[i] })
	defer l.finish()
	if !l.waitFor(2*requestBound, func() bool { return l.total(phaseUp) >= 200 }) {
		t.Errorf("%s: fewer than 200 answers in %v", name, 2*requestBound)
	}
	if change != nil {
		change()
		fresh := tokens(name + "-after")
		mu.Lock()
		toks = append(toks[:workers/2:workers/2], fresh[workers/2:]...)
		mu.Unlock()
		l.phase.Store(phaseBack)
		if !l.waitFor(2*requestBound, func() bool { return l.total(phaseBack) >= 200 }) {
			t.Errorf("%s: fewer than 200 answers after the change in %v", name, 2*requestBound)
		}
	}
	l.finish()
	for p, byStatus := range l.counts {
		for s, n := range byStatus {
			if s != 200 && s != 201 {
				t.Errorf("%s, phase %d: %d requests answered %d (%v)", name, p, n, s, l.errs)
			}
		}
	}
	t.Logf("%s: answers by phase %v, slowest %v", name, l.counts, l.slow)
	return l
}
