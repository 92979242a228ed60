package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// purgeCounter is a store that counts its purges, failing the first.
type purgeCounter struct {
	taskapi.Store
	calls atomic.Int32
}

func (p *purgeCounter) PurgeKeys(context.Context) (int64, error) {
	if p.calls.Add(1) == 1 {
		return 0, errors.New("database down")
	}
	return 3, nil
}

// TestPurgeKeys: the purge runs at every tick, goes on after a failure,
// and stops with its context.
func TestPurgeKeys(t *testing.T) {
	store := &purgeCounter{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		purgeKeys(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), store, time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for store.calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d purges in 10s at a 1ms interval", store.calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the purge did not stop with its context")
	}
}
