package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BackupResult describes a backup that Backup wrote.
type BackupResult struct {
	Tasks, Projects int64
	Bytes           int64
}

// Backup writes a consistent copy of the database file at path to dest, a
// file that must not exist yet, while other connections and processes (a
// running taskapi serve) keep reading and writing: VACUUM INTO reads one
// snapshot of the database (a read transaction, which in WAL mode neither
// blocks writers nor waits for them) and writes it compacted, with the
// WAL's committed transactions in it, into a new file.
//
// The copy is written to a temporary file beside dest, created readable by
// its owner only, checked (PRAGMA quick_check) and synced, and only then
// linked to dest: a failed or interrupted backup leaves no file under
// dest's name, and dest is never overwritten. The copy is a database in
// rollback-journal mode; Open turns it back to WAL when the copy is
// restored.
func Backup(ctx context.Context, path, dest string) (BackupResult, error) {
	var res BackupResult
	if _, err := os.Stat(path); err != nil {
		return res, fmt.Errorf("sqlite: backup: no database at %s: %w", path, err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return res, fmt.Errorf("sqlite: backup: %s exists: a backup never overwrites a file, name a new one", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // after the link below, dest keeps the file

	// Not a query_only connection: SQLite counts VACUUM INTO as a write.
	// It writes only the new file.
	db, err := openDB(path, DefaultBusyTimeout, false, 1)
	if err != nil {
		return res, err
	}
	// VACUUM INTO fills the empty file, keeping its mode (0600). The name
	// is absolute, so it is never read as a URI.
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmpName)
	db.Close()
	if err != nil {
		return res, mapError(ctx, "backup", err)
	}
	if res, err = checkBackup(ctx, tmpName); err != nil {
		return res, err
	}
	if err := syncFile(tmpName); err != nil {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	// A link, unlike a rename, fails when dest appeared meanwhile.
	if err := os.Link(tmpName, abs); err != nil {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	return res, syncFile(filepath.Dir(abs))
}

// checkBackup checks the copy at path (PRAGMA quick_check) and counts its
// rows and bytes.
func checkBackup(ctx context.Context, path string) (BackupResult, error) {
	var res BackupResult
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)+"?mode=ro")
	if err != nil {
		return res, fmt.Errorf("sqlite: backup: check: %w", err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		return res, fmt.Errorf("sqlite: backup: the copy failed its check (%q): %v", check, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM projects)`).Scan(&res.Tasks, &res.Projects); err != nil {
		return res, fmt.Errorf("sqlite: backup: check: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("sqlite: backup: %w", err)
	}
	res.Bytes = fi.Size()
	return res, nil
}

// syncFile flushes the file or directory at path to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
