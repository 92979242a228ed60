package bearer

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fakeReplayStore is a ReplayStore in memory, shared by the Verifiers of
// a test as a database is by instances. It counts its calls, has a clock
// of its own and fails while err is set.
type fakeReplayStore struct {
	mu      sync.Mutex
	seen    map[[sha256.Size]byte]time.Time
	now     time.Time
	err     error
	calls   int
	expires []time.Time // the expiry of each call
	ctxVal  []any       // ctxKey's value in each call's context
}

type ctxKey struct{}

func newFakeReplayStore() *fakeReplayStore {
	return &fakeReplayStore{seen: map[[sha256.Size]byte]time.Time{}, now: testNow}
}

func (f *fakeReplayStore) Add(ctx context.Context, key [sha256.Size]byte, expires time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.expires = append(f.expires, expires)
	f.ctxVal = append(f.ctxVal, ctx.Value(ctxKey{}))
	if f.err != nil {
		return false, f.err
	}
	if old, ok := f.seen[key]; ok && f.now.Before(old) {
		return false, nil
	}
	f.seen[key] = expires
	return true, nil
}

func (f *fakeReplayStore) set(fn func(f *fakeReplayStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeReplayStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// instance is a Verifier on store, with cfg's changes: one server of a
// cluster.
func instance(t *testing.T, store ReplayStore, cfgs ...func(*Config)) *Verifier {
	t.Helper()
	cfg := staticConfig(t)
	cfg.DPoP.ReplayStore = store
	for _, fn := range cfgs {
		fn(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkStoreDown checks the answer to a request whose replay check
// failed: the key set outage's form, 503 temporarily_unavailable with
// Retry-After.
func checkStoreDown(t *testing.T, rec interface {
	Result() *http.Response
}) {
	t.Helper()
	res := rec.Result()
	b := make([]byte, 512)
	n, _ := res.Body.Read(b)
	got := string(b[:n])
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "30" ||
		got != body(msgReplayStoreFailed, CodeTemporarilyUnavailable)+"\n" || res.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("store down: %d, Retry-After %q, WWW-Authenticate %q, body %s", res.StatusCode, res.Header.Get("Retry-After"),
			res.Header.Get("WWW-Authenticate"), got)
	}
}

// A proof accepted by one server is refused by another that shares its
// ReplayStore, with exactly the in-process replay answer; a local replay
// is refused without asking the store.
func TestReplayStoreAcrossVerifiers(t *testing.T) {
	es := esClient(t)
	tok := boundToken(t, es, nil)
	replay, replayBody, replayChallenge := proofFail(msgReplayed)
	tests := []struct {
		name string
		// cfg changes both Verifiers' configuration.
		cfg func(*Config)
	}{
		{"with the in-process cache", nil},
		{"store alone", func(c *Config) { c.DPoP.NoReplayCache = true }},
		{"DPoP required", required},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfgs []func(*Config)
			if tt.cfg != nil {
				cfgs = append(cfgs, tt.cfg)
			}
			store := newFakeReplayStore()
			a, b := instance(t, store, cfgs...), instance(t, store, cfgs...)
			proof := signProof(t, es, nil, proofClaims(tok))
			checkResponse(t, serve(a, dpopReq("DPoP", tok, proof)), 200, okBody, "-")
			if store.count() != 1 {
				t.Fatalf("%d store calls after one proof, want 1", store.count())
			}
			// The in-process answer, for comparison: A's own replay.
			wantCalls := 2
			if tt.cfg == nil || tt.name == "DPoP required" {
				wantCalls = 1 // refused by A's cache, without a round trip
			}
			checkResponse(t, serve(a, dpopReq("DPoP", tok, proof)), replay, replayBody, replayChallengeFor(tt.name, replayChallenge))
			if store.count() != wantCalls {
				t.Fatalf("%d store calls after a local replay, want %d", store.count(), wantCalls)
			}
			// B has never seen it: the store refuses it, with the same answer.
			checkResponse(t, serve(b, dpopReq("DPoP", tok, proof)), replay, replayBody, replayChallengeFor(tt.name, replayChallenge))
			if store.count() != wantCalls+1 {
				t.Fatalf("%d store calls after B's replay, want %d", store.count(), wantCalls+1)
			}
			// Another jti of the same key is a new proof on either.
			checkResponse(t, serve(b, dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))), 200, okBody, "-")
			checkResponse(t, serve(a, dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))), 200, okBody, "-")
		})
	}
}

