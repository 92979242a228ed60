package sqlite

import (
	"testing"
	"time"
)

// TestStats holds the one write connection and makes a writer wait for it:
// the pools' figures show both.
func TestStats(t *testing.T) {
	s, _ := open(t, WithReadConns(3))
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if len(st) != 2 {
		t.Fatalf("Stats has %d pools, want 2: %v", len(st), st)
	}
	w, r := st[PoolWrite], st[PoolRead]
	if w.MaxOpenConnections != 1 || r.MaxOpenConnections != 3 {
		t.Errorf("max open: write %d, read %d; want 1 and 3", w.MaxOpenConnections, r.MaxOpenConnections)
	}
	if w.OpenConnections != 1 || w.InUse != 0 || w.Idle != 1 || r.OpenConnections < 1 || r.InUse != 0 {
		t.Errorf("after Ping: write %+v, read %+v", w, r)
	}

	conn, err := s.write.Conn(ctx) // the one writer, held
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Stats()[PoolWrite]; got.InUse != 1 || got.Idle != 0 {
		t.Errorf("writer held: %+v", got)
	}
	done := make(chan error, 1)
	go func() { done <- s.Ping(ctx) }() // waits for the writer
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats()[PoolWrite].WaitCount == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no wait for the write connection recorded")
		}
		time.Sleep(time.Millisecond)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.Stats()[PoolWrite]; got.WaitCount != 1 || got.WaitDuration <= 0 || got.InUse != 0 {
		t.Errorf("after the wait: %+v", got)
	}
}
