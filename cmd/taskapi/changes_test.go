package main

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/sqlite"
)

func TestTombstoneRetentionConfig(t *testing.T) {
	c, err := loadConfig(mapEnv(nil))
	if err != nil || c.TombstoneRetention != 30*24*time.Hour {
		t.Fatalf("default TOMBSTONE_RETENTION: %v, %v; want 720h", c.TombstoneRetention, err)
	}
	for _, tt := range []struct {
		value string
		want  time.Duration
	}{{"1m", time.Minute}, {"168h", 7 * 24 * time.Hour}, {" 87600h ", 87600 * time.Hour}} {
		c, err := loadConfig(mapEnv(map[string]string{"TOMBSTONE_RETENTION": tt.value}))
		if err != nil || c.TombstoneRetention != tt.want {
			t.Errorf("TOMBSTONE_RETENTION=%q: %v, %v; want %v", tt.value, c.TombstoneRetention, err, tt.want)
		}
	}
	for _, bad := range []string{"30d", "0s", "59s", "-1h", "87601h", "forever"} {
		_, err := loadConfig(mapEnv(map[string]string{"TOMBSTONE_RETENTION": bad}))
		if err == nil || !strings.Contains(err.Error(), "TOMBSTONE_RETENTION=") || !strings.Contains(err.Error(), "want a duration from 1m0s") {
			t.Errorf("TOMBSTONE_RETENTION=%q: err = %v", bad, err)
		}
	}
	for _, tt := range []struct{ retention, want time.Duration }{
		{time.Minute, 6 * time.Second}, {5 * time.Hour, 30 * time.Minute}, {720 * time.Hour, time.Hour},
	} {
		if got := tombstonePurgeInterval(tt.retention); got != tt.want {
			t.Errorf("tombstonePurgeInterval(%v) = %v, want %v", tt.retention, got, tt.want)
		}
	}
}

// TestStartPurge runs the purge loop on a real store with a clock past the
// retention of a tombstone: the feed then refuses a cursor before it.
func TestStartPurge(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const user = "auth0|purge"
	task := &taskapi.Task{UserID: user, Name: "gone soon"}
	if err := store.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteTask(ctx, user, task.ID, taskapi.Precondition{}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	// Stopped and nothing purged: the tombstone is younger than a minute.
	startTombstonePurge(ctx, log, store, time.Minute, time.Now)()
	if _, err := store.Changes(ctx, taskapi.ChangeFilter{UserID: user, After: new(int64(0)), Limit: 10}); err != nil {
		t.Fatalf("the feed before the retention passed: %v", err)
	}
	// Two minutes later (by the clock given), it goes at the first purge.
	stop := startTombstonePurge(ctx, log, store, time.Minute, func() time.Time { return time.Now().Add(2 * time.Minute) })
	defer stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := store.Changes(ctx, taskapi.ChangeFilter{UserID: user, After: new(int64(0)), Limit: 10})
		if taskapi.ErrorCode(err) == taskapi.ERESYNC {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no purge within 5 s: the feed from 0 answers %v; logs: %s", err, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if !strings.Contains(logs.String(), `"tombstones":1`) {
		t.Errorf("the purge was not logged: %s", logs.String())
	}
	// A purge loop for commands without a retention does nothing.
	startTombstonePurge(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), store, 0, time.Now)()
}
