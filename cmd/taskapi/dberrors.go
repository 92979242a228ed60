package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"
)

// checkDatabaseDir reports, before SQLite is asked to create the file,
// a database path whose directory does not exist or is no directory,
// naming DATABASE_URL.
func checkDatabaseDir(db database) error {
	if db.URL != "" {
		return nil
	}
	dir := filepath.Dir(db.Path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the directory %s of the SQLite database %s does not exist: create it (mkdir -p %s), or set DATABASE_URL=sqlite:PATH to a file in an existing directory", dir, db.Path, dir)
	case err != nil:
		return fmt.Errorf("the directory %s of the SQLite database %s cannot be used (%w): set DATABASE_URL=sqlite:PATH to a file in a directory this user may write", dir, db.Path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s, the directory of the SQLite database %s, is not a directory: set DATABASE_URL=sqlite:PATH to a file in a directory", dir, db.Path)
	}
	return nil
}

// explainDatabaseError rewrites an error of opening or migrating the
// database at start into what an operator must do: a PostgreSQL server
// that cannot be reached, a database that does not exist, refused
// credentials, a SQLite file that cannot be created, each naming
// DATABASE_URL. Other errors are returned as they are, with the database
// named.
func explainDatabaseError(db database, err error) error {
	if db.URL == "" {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("cannot create or open the SQLite database %s: %w: set DATABASE_URL=sqlite:PATH to a file this user may write", db.Path, errors.Unwrap(err))
		}
		return fmt.Errorf("open database %s: %w", db, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("the PostgreSQL server of DATABASE_URL (%s) has no such database (%s): create it (createdb), or change DATABASE_URL", db, pgErr.Message)
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("the PostgreSQL server of DATABASE_URL (%s) refused the login (%s): check the user and password in DATABASE_URL", db, pgErr.Message)
		}
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		why := "it did not answer within the connect timeout (connect_timeout in DATABASE_URL, default 5 s)"
		var dnsErr *net.DNSError
		var opErr *net.OpError
		switch {
		case errors.As(err, &dnsErr):
			why = "its host name does not resolve: " + dnsErr.Error()
		case errors.As(err, &opErr):
			why = opErr.Error()
		case pgErr != nil:
			why = pgErr.Message
		}
		return fmt.Errorf("cannot reach the PostgreSQL server of DATABASE_URL (%s): %s. Start the server, or set DATABASE_URL to one that runs", db, why)
	}
	return fmt.Errorf("database %s: %w", db, err)
}
