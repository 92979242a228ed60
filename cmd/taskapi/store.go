package main

import (
	"context"
	"fmt"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/sqlite"
)

// openStore opens the database, applying pending migrations.
func openStore(ctx context.Context, db database) (taskapi.Store, error) {
	var s taskapi.Store
	var err error
	if db.URL != "" {
		s, err = postgres.Open(ctx, db.URL)
	} else {
		s, err = sqlite.Open(ctx, db.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", db, err)
	}
	return s, nil
}

// migrateDatabase applies pending migrations to the database.
func migrateDatabase(ctx context.Context, db database) error {
	var err error
	if db.URL != "" {
		err = postgres.Migrate(ctx, db.URL)
	} else {
		err = sqlite.Migrate(ctx, db.Path)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db, err)
	}
	return nil
}
