package postgres

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// contractStatements are the schema changes that can break an instance of
// the previous release still running during a rolling upgrade: it may
// read or write what they remove, rename or restrict.
var contractStatements = regexp.MustCompile(`(?is)\bDROP\s+(TABLE|COLUMN|VIEW|INDEX|FUNCTION|TRIGGER|TYPE|SCHEMA)\b` +
	`|\bRENAME\b` +
	`|\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b` +
	`|\bSET\s+NOT\s+NULL\b` +
	`|\bADD\s+CONSTRAINT\b`)

// requiredColumn is a column the previous release's inserts do not fill:
// NOT NULL without a DEFAULT.
var requiredColumn = regexp.MustCompile(`(?is)\bADD\s+COLUMN\b.*\bNOT\s+NULL\b`)

// contract returns the part of the SQL statement stmt that contracts the
// schema, or "".
func contract(stmt string) string {
	if m := contractStatements.FindString(stmt); m != "" {
		return m
	}
	if m := requiredColumn.FindString(stmt); m != "" && !regexp.MustCompile(`(?i)\bDEFAULT\b`).MatchString(stmt) {
		return m
	}
	return ""
}

// rollingUpgradeNote is the phrase with which a migration that contracts
// the schema explains why the previous release survives it.
const rollingUpgradeNote = "Safe during a rolling upgrade"

// TestMigrationsExpandThenContract holds the PostgreSQL migrations to the
// rule of rolling upgrades (README: Upgrading several instances): a
// release's migrations only add (tables, nullable or defaulted columns,
// indexes), so that instances of the previous release keep working on the
// migrated schema; what a release stops using is removed by a later
// release's migration, which says why that is safe ("Safe during a
// rolling upgrade: …").
func TestMigrationsExpandThenContract(t *testing.T) {
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	comment := regexp.MustCompile(`--[^\n]*`)
	for _, name := range files {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		up, _, ok := strings.Cut(text, "-- +goose Down")
		if !ok || !strings.Contains(up, "-- +goose Up") {
			t.Errorf("%s: no -- +goose Up and Down sections", name)
			continue
		}
		_, up, _ = strings.Cut(up, "-- +goose Up")
		for _, stmt := range strings.Split(comment.ReplaceAllString(up, ""), ";") {
			if m := contract(stmt); m != "" && !strings.Contains(text, rollingUpgradeNote) {
				t.Errorf("%s: %q can break instances of the previous release during a rolling upgrade: add what the new release needs now (expand), remove what it no longer uses in a later release (contract), and say why that is safe in a comment (%q)", name, m, rollingUpgradeNote+": …")
			}
		}
	}
}

// TestContractStatements checks the pattern on the changes it must catch
// and the ones it must let through.
func TestContractStatements(t *testing.T) {
	for stmt, want := range map[string]bool{
		"ALTER TABLE tasks DROP COLUMN issuer;":                                 true,
		"DROP TABLE list_versions;":                                             true,
		"ALTER TABLE tasks RENAME COLUMN name TO title;":                        true,
		"ALTER TABLE tasks ALTER COLUMN version TYPE integer;":                  true,
		"ALTER TABLE tasks ALTER COLUMN description SET NOT NULL;":              true,
		"ALTER TABLE tasks ADD COLUMN priority int NOT NULL;":                   true,
		"ALTER TABLE tasks ADD CONSTRAINT name_short CHECK (length(name) < 9);": true,
		"DROP INDEX tasks_user_due;":                                            true,
		"CREATE TABLE dpop_proofs (key bytea PRIMARY KEY);":                     false,
		"ALTER TABLE tasks ADD COLUMN priority int;":                            false,
		"ALTER TABLE tasks ADD COLUMN issuer text NOT NULL DEFAULT '';":         false,
		"CREATE INDEX CONCURRENTLY tasks_user_name ON tasks (user_id, name);":   false,
	} {
		if got := contract(stmt) != ""; got != want {
			t.Errorf("%q: contract = %v, want %v", stmt, got, want)
		}
	}
}
