package main

import (
	"path/filepath"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// TestOpenStoreAppliesLimits: the limits of the configuration reach the
// store, on SQLite and on PostgreSQL.
func TestOpenStoreAppliesLimits(t *testing.T) {
	for name, db := range map[string]func(t *testing.T) database{
		"sqlite":   func(t *testing.T) database { return database{Path: filepath.Join(t.TempDir(), "t.db")} },
		"postgres": func(t *testing.T) database { return database{URL: pgtest.Schema(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			store, err := openStore(t.Context(), db(t), taskapi.Limits{Tasks: 1, Projects: 1}, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for i, want := range []string{"", taskapi.ELIMIT} {
				err := store.CreateTask(t.Context(), &taskapi.Task{UserID: "u", Name: "t"})
				if taskapi.ErrorCode(err) != want {
					t.Fatalf("task %d: %v, want code %q", i+1, err, want)
				}
				err = store.CreateProject(t.Context(), &taskapi.Project{UserID: "u", Name: "p"})
				if taskapi.ErrorCode(err) != want {
					t.Fatalf("project %d: %v, want code %q", i+1, err, want)
				}
			}
		})
	}
}
