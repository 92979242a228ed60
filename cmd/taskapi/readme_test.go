package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEForOperators checks that README.md tells a newcomer how to get
// the binary and what the first run costs, and an operator how to run it:
// TLS, backup and restore, upgrades, a user's data.
func TestREADMEForOperators(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, want := range []string{
		"go install ./cmd/taskapi", "go install github.com/taskapi/taskapi/cmd/taskapi@latest",
		"$(go env GOBIN)", "$(go env GOPATH)/bin", "go run ./cmd/taskapi", "taskapi version",
		"The first run takes minutes", "modernc.org/sqlite",
		"### TLS", "TLS_CERT_FILE", "SIGHUP",
		"### Backup and restore", "taskapi backup", "VACUUM INTO", "taskapi.db-wal", "pg_dump", "pg_restore",
		"### Upgrading", "expand, then contract", "rolling upgrade",
		"GET /me/export", "DELETE /me", "Confirm: delete-all-my-data",
		"Apache License 2.0",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}
