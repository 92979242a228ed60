package storetest

import (
	"path/filepath"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/postgres/pgtest"
	"github.com/taskapi/taskapi/sqlite"
)

func TestSQLite(t *testing.T) {
	Run(t, func(t *testing.T, limits taskapi.Limits) taskapi.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "taskapi.db"), sqlite.WithNow(Now(t)), sqlite.WithLimits(limits))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestPostgres runs the suite on the test server (see pgtest), each subtest
// in a schema of its own.
func TestPostgres(t *testing.T) {
	Run(t, func(t *testing.T, limits taskapi.Limits) taskapi.Store {
		s, err := postgres.Open(t.Context(), pgtest.Schema(t), postgres.WithNow(Now(t)), postgres.WithLimits(limits))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
