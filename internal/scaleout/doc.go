// Package scaleout holds the scale-out test of the Task Manager API: two
// instances of the service, each with its own PostgreSQL store (its own
// connection pool), on one database, behind the real bearer middleware,
// with tokens from the development issuer. It proves that the service
// keeps no state in a process that another instance would need: a write
// through one instance is read through the other at once, ETags and page
// tokens from one are honoured by the other, and concurrent writes through
// both lose nothing.
//
// The package has no code of its own; its test runs against the
// PostgreSQL at TEST_DATABASE_URL (see package postgres/pgtest) and is
// skipped loudly when that server is not reachable, or fails when the
// environment variable CI is set.
package scaleout