// replayChallengeFor is the replay challenge of the DPoP-required mode,
// which names the DPoP scheme alone.
func replayChallengeFor(name, allowed string) string {
	if name == "DPoP required" {
		return `DPoP error="invalid_dpop_proof", error_description="DPoP proof 'jti' has already been used", ` + dpopAlgs
	}
	return allowed
}

// The store is told the proof's expiry, iat + IATOffset + 1 s, and once
// its clock reaches it the proof is new again to it.
func TestReplayStoreExpiry(t *testing.T) {
	es := esClient(t)
	tok := boundToken(t, es, nil)
	store := newFakeReplayStore()
	a := instance(t, store)
	claims := proofClaims(tok)
	claims["iat"] = testNow.Unix() - 10
	proof := signProof(t, es, nil, claims)
	checkResponse(t, serve(a, dpopReq("DPoP", tok, proof)), 200, okBody, "-")
	want := time.Unix(testNow.Unix()-10+300+1, 0)
	if len(store.expires) != 1 || !store.expires[0].Equal(want) {
		t.Fatalf("expiry %v, want %v", store.expires, want)
	}
	for _, tc := range []struct {
		storeNow time.Time
		status   int
	}{
		{want.Add(-time.Second), 400},
		{want.Add(-time.Nanosecond), 400},
		{want, 200},
	} {
		store.set(func(f *fakeReplayStore) { f.now = tc.storeNow })
		// A fresh server (empty cache) whose own clock still accepts the iat.
		rec := serve(instance(t, store), dpopReq("DPoP", tok, proof))
		if rec.Code != tc.status {
			t.Fatalf("store clock %v (expiry %v): %d, want %d", tc.storeNow, want, rec.Code, tc.status)
		}
	}
}

// A failing store fails closed, as an unavailable key set does: 503
// temporarily_unavailable with Retry-After, never an accepted proof; the
// proof is not burnt locally, so it passes once the store is back.
func TestReplayStoreFailure(t *testing.T) {
	es := esClient(t)
	tok := boundToken(t, es, nil)
	store := newFakeReplayStore()
	store.err = errors.New("connection refused")
	a := instance(t, store)
	proof := signProof(t, es, nil, proofClaims(tok))
	for range 2 {
		checkStoreDown(t, serve(a, dpopReq("DPoP", tok, proof)))
	}
	// CheckProof answers the same error.
	r := dpopReq("DPoP", tok, proof)
	claims, err := a.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := a.CheckProof(r, claims); !errors.As(err, &e) || e.Status != 503 || e.Code != CodeTemporarilyUnavailable ||
		e.RetryAfter != DefaultCooldown || !errors.Is(err, store.err) {
		t.Fatalf("CheckProof with the store down: %#v", err)
	}
	// The key set's cooldown is the Retry-After.
	b := instance(t, store, func(c *Config) {
		c.PublicKey, c.Issuer = nil, ""
		c.IssuerBaseURL = "https://idp.example.com/"
		c.Cooldown = 7 * time.Second
	})
	if got := b.retryAfter(); got != 7*time.Second {
		t.Fatalf("retry after %v with Cooldown 7s", got)
	}
	store.set(func(f *fakeReplayStore) { f.err = nil })
	checkResponse(t, serve(a, dpopReq("DPoP", tok, proof)), 200, okBody, "-")
	s, bd, c := proofFail(msgReplayed)
	checkResponse(t, serve(a, dpopReq("DPoP", tok, proof)), s, bd, c)
}

