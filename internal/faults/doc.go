// Package faults holds the fault tests of the taskapi binary: each builds
// and runs the real binary (package harness) and breaks something under
// it: kill -9 during writes, SIGTERM with a request in flight, PostgreSQL
// and the identity provider cut off behind a TCP proxy or made slow, keys
// rotated under load, a full disk and a read-only database.
//
// The PostgreSQL cases use pgtest: skipped loudly when the server is
// unreachable, a failure when CI is set.
package faults
