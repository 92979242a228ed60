package main

import (
	"os"
	"strings"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/sqlite"
)

func TestBackupCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	// The store stands in for a running taskapi serve on the same file.
	s, err := sqlite.Open(t.Context(), defaultDatabaseFile)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if err := s.CreateTask(t.Context(), &taskapi.Task{UserID: "auth0|b", Name: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	res := runCmd(t, nil, "backup", "copy.db")
	if res.err != nil || !strings.Contains(res.stdout, "to copy.db: 3 tasks, 0 projects") {
		t.Fatalf("backup: %v\n%s%s", res.err, res.stdout, res.stderr)
	}
	if fi, err := os.Stat("copy.db"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("copy.db: %v, %v; want mode 0600", fi.Mode(), err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"again onto the copy", nil, []string{"backup", "copy.db"}, "exists"},
		{"no file named", nil, []string{"backup"}, "usage error"},
		{"PostgreSQL", map[string]string{"DATABASE_URL": "postgres://u:secret@127.0.0.1:1/db"}, []string{"backup", "x.db"}, "pg_dump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCmd(t, tt.env, tt.args...)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
				t.Errorf("err = %v, want %q\n%s", res.err, tt.want, res.stderr)
			}
			if strings.Contains(res.err.Error()+res.stderr, "secret") {
				t.Errorf("the password was shown: %v", res.err)
			}
		})
	}
}
