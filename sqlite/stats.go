package sqlite

import "database/sql"

// Pool names in Stats.
const (
	PoolWrite = "sqlite_write"
	PoolRead  = "sqlite_read"
)

// Stats returns the statistics of the store's two connection pools, by
// name: PoolWrite (one connection: SQLite has one writer) and PoolRead.
// A metrics collector reads it at each scrape (metrics.NewDBPoolsCollector).
func (s *Store) Stats() map[string]sql.DBStats {
	return map[string]sql.DBStats{PoolWrite: s.write.Stats(), PoolRead: s.read.Stats()}
}
