// Package versionbatch reads per-user list versions (taskapi.ListVersioner)
// of many concurrent requests in one query, without ever answering a
// version older than a query of its own would have.
package versionbatch

import (
	"context"
	"sync"
	"time"
)

// Reader reads the list versions of many users in one query. Every list
// request asks for one (the list cache of httpapi validates its pages with
// it), and under load most of them would otherwise be queries of their
// own; here, a read that arrives while a query is in flight waits for it
// to end and is answered by the next query, together with every other read
// that arrived meanwhile.
//
// That next query starts after the read arrived, so its snapshot (a
// statement outside a transaction reads one taken when it starts, in
// PostgreSQL's READ COMMITTED as in SQLite) holds every change committed
// before the read was asked for: batching never answers a version older
// than a query of the read's own would have. A read never joins a query
// already in flight, which may have started before the change it must see
// committed.
type Reader struct {
	// Query returns the versions of users (distinct, at most MaxUsers); a
	// user missing from the map has version 0.
	Query func(ctx context.Context, users []string) (map[string]int64, error)
	// Timeout bounds one query, whose context is not any one reader's.
	Timeout time.Duration

	mu      sync.Mutex
	running bool          // a query is in flight
	next    *versionBatch // the reads waiting for the next query; nil when none
}

// versionBatch is the reads one query answers.
type versionBatch struct {
	users []string
	index map[string]struct{}
	done  chan struct{} // closed when versions and err are set
	// versions and err are the answer, written before done is closed.
	versions map[string]int64
	err      error
}

// MaxUsers bounds the users of one query; reads beyond it wait for the
// query after.
const MaxUsers = 256

// Read returns the list version of user, or ctx's error if ctx ends first.
func (r *Reader) Read(ctx context.Context, user string) (int64, error) {
	for {
		r.mu.Lock()
		b := r.next
		if b != nil && len(b.users) >= MaxUsers && !b.has(user) {
			// The gathering batch is full (only while a query is in
			// flight): wait for it to be answered, then gather anew.
			r.mu.Unlock()
			select {
			case <-b.done:
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if b == nil {
			b = &versionBatch{done: make(chan struct{}), index: make(map[string]struct{})}
			r.next = b
		}
		b.add(user)
		if !r.running {
			r.running = true
			r.next = nil
			go r.loop(b)
		}
		r.mu.Unlock()
		select {
		case <-b.done:
			return b.versions[user], b.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// loop sends b, then each batch that gathered while the one before was in
// flight, until none is waiting.
func (r *Reader) loop(b *versionBatch) {
	for b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
		b.versions, b.err = r.Query(ctx, b.users)
		cancel()
		close(b.done)
		r.mu.Lock()
		b = r.next
		r.next = nil
		if b == nil {
			r.running = false
		}
		r.mu.Unlock()
	}
}

func (b *versionBatch) has(user string) bool {
	_, ok := b.index[user]
	return ok
}

func (b *versionBatch) add(user string) {
	if !b.has(user) {
		b.index[user] = struct{}{}
		b.users = append(b.users, user)
	}
}
