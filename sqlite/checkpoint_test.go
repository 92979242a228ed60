package sqlite

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

// withTick drives the checkpointer by tick instead of a ticker.
func withTick(tick <-chan time.Time) Option {
	return func(o *options) { o.tick = tick }
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func createTasks(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if err := s.CreateTask(t.Context(), &taskapi.Task{UserID: "auth0|ckpt", Name: strings.Repeat("x", i%50+1)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckpoint checks one round of the checkpointer: a PASSIVE
// checkpoint copies the WAL into the database and leaves the WAL file as it
// is, and a WAL over the limit is truncated.
func TestCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		walLimit int64
		writes   int
		wantWAL  func(before int64) bool
	}{
		{"under the limit: passive", DefaultWALLimit, 10, func(before int64) bool { return before > 0 }},
		{"over the limit: truncated", 0, 100, func(int64) bool { return false }},
		{"larger than the database and 1 MiB: truncated", DefaultWALLimit, 100, func(int64) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := open(t, WithWALLimit(tc.walLimit), withTick(make(chan time.Time)))
			createTasks(t, s, tc.writes)
			dbBefore, walBefore := fileSize(t, path), fileSize(t, path+"-wal")
			if walBefore == 0 {
				t.Fatalf("no WAL after %d writes", tc.writes)
			}
			if err := s.ckpt.checkpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
			dbAfter, walAfter := fileSize(t, path), fileSize(t, path+"-wal")
			if dbAfter <= dbBefore {
				t.Errorf("database file %d bytes before the checkpoint, %d after: nothing copied", dbBefore, dbAfter)
			}
			if keep := tc.wantWAL(walBefore); keep && walAfter != walBefore || !keep && walAfter != 0 {
				t.Errorf("WAL %d bytes before the checkpoint, %d after", walBefore, walAfter)
			}
			page, err := s.Tasks(t.Context(), taskapi.TaskFilter{UserID: "auth0|ckpt", Limit: 100})
			if err != nil || len(page.Tasks) != tc.writes {
				t.Fatalf("after the checkpoint: %v, %v", page, err)
			}
		})
	}
}

// TestCheckpointLoop drives the background checkpoints by ticks: a busy
// database makes a TRUNCATE fail (reported by CheckpointErr) without
// blocking the writer for long, the next tick succeeds, and Close stops the
// goroutine.
func TestCheckpointLoop(t *testing.T) {
	tick := make(chan time.Time)
	// The indexing of search text, which runs before the checkpoint, waits
	// this long for the lock that another process holds.
	s, path := open(t, WithWALLimit(0), withTick(tick), WithBusyTimeout(50*time.Millisecond))
	createTasks(t, s, 20)
	// step returns after the checkpoint of one tick: the loop takes the
	// second tick only when it has finished with the first.
	step := func() {
		tick <- time.Time{}
		tick <- time.Time{}
	}

	other, err := openDB(path, time.Second, false, 1) // another process
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil) // holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), `DELETE FROM tasks WHERE name = 'x'`); err != nil {
		t.Fatal(err)
	}
	step()
	if err := s.CheckpointErr(); err == nil || !strings.Contains(err.Error(), "TRUNCATE") {
		t.Errorf("CheckpointErr with the write lock held = %v, want a failed TRUNCATE", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	step()
	if err := s.CheckpointErr(); err != nil {
		t.Errorf("CheckpointErr = %v, want nil", err)
	}
	if size := fileSize(t, path+"-wal"); size != 0 {
		t.Errorf("WAL %d bytes after a checkpoint over the limit, want 0", size)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.ckpt.done:
	default:
		t.Error("the checkpoint goroutine still runs after Close")
	}
}

func TestOpenRefusesBadCheckpointOptions(t *testing.T) {
	for _, opt := range []Option{WithCheckpointInterval(0), WithCheckpointInterval(-time.Second), WithWALLimit(-1)} {
		s, err := Open(t.Context(), t.TempDir()+"/taskapi.db", opt)
		if err == nil {
			s.Close()
			t.Error("Open accepted a bad checkpoint option")
		}
	}
}
