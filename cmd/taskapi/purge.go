package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/taskapi/taskapi"
)

// purgeInterval is how often serve and dev delete the expired idempotency
// keys.
const purgeInterval = time.Minute

// purgeKeys deletes the expired idempotency keys of store every interval
// until ctx ends; a failure is logged and tried again at the next tick.
func purgeKeys(ctx context.Context, log *slog.Logger, store taskapi.Store, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := store.PurgeKeys(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("could not purge expired idempotency keys", "err", err)
		case n > 0:
			log.Debug("purged expired idempotency keys", "keys", n)
		}
	}
}
