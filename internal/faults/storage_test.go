package faults

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // integrity_check of the files the service wrote

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// nobody is the user the read-only test runs the service as: root writes
// through any file mode.
const nobody = 65534

// publicDir returns a new directory that every user may enter (t.TempDir's
// parents are private to root), removed when the test ends.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "faults-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mountTmpfs mounts a tmpfs of size bytes at dir, or skips the test
// loudly where mounting is not permitted. It is unmounted when the test
// ends.
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("\n*** SKIPPING: cannot mount a tmpfs to fill (%v): run the fault tests as root to cover a full disk ***", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// integrity opens the SQLite file at path directly and returns the answer
// of PRAGMA integrity_check and the ids of the tasks of user.
func integrity(t *testing.T, path, user string) (string, map[string]bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check []string
	rows, err := db.QueryContext(t.Context(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		check = append(check, s)
	}
	rows.Close()
	ids := map[string]bool{}
	rows, err = db.QueryContext(t.Context(), "SELECT id FROM tasks WHERE user_id = ?", user)
	if err != nil {
		t.Fatalf("read tasks: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(check, "; "), ids
}

// TestDiskFull fills a 1 MiB tmpfs that holds the database: writes are
// answered 503 (never 500, never a crash), reads go on, writes recover
// once there is room, every acknowledged write is there, and
// PRAGMA integrity_check says ok.
func TestDiskFull(t *testing.T) {
	dir := publicDir(t)
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, dataDir, "1m")
	dbPath := filepath.Join(dataDir, "taskapi.db")
	idp := startIdP(t)
	const user = "faults|disk-full"
	tok := token(t, idp, user)
	svc := start(t, dir, "sqlite:"+dbPath, idp)

	description := strings.Repeat("Fill the disk. ", 66) // 990 characters, near the 1000 limit
	var acked []string
	full := 0
	for i := 0; full < 20; i++ {
		if i > 5000 {
			t.Fatalf("no 503 after %d writes of 1 KB on a 1 MiB disk", i)
		}
		id, a, err := createTask(t.Context(), svc.URL, tok, "fill", description)
		switch {
		case err != nil:
			t.Fatalf("write %d: %v", i, err)
		case id != "":
			acked = append(acked, id)
		case a.status == http.StatusServiceUnavailable:
			if full == 0 {
				checkUnavailable(t, "POST /tasks on a full disk", a)
				t.Logf("disk full after %d writes: %d %s", len(acked), a.status, a.body)
			}
			full++
		default:
			t.Fatalf("write %d on a filling disk: %d %s, want 201 or 503", i, a.status, a.body)
		}
	}
	if a, err := call(t.Context(), http.MethodGet, svc.URL+"/tasks", tok, nil); err != nil || a.status != http.StatusOK {
		t.Errorf("GET /tasks on a full disk: %v %d %s, want 200", err, a.status, a.body)
	}
	if svc.Exited() {
		t.Fatal("the service exited on a full disk")
	}

	// Room again: writes recover without a restart.
	if err := syscall.Mount("tmpfs", dataDir, "tmpfs", syscall.MS_REMOUNT, "size=16m"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	recovered := false
	for deadline := time.Now().Add(requestBound); !recovered && time.Now().Before(deadline); {
		id, a, err := createTask(t.Context(), svc.URL, tok, "after", "")
		switch {
		case err != nil:
			t.Fatal(err)
		case id != "":
			acked = append(acked, id)
			recovered = true
		case a.status != http.StatusServiceUnavailable:
			t.Fatalf("write after the disk was grown: %d %s", a.status, a.body)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !recovered {
		t.Errorf("writes still refused %v after the disk was grown", requestBound)
	}

	if code, err := svc.Stop(12 * time.Second); err != nil || code != 0 {
		t.Errorf("stop: exit %d, %v", code, err)
	}
	check, ids := integrity(t, dbPath, user)
	if check != "ok" {
		t.Errorf("PRAGMA integrity_check: %q", check)
	}
	for _, id := range acked {
		if !ids[id] {
			t.Errorf("acknowledged task %s is missing", id)
		}
	}
	if len(ids) != len(acked) {
		t.Errorf("%d tasks stored, %d acknowledged (a write answered 503 was stored)", len(ids), len(acked))
	}
}

// TestReadOnlyDatabase runs the service, as an ordinary user, on a
// database file it may not write: reads are answered, writes get a clear
// 503, and the file is intact.
func TestReadOnlyDatabase(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("\n*** SKIPPING: needs root, to run the service as another user (root writes through any file mode) ***")
	}
	dir := publicDir(t)
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dataDir, "taskapi.db")
	idp := startIdP(t)
	const user = "faults|read-only"
	tok := token(t, idp, user)

	// Some data first, written by a service that may.
	svc := start(t, dir, "sqlite:"+dbPath, idp)
	var acked []string
	for range 5 {
		id, a, err := createTask(t.Context(), svc.URL, tok, "kept", "")
		if err != nil || id == "" {
			t.Fatalf("create: %v %d %s", err, a.status, a.body)
		}
		acked = append(acked, id)
	}
	if code, err := svc.Stop(12 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d, %v", code, err)
	}

	// The files now belong to nobody, read-only; the directory stays
	// writable (SQLite's -wal and -shm files).
	if err := os.Chown(dataDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(dbPath + "*")
	for _, f := range files {
		if err := os.Chown(f, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := harness.Start(t.Context(), harness.Config{
		Binary: binary, Dir: dir, DatabaseURL: "sqlite:" + dbPath, IssuerBaseURL: idp.URL(), LogLevel: "warn",
		SysProcAttr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}},
	})
	if err != nil {
		t.Fatalf("start on a read-only database: %v", err)
	}
	t.Cleanup(svc.Kill)

	ids := listIDs(t, svc.URL, tok)
	if len(ids) != len(acked) {
		t.Errorf("GET /tasks on a read-only database: %d tasks, want %d", len(ids), len(acked))
	}
	_, a, err := createTask(t.Context(), svc.URL, tok, "refused", "")
	if err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, "POST /tasks on a read-only database", a)
	a, err = call(context.Background(), http.MethodDelete, svc.URL+"/tasks/"+acked[0], tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, "DELETE /tasks/{id} on a read-only database", a)
	if svc.Exited() {
		t.Fatal("the service exited")
	}
	if code, err := svc.Stop(12 * time.Second); err != nil || code != 0 {
		t.Errorf("stop: exit %d, %v\n%s", code, err, svc.LogTail(2000))
	}

	for _, f := range files {
		os.Chmod(f, 0o644)
	}
	check, stored := integrity(t, dbPath, user)
	if check != "ok" {
		t.Errorf("PRAGMA integrity_check: %q", check)
	}
	if len(stored) != len(acked) {
		t.Errorf("%d tasks stored, want the %d written before", len(stored), len(acked))
	}
}
