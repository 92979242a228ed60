package main

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "tutorial", in: "ISSUER_BASE_URL=https://t.auth0.com\nAUDIENCE=task-manager-api\n",
			want: map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com", "AUDIENCE": "task-manager-api"}},
		{name: "comments and blanks", in: "# config\n\n  # indented\nA=1 # trailing\nB=x#not-a-comment\n",
			want: map[string]string{"A": "1", "B": "x#not-a-comment"}},
		{name: "spaces and export", in: "export A = spaced value  \n\tB=2\r\n",
			want: map[string]string{"A": "spaced value", "B": "2"}},
		{name: "double quotes", in: `A="say \"hi\"\n# not a comment" # comment` + "\n" + `B="a\\b\$c\q"`,
			want: map[string]string{"A": "say \"hi\"\n# not a comment", "B": `a\b$c\q`}},
		{name: "single quotes are literal", in: `A='$HOME \n "x"'`, want: map[string]string{"A": `$HOME \n "x"`}},
		{name: "empty values", in: "A=\nB=\"\"\nC=''", want: map[string]string{"A": "", "B": "", "C": ""}},
		{name: "later wins", in: "A=1\nA=2", want: map[string]string{"A": "2"}},
		{name: "equals in value", in: "DATABASE_URL=sqlite:a=b.db", want: map[string]string{"DATABASE_URL": "sqlite:a=b.db"}},
		{name: "byte order mark", in: "\uFEFFA=1", want: map[string]string{"A": "1"}},
		{name: "no equals", in: "A=1\nJUSTTEXT\n", wantErr: "line 2: want KEY=VALUE"},
		{name: "bad name", in: "1A=x", wantErr: `line 1: invalid variable name "1A"`},
		{name: "dash in name", in: "MY-VAR=x", wantErr: "invalid variable name"},
		{name: "unterminated double", in: `A="abc`, wantErr: "line 1: A: unterminated double quote"},
		{name: "unterminated single", in: "A='abc", wantErr: "unterminated single quote"},
		{name: "text after quote", in: `A="abc" def`, wantErr: "after the closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDotenv([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadDotenv(t *testing.T) {
	dir := t.TempDir()
	if vars, err := readDotenv(filepath.Join(dir, "missing")); err != nil || vars != nil {
		t.Errorf("missing file: %v, %v; want nothing and no error", vars, err)
	}
	bad := filepath.Join(dir, ".env")
	os.WriteFile(bad, []byte("A=1\nB\n"), 0o600)
	if _, err := readDotenv(bad); err == nil || !strings.Contains(err.Error(), bad+": line 2") {
		t.Errorf("err = %v, want it to name %s and line 2", err, bad)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("#", maxDotenvBytes+1)), 0o600)
	if _, err := readDotenv(big); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("oversized file: err = %v", err)
	}
}

func TestReadDotenvSymlink(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, ".env")
	if err := os.Symlink(filepath.Join(dir, "secrets", "taskapi.env"), dangling); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if _, err := readDotenv(dangling); err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("dangling symlink: err = %v, want an error naming the missing target", err)
	}
	// A link to a file that exists is read through.
	os.Mkdir(filepath.Join(dir, "secrets"), 0o700)
	os.WriteFile(filepath.Join(dir, "secrets", "taskapi.env"), []byte("A=1\n"), 0o600)
	if vars, err := readDotenv(dangling); err != nil || vars["A"] != "1" {
		t.Errorf("symlink to a file: %v, %v", vars, err)
	}
}

func TestEmptyEnvironmentVariableWinsOverDotenv(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile(dotenvFile, []byte("METRICS=true\nLOG_LEVEL=debug\n"), 0o600)
	get, err := withDotenv(mapLookup(map[string]string{"METRICS": ""}), dotenvFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics || c.LogLevel != slog.LevelDebug {
		t.Errorf("METRICS= in the environment, METRICS=true in .env: Metrics = %v, want false (and LOG_LEVEL from .env: %v)", c.Metrics, c.LogLevel)
	}
}

func TestBrokenDotenvAllowsHelpAndVersion(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile(dotenvFile, []byte("NOT A LINE\n"), 0o600)
	for _, args := range [][]string{
		{"taskapi", "-h"}, {"taskapi", "help"}, {"taskapi"}, {"taskapi", "serve", "-h"}, {"taskapi", "token", "-help"},
		{"taskapi", "version"}, {"taskapi", "-version"},
	} {
		if _, err := loadEnv(args, mapLookup(nil), dotenvFile); err != nil {
			t.Errorf("%q: %v, want the environment alone", args, err)
		}
	}
	for _, args := range [][]string{{"taskapi", "serve"}, {"taskapi", "dev", "-addr", "127.0.0.1:0"}, {"taskapi", "token", "--", "-h"}} {
		if _, err := loadEnv(args, mapLookup(nil), dotenvFile); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err = %v, want the .env error", args, err)
		}
	}
}

func TestOverlay(t *testing.T) {
	// B is set to the empty string in the environment: that wins over
	// .env, so that one run can turn off what .env sets.
	real := mapLookup(map[string]string{"A": "real", "B": ""})
	get := overlay(real, map[string]string{"A": "file", "B": "file", "C": "file"})
	for k, want := range map[string]string{"A": "real", "B": "", "C": "file", "D": ""} {
		if got := get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// mapEnv is a fake getenv.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mapLookup is a fake os.LookupEnv: the variables of m are set, others
// not.
func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// FuzzParseDotenv checks that any input parses or fails cleanly, that only
// valid names come out, and that a single-quoted value reads back as
// written.
func FuzzParseDotenv(f *testing.F) {
	f.Add("A=1\n# c\nB=\"x\\ny\"\nexport C='z'", "value")
	f.Add("\uFEFFA = b #c", `with "quotes" and $x`)
	f.Add(`A="\`, "")
	f.Fuzz(func(t *testing.T, file, value string) {
		vars, err := parseDotenv([]byte(file))
		if err == nil {
			for k := range vars {
				if !validEnvName(k) {
					t.Errorf("parsed invalid name %q", k)
				}
			}
		}
		if strings.ContainsAny(value, "'\n\r") || strings.TrimSpace(value) != value && value != "" {
			return
		}
		vars, err = parseDotenv([]byte("KEY='" + value + "'\n"))
		if err != nil || vars["KEY"] != value {
			t.Errorf("KEY='%s' parsed as %q, %v", value, vars["KEY"], err)
		}
	})
}
