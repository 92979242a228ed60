// Package versionbatch reads per-user list versions (taskapi.ListVersioner)
// of many concurrent requests in one query, without ever answering a
// version older than a query of its own would have.
package versionbatch

import (
	"context"
	"errors"
	"slices"
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
	query   func(ctx context.Context, users []string) (map[string]int64, error)
	timeout time.Duration
	work    chan *versionBatch // to the worker: a batch to send; never more than one
	quit    chan struct{}      // closed by Close
	stopped chan struct{}      // closed when the worker has returned

	mu      sync.Mutex
	running bool          // the worker is sending a batch
	next    *versionBatch // the reads waiting for the next query; nil when none
	closed  bool
}

// versionBatch is the reads one query answers.
type versionBatch struct {
	users []string
	done  chan struct{} // closed when versions and err are set
	// versions and err are the answer, written before done is closed.
	versions map[string]int64
	err      error
}

// MaxUsers bounds the users of one query; reads beyond it wait for the
// query after.
const MaxUsers = 256

// ErrClosed is the error of a read of a closed Reader.
var ErrClosed = errors.New("versionbatch: reader closed")

// NewReader returns a Reader sending its batches through query, which
// returns the versions of users (distinct, at most MaxUsers; a user missing
// from the map has version 0), each query bounded by timeout (its context
// is not any one reader's). One goroutine sends the batches, one at a time,
// until Close.
func NewReader(query func(ctx context.Context, users []string) (map[string]int64, error), timeout time.Duration) *Reader {
	r := &Reader{
		query:   query,
		timeout: timeout,
		work:    make(chan *versionBatch, 1),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go r.worker()
	return r
}

// Close stops the worker once the query in flight, if any, has ended;
// reads still waiting, and later ones, get ErrClosed.
func (r *Reader) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.stopped
		return
	}
	r.closed = true
	r.mu.Unlock()
	close(r.quit)
	<-r.stopped
	r.mu.Lock()
	if b := r.next; b != nil { // gathered while the last query was in flight
		r.next = nil
		b.err = ErrClosed
		close(b.done)
	}
	r.mu.Unlock()
}

// Read returns the list version of user, or ctx's error if ctx ends first.
func (r *Reader) Read(ctx context.Context, user string) (int64, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return 0, ErrClosed
		}
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
			b = &versionBatch{done: make(chan struct{})}
			r.next = b
		}
		b.add(user)
		if !r.running {
			// The worker is idle, so work is empty: this send does not
			// block.
			r.running = true
			r.next = nil
			r.work <- b
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

// worker sends each batch it is given, and the batches that gather while
// it is in flight, until Close. It lives as long as the Reader, so its
// stack, grown deep by the database driver, is not grown anew per batch.
func (r *Reader) worker() {
	defer close(r.stopped)
	for {
		select {
		case b := <-r.work:
			r.send(b)
		case <-r.quit:
			return
		}
	}
}

// send sends b, then each batch that gathered while the one before was in
// flight, until none is waiting or the Reader is closed.
func (r *Reader) send(b *versionBatch) {
	for b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		b.versions, b.err = r.query(ctx, b.users)
		cancel()
		close(b.done)
		r.mu.Lock()
		b = nil
		if !r.closed {
			b = r.next
			r.next = nil
		}
		if b == nil {
			r.running = false
		}
		r.mu.Unlock()
	}
}

// has reports whether user is in the batch. A batch holds at most
// MaxUsers, mostly a handful: a scan costs less than keeping a map.
func (b *versionBatch) has(user string) bool { return slices.Contains(b.users, user) }

func (b *versionBatch) add(user string) {
	if !b.has(user) {
		b.users = append(b.users, user)
	}
}

// Rows is what ScanRows reads: *sql.Rows and pgx.Rows both are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanRows adds the (user id, version) rows of a query to versions.
func ScanRows(rows Rows, versions map[string]int64) error {
	var user string
	var v int64
	for rows.Next() {
		if err := rows.Scan(&user, &v); err != nil {
			return err
		}
		versions[user] = v
	}
	return rows.Err()
}
