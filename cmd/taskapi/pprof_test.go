package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/devissuer"
)

func TestPprofAddr(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"127.0.0.1:6060", "127.0.0.1:6060", ""},
		{"[::1]:6060", "[::1]:6060", ""},
		{"localhost:0", "127.0.0.1:0", ""},
		{":6060", "", "loopback only"},
		{"0.0.0.0:6060", "", "loopback only"},
		{"10.1.2.3:6060", "", "loopback only"},
		{"pprof.example:6060", "", "loopback only"},
		{"6060", "", "want a loopback HOST:PORT"},
	}
	for _, tt := range tests {
		got, err := pprofAddr(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("pprofAddr(%q) = %q, %v; want %q, error with %q", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), "PPROF_ADDR") {
			t.Errorf("pprofAddr(%q): %v does not name PPROF_ADDR", tt.in, err)
		}
	}
}

var pprofListeningRE = regexp.MustCompile(`"msg":"pprof listening","addr":"([^"]+)"`)

func TestServePprof(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "PPROF_ADDR": "127.0.0.1:0"}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]
	pprofBase := "http://" + stderr.waitFor(t, pprofListeningRE, done)[1]

	res, err := http.Get(pprofBase + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(b) == 0 {
		t.Errorf("GET /debug/pprof/cmdline on PPROF_ADDR: %d %q", res.StatusCode, b)
	}
	// The API does not serve the profiles.
	if a := get(t, base+"/debug/pprof/cmdline", ""); a.status != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline on the API: %d, want 404", a.status)
	}
}
