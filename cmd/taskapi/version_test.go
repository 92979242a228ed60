package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestPrintVersion(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want []string
	}{
		{"installed from a tag", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/taskapi/taskapi", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"}}},
			[]string{"taskapi v1.2.3\n", "module   github.com/taskapi/taskapi\n", "revision 0123abcd\n", "time     2026-01-02T03:04:05Z\n", "go       go1.26.0\n"}},
		{"a checkout with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/taskapi/taskapi", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"taskapi (devel)\n", "revision 0123abcd+dirty\n", "go       go1.26.8\n"}},
		{"-buildvcs=false", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/taskapi/taskapi"}},
			[]string{"taskapi (devel)\n", "revision unknown (built without VCS information)\n"}},
		{"no build information", nil, []string{"no build information"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printVersion(&b, tt.info)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		res := runCmd(t, nil, args...)
		if res.err != nil || !strings.Contains(res.stdout, "go       "+runtime.Version()+"\n") || !strings.HasPrefix(res.stdout, "taskapi ") {
			t.Errorf("taskapi %s: %v\n%s", args[0], res.err, res.stdout)
		}
	}
}

// TestVersionOfBuiltBinary builds the binary as go install does, with VCS
// stamping, and checks that `taskapi version` names the checkout's
// revision.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not in a git checkout (or no git):", err)
	}
	top, _ := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// A linked work tree (git worktree add) has a .git file, in which
		// the go command finds no repository to stamp.
		t.Skip("not a plain git clone (a linked work tree?): go build stamps no VCS information here")
	}
	bin := filepath.Join(t.TempDir(), "taskapi")
	// GOFLAGS may hold -buildvcs=false; the flag on the command line wins.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("taskapi version: %v\n%s", err, out)
	}
	want := "revision " + strings.TrimSpace(string(head))
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "module   github.com/taskapi/taskapi\n") {
		t.Errorf("taskapi version:\n%s\nwant a line %q", out, want)
	}
	os.Remove(bin)
}
