package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/internal/faults/harness"
)

// Databases a started service can use.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
	dbExternal = "external" // the service at -url
)

// defaultPGURL is the PostgreSQL of a development machine or CI job.
func defaultPGURL() string {
	if u := os.Getenv("LOADGEN_PG_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// checkLoopbackURL accepts only http URLs of a loopback host: loadgen
// must never load someone else's server.
func checkLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://127.0.0.1:PORT", s)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if err := devissuer.CheckLoopback(net.JoinHostPort(host, port)); err != nil {
		return fmt.Errorf("-url %q: loadgen loads loopback addresses only (localhost, 127.0.0.0/8, ::1)", s)
	}
	return nil
}

// errSkipped reports a database that could not be measured here; the
// report says why.
var errSkipped = errors.New("skipped")

// target is a service under load.
type target struct {
	db      string
	api     *api
	svc     *harness.Service // nil for -url
	cleanup []func()
}

func (t *target) close() {
	for i := len(t.cleanup) - 1; i >= 0; i-- {
		t.cleanup[i]()
	}
}

// startTarget starts `taskapi serve` on db in a directory under dir, with
// tokens from idp.
func startTarget(ctx context.Context, o *options, db, binary, dir string, idp *harness.IdP, log io.Writer) (*target, error) {
	t := &target{db: db}
	work := filepath.Join(dir, db)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	var dbURL string
	switch db {
	case dbSQLite:
		dbURL = "sqlite:" + filepath.Join(work, "taskapi.db")
	case dbPostgres:
		u, drop, err := createSchema(ctx, o.pgURL)
		if err != nil {
			return nil, fmt.Errorf("%w: PostgreSQL at %s: %w", errSkipped, redact(o.pgURL), err)
		}
		t.cleanup = append(t.cleanup, drop)
		dbURL = u
	}
	svc, err := harness.Start(ctx, harness.Config{
		Binary:        binary,
		Dir:           work,
		DatabaseURL:   dbURL,
		IssuerBaseURL: idp.URL(),
		LogLevel:      o.logLevel,
		Env:           o.serviceEnv,
	})
	if err != nil {
		t.close()
		if errors.Is(err, harness.ErrPostgresNotSupported) {
			return nil, fmt.Errorf("%w: %w", errSkipped, err)
		}
		return nil, err
	}
	fmt.Fprintf(log, "loadgen: %s: taskapi serve (pid %d) on %s, log %s\n", db, svc.PID(), svc.URL, filepath.Join(work, "taskapi.log"))
	t.svc = svc
	t.cleanup = append(t.cleanup, func() {
		if code, err := svc.Stop(15 * time.Second); err != nil || code != 0 {
			fmt.Fprintf(log, "loadgen: %s: taskapi did not stop cleanly (exit %d, %v)\n", db, code, err)
		}
	})
	t.api = &api{url: svc.URL, token: idp.Token}
	return t, nil
}

// externalTarget is the service at o.url, every user acting with o.token.
func externalTarget(o *options) *target {
	return &target{db: dbExternal, api: &api{url: o.url, token: func(string) (string, error) { return o.token, nil }}}
}

// createSchema creates a schema of its own on the PostgreSQL server at
// base and returns a URL whose search_path selects it, and a function that
// drops it.
func createSchema(ctx context.Context, base string) (string, func(), error) {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return "", nil, err
	}
	cfg.ConnectTimeout = 5 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "loadgen_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			conn.Close(ctx)
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		drop()
		return "", nil, errors.New("-pg must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// redact hides the password of a URL for a message.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// cpuSelf returns the user plus system CPU time of this process.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildBinary builds taskapi into dir, unless o names one.
func buildBinary(ctx context.Context, o *options, dir string, log io.Writer) (string, error) {
	if o.binary != "" {
		return o.binary, nil
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "taskapi")
	fmt.Fprintf(log, "loadgen: building ./cmd/taskapi of %s\n", root)
	if err := harness.Build(ctx, root, out); err != nil {
		return "", err
	}
	return out, nil
}
