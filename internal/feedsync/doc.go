// Package feedsync holds the black-box test of the change feed (GET
// /changes): a client that follows the feed over HTTP while 8 writers
// create, update and delete tasks and projects must end with exactly the
// server's state, having been given no change twice. It runs on SQLite
// (one instance) and on PostgreSQL (two instances, each with its own
// connection pool, on one database; the writers and the reader go through
// both), behind the real bearer middleware, with tokens from the
// development issuer.
//
// The package has no code of its own. The PostgreSQL half runs against
// TEST_DATABASE_URL (see package postgres/pgtest) and is skipped loudly
// when that server is not reachable, or fails when the environment
// variable CI is set.
package feedsync
