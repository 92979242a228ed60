package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// TestWriteTurnDeadline: a writer waiting for its turn gives up when its
// context ends, with an error wrapping the context's (which the service
// answers 503), and the store writes again once the turn is free.
func TestWriteTurnDeadline(t *testing.T) {
	s, _ := open(t)
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(*tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.CreateTask(ctx, &taskapi.Task{UserID: "u", Name: "waits"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a write waiting past its deadline: %v, want an error wrapping the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the waiting write returned after %v", d)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTask(t.Context(), &taskapi.Task{UserID: "u", Name: "after"}); err != nil {
		t.Errorf("a write after the turn was freed: %v", err)
	}
}
