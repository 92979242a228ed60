// Package pgtest gives tests a PostgreSQL schema of their own: a fresh,
// empty schema on the server at TEST_DATABASE_URL, dropped when the test
// ends, and a connection URL whose search_path selects it.
//
// When the server cannot be reached, a test that asks for a schema fails
// if the environment variable CI is set (CI must run the PostgreSQL tests)
// and is skipped with a loud message otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server the tests use when TEST_DATABASE_URL is unset:
// the PostgreSQL of a development machine or CI job, trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds the check that the server is there.
const connectTimeout = 5 * time.Second

// URL returns TEST_DATABASE_URL, or DefaultURL when it is unset.
func URL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Schema creates a new schema named taskapi_test_<random> on the server at
// URL() and returns a connection URL whose search_path is that schema, so
// that every table a store creates through it lands there. The schema is
// dropped, with everything in it, when t ends; cleanups registered after
// Schema (closing a store, say) run before the drop.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL()
	conn := connect(t, base)
	defer conn.Close(context.Background())

	var b [8]byte
	rand.Read(b[:])
	name := "taskapi_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(t.Context(), `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(base, name)
}

// WithSearchPath returns the connection string s with the run-time
// parameter search_path set to schema, in the form s is in: a URL
// (postgres://…) or keyword=value pairs.
func WithSearchPath(s, schema string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return s + " search_path=" + schema
}

// bannerOnce makes the first skip of a test process explain itself at
// length and the others say one line.
var bannerOnce sync.Once

// connect opens a connection to s, or ends the test: a failure in CI, a
// skip elsewhere.
func connect(t testing.TB, s string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(s)
	if err != nil {
		t.Fatalf("pgtest: TEST_DATABASE_URL: %v", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err == nil {
		return conn
	}
	where := cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database
	if os.Getenv("CI") != "" {
		t.Fatalf("pgtest: PostgreSQL not reachable at %s (CI is set, so the PostgreSQL tests must run): %v", where, err)
	}
	banner := false
	bannerOnce.Do(func() { banner = true })
	if !banner {
		t.Skipf("PostgreSQL not reachable at %s: SKIPPING (see the first skip for the cause)", where)
	}
	t.Skipf("\n"+
		"**********************************************************************\n"+
		"* PostgreSQL not reachable at %s: SKIPPING the PostgreSQL\n"+
		"* contract suite and every other PostgreSQL test of this package.\n"+
		"* Start the server or set TEST_DATABASE_URL; with CI set, this fails.\n"+
		"* cause: %v\n"+
		"**********************************************************************", where, err)
	return nil
}
