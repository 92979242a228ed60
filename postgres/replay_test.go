package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

var _ bearer.ReplayStore = (*ReplayStore)(nil)

// replayKey returns a distinct key for each n.
func replayKey(n uint64) [sha256.Size]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return sha256.Sum256(b[:])
}

// replayAt returns a ReplayStore on s whose clock reads *now.
func replayAt(s *Store, now *atomic.Int64) *ReplayStore {
	r := s.DPoPReplays()
	r.now = func() time.Time { return time.Unix(0, now.Load()) }
	return r
}

// proofRows counts dpop_proofs rows.
func proofRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM dpop_proofs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplayStoreAdd(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	r := replayAt(s, &now)
	expires := t0.Add(5 * time.Minute)
	steps := []struct {
		name    string
		key     uint64
		at      time.Time
		expires time.Time
		want    bool
	}{
		{"new key", 1, t0, expires, true},
		{"replay", 1, t0, expires, false},
		{"another key", 2, t0, expires, true},
		{"replay just before the expiry", 1, expires.Add(-time.Microsecond), expires.Add(time.Hour), false},
		{"at the expiry: new again", 1, expires, expires.Add(time.Hour), true},
		{"refused until the new expiry", 1, expires.Add(59 * time.Minute), expires.Add(2 * time.Hour), false},
	}
	for _, st := range steps {
		now.Store(st.at.UnixNano())
		got, err := r.Add(ctx, replayKey(st.key), st.expires)
		if err != nil || got != st.want {
			t.Fatalf("%s: Add = %v, %v; want %v", st.name, got, err, st.want)
		}
	}
	var kept time.Time
	k := replayKey(1)
	if err := s.pool.QueryRow(ctx, `SELECT expires_at FROM dpop_proofs WHERE key = $1`, k[:]).Scan(&kept); err != nil ||
		!kept.Equal(expires.Add(time.Hour)) {
		t.Fatalf("expiry after reuse %v (%v), want %v", kept, err, expires.Add(time.Hour))
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if ok, err := r.Add(cancelled, replayKey(3), expires); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Add with a cancelled context = %v, %v", ok, err)
	}
}

func TestReplayStoreConcurrentInstances(t *testing.T) {
	// Two instances (own pools) add the same keys at the same moment:
	// each key is new to exactly one of them.
	a, url := open(t)
	b, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stores := []*ReplayStore{a.DPoPReplays(), b.DPoPReplays()}
	const keys, perStore = 50, 3
	expires := time.Now().Add(5 * time.Minute)
	wins := make([]atomic.Int32, keys)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, keys*len(stores)*perStore)
	for k := range keys {
		for _, r := range stores {
			for range perStore {
				wg.Go(func() {
					<-start
					fresh, err := r.Add(t.Context(), replayKey(uint64(k)), expires)
					if err != nil {
						errs <- err
					}
					if fresh {
						wins[k].Add(1)
					}
				})
			}
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range wins {
		if n := wins[k].Load(); n != 1 {
			t.Fatalf("key %d new to %d of %d concurrent Adds, want exactly 1", k, n, len(stores)*perStore)
		}
	}
}

func TestReplayStoreCleanup(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	r := replayAt(s, &now)
	// 2500 rows expired long ago, one within the grace, one still valid.
	if _, err := s.pool.Exec(ctx, `INSERT INTO dpop_proofs (key, expires_at)
		SELECT sha256(int8send(n)), $1::timestamptz - n * interval '1 second' FROM generate_series(1, 2500) AS n`, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	inGrace, valid := replayKey(1e6), replayKey(1e6+1)
	if _, err := s.pool.Exec(ctx, `INSERT INTO dpop_proofs (key, expires_at) VALUES ($1, $2), ($3, $4)`,
		inGrace[:], t0.Add(-replayCleanupGrace/2), valid[:], t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The first Add cleans up one batch; full batches make the next Add go
	// on; a partial one waits for the interval.
	want := []int{2502 + 1 - 1000, 2502 + 2 - 2000, 2502 + 3 - 2500, 2502 + 4 - 2500}
	for i, w := range want {
		if ok, err := r.Add(ctx, replayKey(uint64(2e6+i)), t0.Add(5*time.Minute)); !ok || err != nil {
			t.Fatalf("Add %d: %v, %v", i, ok, err)
		}
		if n := proofRows(t, s); n != w {
			t.Fatalf("after Add %d: %d rows, want %d", i, n, w)
		}
	}
	// The rows within the grace and the valid one are kept, and still
	// refuse their proofs.
	for _, k := range [][sha256.Size]byte{inGrace, valid} {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dpop_proofs WHERE key = $1`, k[:]).Scan(&n); err != nil || n != 1 {
			t.Fatalf("row %x: %d (%v)", k[:4], n, err)
		}
	}
	if ok, err := r.Add(ctx, valid, t0.Add(time.Hour)); ok || err != nil {
		t.Fatalf("Add of the valid row's key: %v, %v", ok, err)
	}
	// After the interval, the next Add cleans up again: the grace row has
	// expired long enough by then.
	now.Store(t0.Add(replayCleanupInterval).UnixNano())
	if ok, err := r.Add(ctx, replayKey(3e6), t0.Add(5*time.Minute)); !ok || err != nil {
		t.Fatalf("Add after the interval: %v, %v", ok, err)
	}
	if n := proofRows(t, s); n != 2+4+1-1 {
		t.Fatalf("after the second cleanup: %d rows, want %d", n, 2+4+1-1)
	}
}

// BenchmarkReplayStoreAdd measures one Add of a new key: one INSERT,
// committed (the cleanup batch of once a minute included).
func BenchmarkReplayStoreAdd(b *testing.B) {
	s, _ := open(b)
	r := s.DPoPReplays()
	ctx := b.Context()
	expires := time.Now().Add(5 * time.Minute)
	var n uint64
	for b.Loop() {
		n++
		if ok, err := r.Add(ctx, replayKey(n), expires); !ok || err != nil {
			b.Fatalf("Add: %v, %v", ok, err)
		}
	}
}
