package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/taskapi/taskapi/sqlite"
)

const backupNote = `
Writes a consistent copy of the SQLite database of DATABASE_URL to FILE
(readable by its owner only; SQLite's VACUUM INTO), while taskapi serve keeps
running and writing.
FILE must not exist. To restore: stop taskapi, remove the database's -wal
and -shm files if present, copy FILE over the database file, start taskapi.

PostgreSQL: use pg_dump, e.g.
  pg_dump --format=custom --file=taskapi.dump "$DATABASE_URL"
`

func runBackup(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "backup", "backup FILE", backupNote)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.stderr, "taskapi backup: name one FILE to write the copy to")
		fs.Usage()
		return errUsage
	}
	dest := fs.Arg(0)
	cfg, err := readConfig(env.getenv, "backup")
	if err != nil {
		return err
	}
	if cfg.Database.URL != "" {
		return fmt.Errorf("taskapi backup copies SQLite databases; DATABASE_URL names PostgreSQL (%s): use pg_dump --format=custom --file=%s \"$DATABASE_URL\"", cfg.Database, dest)
	}
	res, err := sqlite.Backup(ctx, cfg.Database.Path, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "backed up %s to %s: %d tasks, %d projects, %d bytes\n", cfg.Database.Path, dest, res.Tasks, res.Projects, res.Bytes)
	return nil
}
