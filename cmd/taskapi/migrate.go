package main

import (
	"context"
	"fmt"

	"github.com/taskapi/taskapi/sqlite"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "migrate", "migrate", "  DATABASE_URL  sqlite:PATH (default taskapi.db in the working directory)\n")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := parseDatabaseURL(env.getenv(databaseEnv))
	if err != nil {
		return err
	}
	if err := sqlite.Migrate(ctx, db.Path); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Path, err)
	}
	fmt.Fprintf(env.stdout, "migrations applied to %s\n", db.Path)
	return nil
}
