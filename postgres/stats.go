package postgres

import "database/sql"

// PoolName is the name of the store's one pool in Stats.
const PoolName = "postgres"

// Stats returns the statistics of the store's connection pool under
// PoolName, in database/sql's shape so that one collector and one
// dashboard serve both stores (metrics.NewDBPoolsCollector). pgxpool's
// figures map as follows: MaxOpenConnections is MaxConns; OpenConnections
// TotalConns (connections being established included); InUse
// AcquiredConns; Idle IdleConns; WaitCount and WaitDuration the acquires
// that had to wait for a connection (EmptyAcquireCount) and their wait
// (EmptyAcquireWaitTime); MaxIdleTimeClosed and MaxLifetimeClosed the
// connections closed for MaxConnIdleTime and MaxConnLifetime. pgxpool has
// no idle-count limit: MaxIdleClosed is 0.
func (s *Store) Stats() map[string]sql.DBStats {
	st := s.pool.Stat()
	return map[string]sql.DBStats{PoolName: {
		MaxOpenConnections: int(st.MaxConns()),
		OpenConnections:    int(st.TotalConns()),
		InUse:              int(st.AcquiredConns()),
		Idle:               int(st.IdleConns()),
		WaitCount:          st.EmptyAcquireCount(),
		WaitDuration:       st.EmptyAcquireWaitTime(),
		MaxIdleTimeClosed:  st.MaxIdleDestroyCount(),
		MaxLifetimeClosed:  st.MaxLifetimeDestroyCount(),
	}}
}
