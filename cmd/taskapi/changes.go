package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/taskapi/taskapi"
)

// The tombstones of the change feed (TOMBSTONE_RETENTION).
const (
	defaultTombstoneRetention = 30 * 24 * time.Hour
	minTombstoneRetention     = time.Minute
	maxTombstoneRetention     = 10 * 365 * 24 * time.Hour
	// maxPurgeInterval bounds the wait between two purges: a tombstone
	// stays at most this much longer than the retention.
	maxPurgeInterval = time.Hour
)

func parseTombstoneRetention(c *config, name, s string) error {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil || d < minTombstoneRetention || d > maxTombstoneRetention {
		return fmt.Errorf("%s=%q: want a duration from %v to %v, e.g. 720h (30 days)", name, truncate(s, 40), minTombstoneRetention, maxTombstoneRetention)
	}
	c.TombstoneRetention = d
	return nil
}

// tombstonePurgeInterval is how often the tombstones older than retention are
// purged: a tenth of it, at most maxPurgeInterval.
func tombstonePurgeInterval(retention time.Duration) time.Duration {
	return min(retention/10, maxPurgeInterval)
}

// startTombstonePurge purges, at once and then every tombstonePurgeInterval, the tombstones
// older than retention as of now(), until ctx ends or the returned function is called (which
// waits for a purge under way). Every instance on a PostgreSQL database
// purges: the purges take turns on each user's counter, so two at once
// only repeat work. A failed purge is logged and tried at the next tick.
// retention 0 (a command that does not read TOMBSTONE_RETENTION) purges
// nothing.
func startTombstonePurge(ctx context.Context, log *slog.Logger, store taskapi.Store, retention time.Duration, now func() time.Time) (stop func()) {
	if retention <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(tombstonePurgeInterval(retention))
		defer tick.Stop()
		for {
			n, err := store.PurgeTombstones(ctx, now().Add(-retention))
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Error("could not purge old tombstones of the change feed; retrying later", "err", err)
			case n > 0:
				log.Info("purged old tombstones of the change feed", "tombstones", n, "older_than", retention.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}
