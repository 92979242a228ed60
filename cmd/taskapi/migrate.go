package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "migrate", "migrate", "  DATABASE_URL  sqlite:PATH or postgres://… (default taskapi.db in the working directory)\n")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := parseDatabaseURL(env.getenv(databaseEnv))
	if err != nil {
		return err
	}
	if err := migrateDatabase(ctx, db); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "migrations applied to %s\n", db)
	return nil
}
