package main

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestStartupDatabaseErrors checks that serve and migrate explain a
// database they cannot open, naming DATABASE_URL and what to change,
// instead of "The database is unavailable, retry later".
func TestStartupDatabaseErrors(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want []string
	}{
		{"SQLite file in a missing directory", func(*testing.T) string { return "sqlite:no/such/dir/taskapi.db" },
			[]string{"the directory no/such/dir of the SQLite database no/such/dir/taskapi.db does not exist", "mkdir -p no/such/dir", "DATABASE_URL"}},
		{"SQLite file under a file", func(t *testing.T) string { os.WriteFile("plain", nil, 0o600); return "sqlite:plain/taskapi.db" },
			[]string{"is not a directory", "DATABASE_URL"}},
		{"PostgreSQL server not listening", func(t *testing.T) string { return "postgres://postgres:secret@" + refusedAddr(t) + "/test" },
			[]string{"cannot reach the PostgreSQL server of DATABASE_URL", "connection refused", "set DATABASE_URL"}},
		{"PostgreSQL host that does not resolve", func(*testing.T) string { return "postgres://postgres:secret@no-such-host.invalid/test" },
			[]string{"cannot reach the PostgreSQL server of DATABASE_URL", "does not resolve"}},
		{"PostgreSQL database that does not exist", func(t *testing.T) string {
			pgtest.Schema(t) // skips (or fails under CI) without a server
			u, err := url.Parse(pgtest.URL())
			if err != nil {
				t.Skip("TEST_DATABASE_URL is not a URL")
			}
			u.Path = "/taskapi_no_such_database"
			return u.String()
		}, []string{"has no such database", "change DATABASE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			env := map[string]string{"DATABASE_URL": tt.url(t), "ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api"}
			for _, cmd := range [][]string{{"serve", "-addr", "127.0.0.1:0"}, {"migrate"}} {
				r := runCmd(t, env, cmd...)
				if r.err == nil {
					t.Fatalf("%s: no error", cmd[0])
				}
				msg := r.err.Error()
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: %q lacks %q", cmd[0], msg, w)
					}
				}
				if strings.Contains(msg, "retry later") || strings.Contains(msg, "secret") {
					t.Errorf("%s: %q: misleading, or shows the password", cmd[0], msg)
				}
			}
		})
	}
}
