package metrics

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/postgres/pgtest"
	"github.com/taskapi/taskapi/sqlite"
)

// poolNames are the metrics of NewDBPoolsCollector whose values a test
// can know exactly.
var poolNames = []string{"go_sql_max_open_connections", "go_sql_open_connections", "go_sql_idle_connections", "go_sql_in_use_connections", "go_sql_wait_count_total", "go_sql_max_idle_closed_total"}

// TestDBPoolsCollectorSQLite scrapes the two pools of a real SQLite store.
func TestDBPoolsCollectorSQLite(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "taskapi.db"), sqlite.WithReadConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := NewDBPoolsCollector(s.Stats)
	want := `
# HELP go_sql_idle_connections The number of idle connections.
# TYPE go_sql_idle_connections gauge
go_sql_idle_connections{db_name="sqlite_read"} 1
go_sql_idle_connections{db_name="sqlite_write"} 1
# HELP go_sql_in_use_connections The number of connections currently in use.
# TYPE go_sql_in_use_connections gauge
go_sql_in_use_connections{db_name="sqlite_read"} 0
go_sql_in_use_connections{db_name="sqlite_write"} 0
# HELP go_sql_max_idle_closed_total The total number of connections closed due to SetMaxIdleConns.
# TYPE go_sql_max_idle_closed_total counter
go_sql_max_idle_closed_total{db_name="sqlite_read"} 0
go_sql_max_idle_closed_total{db_name="sqlite_write"} 0
# HELP go_sql_max_open_connections Maximum number of open connections to the database.
# TYPE go_sql_max_open_connections gauge
go_sql_max_open_connections{db_name="sqlite_read"} 3
go_sql_max_open_connections{db_name="sqlite_write"} 1
# HELP go_sql_open_connections The number of established connections both in use and idle.
# TYPE go_sql_open_connections gauge
go_sql_open_connections{db_name="sqlite_read"} 1
go_sql_open_connections{db_name="sqlite_write"} 1
# HELP go_sql_wait_count_total The total number of connections waited for.
# TYPE go_sql_wait_count_total counter
go_sql_wait_count_total{db_name="sqlite_read"} 0
go_sql_wait_count_total{db_name="sqlite_write"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), poolNames...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != 2*9 {
		t.Errorf("%d series, want 18", n)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestDBPoolsCollectorPostgres scrapes the pool of a real PostgreSQL store
// after a query.
func TestDBPoolsCollectorPostgres(t *testing.T) {
	s, err := postgres.Open(t.Context(), pgtest.Schema(t)+"&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := NewDBPoolsCollector(s.Stats)
	// One connection, made by the first acquire (which waited for it).
	want := `
# HELP go_sql_idle_connections The number of idle connections.
# TYPE go_sql_idle_connections gauge
go_sql_idle_connections{db_name="postgres"} 1
# HELP go_sql_in_use_connections The number of connections currently in use.
# TYPE go_sql_in_use_connections gauge
go_sql_in_use_connections{db_name="postgres"} 0
# HELP go_sql_max_idle_closed_total The total number of connections closed due to SetMaxIdleConns.
# TYPE go_sql_max_idle_closed_total counter
go_sql_max_idle_closed_total{db_name="postgres"} 0
# HELP go_sql_max_open_connections Maximum number of open connections to the database.
# TYPE go_sql_max_open_connections gauge
go_sql_max_open_connections{db_name="postgres"} 3
# HELP go_sql_open_connections The number of established connections both in use and idle.
# TYPE go_sql_open_connections gauge
go_sql_open_connections{db_name="postgres"} 1
# HELP go_sql_wait_count_total The total number of connections waited for.
# TYPE go_sql_wait_count_total counter
go_sql_wait_count_total{db_name="postgres"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), poolNames...); err != nil {
		t.Error(err)
	}
}
