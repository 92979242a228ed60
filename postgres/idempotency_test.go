package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// TestKeyHolderDies: a key whose holder's database session ends (its
// process killed, its connection lost) is free again at once, and the old
// holder can no longer write under it, so the request cannot run twice.
func TestKeyHolderDies(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	render := func(v any) (*taskapi.SavedResponse, error) {
		return &taskapi.SavedResponse{Status: 201, Body: []byte(v.(*taskapi.Task).ID)}, nil
	}
	k := taskapi.IdempotencyKey{UserID: "auth0|dies", Key: "k", Fingerprint: taskapi.Fingerprint("POST", "/tasks", nil)}
	_, held, err := s.ClaimKey(ctx, k, render)
	if err != nil || held == nil {
		t.Fatal(held, err)
	}
	if _, _, err := s.ClaimKey(ctx, k, render); taskapi.ErrorCode(err) != taskapi.EKEYINPROGRESS {
		t.Fatalf("ClaimKey while held: %v, want %s", err, taskapi.EKEYINPROGRESS)
	}
	// The holder's session ends, as when its process is killed.
	pid := held.(*keyClaim).conn.Conn().PgConn().PID()
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, taken, err := s.ClaimKey(ctx, k, render)
	for i := 0; taskapi.ErrorCode(err) == taskapi.EKEYINPROGRESS && i < 100; i++ { // the backend exits asynchronously
		time.Sleep(10 * time.Millisecond)
		_, taken, err = s.ClaimKey(ctx, k, render)
	}
	if err != nil || taken == nil {
		t.Fatalf("ClaimKey after the holder died: %v, %v; want a claim", taken, err)
	}
	// The dead holder's write fails; the new holder's succeeds.
	if err := held.Store().CreateTask(ctx, &taskapi.Task{UserID: k.UserID, Name: "by the dead holder"}); err == nil {
		t.Fatal("the dead holder wrote under the key")
	}
	held.Release(ctx, nil)
	created := &taskapi.Task{UserID: k.UserID, Name: "by the new holder"}
	if err := taken.Store().CreateTask(ctx, created); err != nil {
		t.Fatal(err)
	}
	if err := taken.Release(ctx, nil); err != nil {
		t.Fatal(err)
	}
	saved, c, err := s.ClaimKey(ctx, k, render)
	if err != nil || c != nil || saved == nil || string(saved.Body) != created.ID {
		t.Fatalf("ClaimKey after the write: %+v, %v, %v; want the new holder's response", saved, c, err)
	}
	page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: k.UserID, Limit: 10})
	if err != nil || len(page.Tasks) != 1 {
		t.Fatalf("%d tasks, %v; want 1", len(page.Tasks), err)
	}
}
