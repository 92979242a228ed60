package metrics

import (
	"database/sql"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDBStatsCollector registers two pools in one registry and checks every
// value read at a scrape, with its type and label.
func TestDBStatsCollector(t *testing.T) {
	write := sql.DBStats{MaxOpenConnections: 1, OpenConnections: 1, InUse: 1, WaitCount: 42,
		WaitDuration: 1500 * time.Millisecond, MaxIdleClosed: 3, MaxIdleTimeClosed: 4, MaxLifetimeClosed: 5}
	read := sql.DBStats{MaxOpenConnections: 8, OpenConnections: 5, InUse: 2, Idle: 3}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewDBStatsCollector("write", func() sql.DBStats { return write }))
	reg.MustRegister(NewDBStatsCollector("read", func() sql.DBStats { return read }))
	write.InUse = 0 // read at scrape time, not at registration

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName() + "/" + m.GetLabel()[0].GetValue()
			switch {
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[key] = -m.GetCounter().GetValue() // counters negated, to check the type too
			}
		}
	}
	want := map[string]float64{
		"go_sql_max_open_connections/write": 1, "go_sql_open_connections/write": 1, "go_sql_in_use_connections/write": 0,
		"go_sql_idle_connections/write": 0, "go_sql_wait_count_total/write": -42, "go_sql_wait_duration_seconds_total/write": -1.5,
		"go_sql_max_idle_closed_total/write": -3, "go_sql_max_idle_time_closed_total/write": -4, "go_sql_max_lifetime_closed_total/write": -5,
		"go_sql_max_open_connections/read": 8, "go_sql_open_connections/read": 5, "go_sql_in_use_connections/read": 2,
		"go_sql_idle_connections/read": 3, "go_sql_wait_count_total/read": 0, "go_sql_wait_duration_seconds_total/read": 0,
		"go_sql_max_idle_closed_total/read": 0, "go_sql_max_idle_time_closed_total/read": 0, "go_sql_max_lifetime_closed_total/read": 0,
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// The same pool name twice is refused by the registry.
	if err := reg.Register(NewDBStatsCollector("read", func() sql.DBStats { return read })); err == nil {
		t.Error("a second collector of the same pool registers")
	}
}
