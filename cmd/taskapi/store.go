package main

import (
	"context"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/sqlite"
)

// openStore opens the database, applying pending migrations, with each
// user's rows capped at limits and idempotency keys kept for keyTTL (0:
// taskapi.DefaultKeyTTL).
func openStore(ctx context.Context, db database, limits taskapi.Limits, keyTTL time.Duration) (taskapi.Store, error) {
	if err := checkDatabaseDir(db); err != nil {
		return nil, err
	}
	var s taskapi.Store
	var err error
	if db.URL != "" {
		s, err = postgres.Open(ctx, db.URL, postgres.WithLimits(limits), postgres.WithKeyTTL(keyTTL))
	} else {
		s, err = sqlite.Open(ctx, db.Path, sqlite.WithLimits(limits), sqlite.WithKeyTTL(keyTTL))
	}
	if err != nil {
		return nil, explainDatabaseError(db, err)
	}
	return s, nil
}

// migrateDatabase applies pending migrations to the database.
func migrateDatabase(ctx context.Context, db database) error {
	if err := checkDatabaseDir(db); err != nil {
		return err
	}
	var err error
	if db.URL != "" {
		err = postgres.Migrate(ctx, db.URL)
	} else {
		err = sqlite.Migrate(ctx, db.Path)
	}
	if err != nil {
		return explainDatabaseError(db, err)
	}
	return nil
}
