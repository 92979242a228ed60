package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "migrate", "migrate", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := readConfig(env.getenv, "migrate")
	if err != nil {
		return err
	}
	if err := migrateDatabase(ctx, cfg.Database); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "migrations applied to %s\n", cfg.Database)
	return nil
}
