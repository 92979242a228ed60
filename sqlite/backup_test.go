package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/taskapi/taskapi"
)

// TestBackupWhileWriting backs up a database while a writer keeps
// creating tasks, then restores the copy as the README says (the copy in
// place of the database file) and reads it through a Store.
func TestBackupWhileWriting(t *testing.T) {
	s, path := open(t)
	createTasks(t, s, 50)
	ctx, stop := context.WithCancel(t.Context())
	var written atomic.Int64
	written.Store(50)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := s.CreateTask(ctx, &taskapi.Task{UserID: "auth0|ckpt", Name: "in flight"}); err == nil {
				written.Add(1)
			}
		}
	}()
	// Let the writer get going, so that the backup meets writes.
	for written.Load() < 100 {
		if err := ctx.Err(); err != nil {
			t.Fatal(err)
		}
	}
	before := written.Load()
	dest := filepath.Join(t.TempDir(), "backup.db")
	res, err := Backup(t.Context(), path, dest)
	after := written.Load()
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Tasks < before || res.Tasks > after+1 || res.Bytes == 0 {
		t.Errorf("backup has %d tasks (%d bytes); %d were written before it began, %d when it ended", res.Tasks, res.Bytes, before, after)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup mode %v, want 0600", perm)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".backup.db.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Restore: the copy becomes the database of a new Store.
	restored := filepath.Join(t.TempDir(), "taskapi.db")
	b, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(t.Context(), restored)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	page, err := r.Tasks(t.Context(), taskapi.TaskFilter{UserID: "auth0|ckpt", Limit: 1 << 20, Sort: taskapi.Sort{Field: taskapi.SortCreatedAt}})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(page.Tasks)) != res.Tasks {
		t.Errorf("restored database lists %d tasks, the backup reported %d", len(page.Tasks), res.Tasks)
	}
	if got := pragma(t, r.write, "journal_mode"); got != "wal" {
		t.Errorf("restored database journal_mode = %q, want wal", got)
	}
}

func TestBackupRefuses(t *testing.T) {
	_, path := open(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	tests := []struct {
		name, path, dest, want string
	}{
		{"an existing file", path, existing, "exists"},
		{"a missing database", filepath.Join(dir, "missing.db"), filepath.Join(dir, "b1.db"), "no database"},
		{"a missing directory", path, filepath.Join(dir, "no", "such", "b2.db"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Backup(t.Context(), tt.path, tt.dest); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("a backup of a missing database created it")
	}
}