// The store is asked with the request's context, from the middleware and
// from CheckProof.
func TestReplayStoreContext(t *testing.T) {
	es := esClient(t)
	tok := boundToken(t, es, nil)
	store := newFakeReplayStore()
	a := instance(t, store)
	r := dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
	serve(a, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "middleware")))
	r = dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
	claims, err := a.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckProof(r.WithContext(context.WithValue(r.Context(), ctxKey{}, "check")), claims); err != nil {
		t.Fatal(err)
	}
	if len(store.ctxVal) != 2 || store.ctxVal[0] != "middleware" || store.ctxVal[1] != "check" {
		t.Fatalf("store contexts %v", store.ctxVal)
	}
}

// Only a proof that passes every other check reaches the store, so
// garbage cannot fill it.
func TestReplayStoreSeesValidProofsOnly(t *testing.T) {
	es, rs := esClient(t), rsClient(t)
	nonces, err := NewHMACNonces(nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    func(*Config)
		req    func(t *testing.T) *http.Request
		status int
	}{
		{"bad signature", nil, func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			p := signProof(t, es, nil, proofClaims(tok))
			return dpopReq("DPoP", tok, p[:len(p)-4]+"AAAA")
		}, 400},
		{"htm", nil, withProof(es, nil, map[string]any{"htm": "POST"}), 400},
		{"htu", nil, withProof(es, nil, map[string]any{"htu": "https://api.example.com/projects"}), 400},
		{"ath", nil, withProof(es, nil, map[string]any{"ath": "x"}), 400},
		{"iat too old", nil, withProof(es, nil, map[string]any{"iat": testNow.Unix() - 301}), 400},
		{"iat too new", nil, withProof(es, nil, map[string]any{"iat": testNow.Unix() + 31}), 400},
		{"no jti", nil, withProof(es, nil, map[string]any{"jti": nil}), 400},
		{"typ", nil, withProof(es, map[string]any{"typ": "jwt"}, nil), 400},
		{"key not the token's", nil, func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("DPoP", tok, signProof(t, rs, nil, proofClaims(tok)))
		}, 401},
		{"no nonce", func(c *Config) { c.DPoP.Nonce = nonces }, withProof(es, nil, nil), 401},
		{"invalid token", nil, func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"exp": testNow.Unix() - 60})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, 401},
		{"bound token as Bearer", nil, func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("Bearer", tok)
		}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeReplayStore()
			var cfgs []func(*Config)
			if tt.cfg != nil {
				cfgs = append(cfgs, tt.cfg)
			}
			v := instance(t, store, cfgs...)
			if rec := serve(v, tt.req(t)); rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if n := store.count(); n != 0 {
				t.Fatalf("the store was asked %d times about an invalid proof", n)
			}
		})
	}
	// The control: a valid proof does reach it.
	store := newFakeReplayStore()
	if rec := serve(instance(t, store), validDPoP(t, es)); rec.Code != 200 || store.count() != 1 {
		t.Fatalf("valid proof: %d, %d store calls", rec.Code, store.count())
	}
}

// Two servers racing with one proof: exactly one accepts it.
func TestReplayStoreConcurrent(t *testing.T) {
	es := esClient(t)
	tok := boundToken(t, es, nil)
	store := newFakeReplayStore()
	servers := []*Verifier{instance(t, store), instance(t, store), instance(t, store), instance(t, store)}
	proof := signProof(t, es, nil, proofClaims(tok))
	codes := make(chan int, 2*len(servers))
	var wg sync.WaitGroup
	for _, v := range servers {
		for range 2 {
			wg.Go(func() { codes <- serve(v, dpopReq("DPoP", tok, proof)).Code })
		}
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		switch c {
		case 200:
			ok++
		case 400:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d servers accepted one proof, want 1", ok)
	}
}
