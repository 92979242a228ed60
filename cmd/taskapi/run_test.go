package main

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runCmd(t, nil)
	if !errors.Is(r.err, errUsage) || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no command: err = %v, stderr:\n%s", r.err, r.stderr)
	}
	r = runCmd(t, nil, "-h")
	if r.err != nil || !strings.Contains(r.stdout, "serve") || !strings.Contains(r.stdout, "migrate") ||
		!strings.Contains(r.stdout, "backup") || !strings.Contains(r.stdout, "version") {
		t.Errorf("-h: err = %v, stdout:\n%s", r.err, r.stdout)
	}
	r = runCmd(t, nil, "frobnicate")
	if !errors.Is(r.err, errUsage) || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: err = %v, stderr:\n%s", r.err, r.stderr)
	}
}

func TestSubcommandHelp(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := map[string][]string{
		"serve": {"Usage: taskapi serve", "-addr", "ISSUER_BASE_URL", "AUDIENCE", "REQUIRE_SCOPES", "ISSUERS", "ISSUERS_ALLOW_HTTP",
			"DPOP_DISABLED", "DPOP_REQUIRED", "DPOP_NONCE_KEY", "MTLS_CERT_HEADER", "MTLS_REQUIRED", "REQUEST_TIMEOUT", "PPROF_ADDR",
			"TLS_CERT_FILE", "TLS_KEY_FILE", "LOG_FORMAT"},
		"dev":     {"Usage: taskapi dev", "-issuer-addr", "-user", "taskapi-dev-key.pem", "LOG_FORMAT"},
		"backup":  {"Usage: taskapi backup FILE", "DATABASE_URL", "VACUUM", "pg_dump"},
		"version": {"Usage: taskapi version"},
		"token":   {"Usage: taskapi token", "-sub", "-scope", "-ttl", "-aud"},
		"seed":    {"Usage: taskapi seed", "-user", "SEED_USERS"},
		"migrate": {"Usage: taskapi migrate", "DATABASE_URL"},
	}
	for cmd, want := range tests {
		r := runCmd(t, nil, cmd, "-h")
		if !errors.Is(r.err, flag.ErrHelp) {
			t.Errorf("%s -h: err = %v, want flag.ErrHelp", cmd, r.err)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s -h: usage lacks %q:\n%s", cmd, w, r.stderr)
			}
		}
	}
	r := runCmd(t, nil, "seed", "-bogus")
	if !errors.Is(r.err, errUsage) || !strings.Contains(r.stderr, "flag provided but not defined: -bogus") {
		t.Errorf("bad flag: err = %v, stderr:\n%s", r.err, r.stderr)
	}
	r = runCmd(t, nil, "migrate", "extra")
	if !errors.Is(r.err, errUsage) || !strings.Contains(r.stderr, `unexpected argument "extra"`) {
		t.Errorf("stray argument: err = %v, stderr:\n%s", r.err, r.stderr)
	}
}

func TestServeNeedsIssuerAndAudience(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		dotenv  string
		want    []string
		notWant []string
	}{
		{name: "nothing", want: []string{"ISSUER_BASE_URL is not set", "AUDIENCE is not set"}},
		{name: "no audience", env: map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com"},
			want: []string{"AUDIENCE is not set"}, notWant: []string{"ISSUER_BASE_URL"}},
		{name: "no issuer", env: map[string]string{"AUDIENCE": "task-manager-api"},
			want: []string{"ISSUER_BASE_URL is not set"}, notWant: []string{"AUDIENCE"}},
		{name: "audience from .env", env: map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com"},
			dotenv: "AUDIENCE=task-manager-api\nDATABASE_URL=mysql://u:pw@h/db\n",
			want:   []string{`DATABASE_URL: unsupported scheme "mysql"`}, notWant: []string{"AUDIENCE", "pw"}},
		{name: "environment wins over .env", env: map[string]string{"ISSUER_BASE_URL": "https://t.auth0.com", "AUDIENCE": "a", "PORT": "bad"},
			dotenv: "PORT=5000\n", want: []string{`PORT="bad"`}},
		{name: "broken .env", dotenv: "AUDIENCE\n", want: []string{".env: line 1: want KEY=VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tt.dotenv != "" {
				if err := os.WriteFile(".env", []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := runCmd(t, tt.env, "serve")
			if r.err == nil {
				t.Fatal("serve started")
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("err = %v, want %q", r.err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.err.Error(), w) {
					t.Errorf("err = %v mentions %q", r.err, w)
				}
			}
			if _, err := os.Stat("taskapi.db"); err == nil {
				t.Error("a failed start created taskapi.db")
			}
		})
	}
}
