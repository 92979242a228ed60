package postgres

import (
	"testing"
	"time"

	"github.com/taskapi/taskapi/postgres/pgtest"
)

// TestStats holds the pool's only connection and makes a query wait for
// it: the mapped figures show both.
func TestStats(t *testing.T) {
	s, err := Open(t.Context(), pgtest.Schema(t)+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if len(st) != 1 {
		t.Fatalf("Stats has %d pools, want 1: %v", len(st), st)
	}
	// The first acquire waited for the connection to be made.
	if got := st[PoolName]; got.MaxOpenConnections != 1 || got.OpenConnections != 1 || got.Idle != 1 || got.InUse != 0 || got.WaitCount != 1 {
		t.Errorf("after Ping: %+v", got)
	}

	// pgxpool counts a wait once it ends and shows no waiters, so the
	// query may not have started waiting when the connection is released:
	// repeat, longer each time, until one wait is recorded.
	before := s.Stats()[PoolName]
	for hold := time.Millisecond; ; hold *= 2 {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Stats()[PoolName]; got.InUse != 1 || got.Idle != 0 {
			t.Errorf("connection held: %+v", got)
		}
		done := make(chan error, 1)
		go func() { done <- s.Ping(ctx) }() // waits for the connection
		time.Sleep(hold)
		conn.Release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if s.Stats()[PoolName].WaitCount > before.WaitCount || hold > 10*time.Second {
			break
		}
	}
	if got := s.Stats()[PoolName]; got.WaitCount != before.WaitCount+1 || got.WaitDuration <= before.WaitDuration || got.InUse != 0 || got.OpenConnections != 1 {
		t.Errorf("after a wait: %+v (before %+v)", got, before)
	}
}
