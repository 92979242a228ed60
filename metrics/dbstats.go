// Package metrics has the Prometheus collectors the taskapi binary adds,
// beside the HTTP metrics of package httpapi, to the registry it serves at
// GET /metrics (httpapi.Config.MetricsRegistry).
package metrics

import (
	"database/sql"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// dbStatsCollector collects a pool's statistics at each scrape.
type dbStatsCollector struct {
	stats func() sql.DBStats
	descs dbDescs
}

// NewDBStatsCollector returns a collector of the statistics of a database
// pool, read from stats at each scrape, labelled db_name=dbName. It uses
// the metric names of client_golang's collectors.NewDBStatsCollector
// (go_sql_*), so that one dashboard serves every store, but takes a
// function instead of a *sql.DB: a store with several pools (SQLite's
// reader and writer) registers one collector per pool, and a store without
// database/sql (pgxpool) maps its own statistics to sql.DBStats. For a
// store's Stats method, which names its pools, see NewDBPoolsCollector.
func NewDBStatsCollector(dbName string, stats func() sql.DBStats) prometheus.Collector {
	return &dbStatsCollector{stats: stats, descs: newDBDescs(prometheus.Labels{"db_name": dbName}, nil)}
}

// Describe implements prometheus.Collector.
func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) { c.descs.describe(ch) }

// Collect implements prometheus.Collector.
func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) { c.descs.collect(ch, c.stats()) }

// dbPoolsCollector collects the statistics of named pools at each scrape.
type dbPoolsCollector struct {
	pools func() map[string]sql.DBStats
	descs dbDescs
}

// NewDBPoolsCollector returns a collector of the statistics of a store's
// connection pools, read from pools at each scrape: the go_sql_* metrics
// of NewDBStatsCollector, one series per pool labelled db_name with the
// pool's name. It takes a store's Stats method as is:
// sqlite.Store.Stats (sqlite_write, sqlite_read) or postgres.Store.Stats
// (postgres).
func NewDBPoolsCollector(pools func() map[string]sql.DBStats) prometheus.Collector {
	return &dbPoolsCollector{pools: pools, descs: newDBDescs(nil, []string{"db_name"})}
}

// Describe implements prometheus.Collector.
func (c *dbPoolsCollector) Describe(ch chan<- *prometheus.Desc) { c.descs.describe(ch) }

// Collect implements prometheus.Collector.
func (c *dbPoolsCollector) Collect(ch chan<- prometheus.Metric) {
	pools := c.pools()
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		c.descs.collect(ch, pools[name], name)
	}
}

// dbDescs are the go_sql_* metrics.
type dbDescs struct {
	maxOpen, open, inUse, idle                          *prometheus.Desc
	waitCount, waitDuration                             *prometheus.Desc
	maxIdleClosed, maxIdleTimeClosed, maxLifetimeClosed *prometheus.Desc
}

// newDBDescs returns the go_sql_* descriptions with the given labels.
func newDBDescs(constLabels prometheus.Labels, variableLabels []string) dbDescs {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("go", "sql", name), help, variableLabels, constLabels)
	}
	return dbDescs{
		maxOpen:           desc("max_open_connections", "Maximum number of open connections to the database."),
		open:              desc("open_connections", "The number of established connections both in use and idle."),
		inUse:             desc("in_use_connections", "The number of connections currently in use."),
		idle:              desc("idle_connections", "The number of idle connections."),
		waitCount:         desc("wait_count_total", "The total number of connections waited for."),
		waitDuration:      desc("wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		maxIdleClosed:     desc("max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns."),
		maxIdleTimeClosed: desc("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime."),
		maxLifetimeClosed: desc("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime."),
	}
}

func (d *dbDescs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.maxOpen, d.open, d.inUse, d.idle, d.waitCount, d.waitDuration,
		d.maxIdleClosed, d.maxIdleTimeClosed, d.maxLifetimeClosed} {
		ch <- x
	}
}

// collect sends the metrics of s, with the variable label values.
func (d *dbDescs) collect(ch chan<- prometheus.Metric, s sql.DBStats, labelValues ...string) {
	gauge := func(x *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(x, prometheus.GaugeValue, v, labelValues...)
	}
	counter := func(x *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(x, prometheus.CounterValue, v, labelValues...)
	}
	gauge(d.maxOpen, float64(s.MaxOpenConnections))
	gauge(d.open, float64(s.OpenConnections))
	gauge(d.inUse, float64(s.InUse))
	gauge(d.idle, float64(s.Idle))
	counter(d.waitCount, float64(s.WaitCount))
	counter(d.waitDuration, s.WaitDuration.Seconds())
	counter(d.maxIdleClosed, float64(s.MaxIdleClosed))
	counter(d.maxIdleTimeClosed, float64(s.MaxIdleTimeClosed))
	counter(d.maxLifetimeClosed, float64(s.MaxLifetimeClosed))
}
