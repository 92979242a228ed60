package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit. SQLite writes one transaction at a time, and a commit
// costs about as much as the writes it carries: the new pages of every
// B-tree the transaction touched, appended to the WAL one frame each.
// Under concurrent writes the requests wait their turn for the write
// connection; the group runs the ones that waited together instead:
//
//   - one goroutine owns the write connection's transactions; inTx hands it
//     fn and waits;
//   - it takes every waiting request (up to maxGroup) into one IMMEDIATE
//     transaction, each request in a SAVEPOINT of its own: a request whose
//     fn fails is rolled back to its savepoint, which undoes its writes
//     and nothing else, and gets its error at once;
//   - it commits once for all and only then answers each request that
//     succeeded: with nil when the COMMIT succeeded, with the COMMIT's
//     error otherwise (no request reports a write that did not commit);
//     idempotency claims (keyTxDone) learn the same outcome per request.
//
// A request whose context ends while it waits is not run and gets the
// context's error. Once run, its statements run to the end whatever its
// context says: an interrupted write statement would make SQLite roll back
// the whole transaction, the other requests' writes with it. A request runs
// after the earlier ones of its group and sees their writes, which commit
// with its own or not at all.
//
// Nothing else depends on this file: without it (newWriteGroup unset) each
// inTx is a transaction of its own, in turn (Store.inTx).

// maxGroup is the most requests one transaction carries.
const maxGroup = 128

func init() { newWriteGroup = startGroup }

// group is the writeGroup that commits requests together.
type group struct {
	db    *sql.DB
	stmts *statements

	mu     sync.RWMutex // held to send on queue; held for writing to close it
	closed bool
	queue  chan *member
	done   chan struct{} // closed when run returns

	// Counters, for tests and figures: transactions committed or rolled
	// back, and the requests they ran.
	groups, members atomic.Int64
}

// member is one request of a group: one inTx call.
type member struct {
	ctx       context.Context
	fn        func(*tx) error
	keyTxDone func(committed bool)
	// state: waiting until the group runs it or the request gives up
	// (abandoned); only one of the two wins it.
	state  atomic.Int32
	err    error
	panic  any           // fn's panic, raised again in the request's goroutine
	answer chan struct{} // closed when err is set
}

const (
	waiting int32 = iota
	running
	abandoned
)

// The savepoint of each request; prepared once.
const (
	qSavepoint  = `SAVEPOINT request`
	qRelease    = `RELEASE request`
	qRollbackTo = `ROLLBACK TO request`
)

// startGroup starts the group on the store's write connection.
func startGroup(write *sql.DB, stmts *statements) (writeGroup, error) {
	if err := stmts.prepare(context.Background(), qSavepoint, qRelease, qRollbackTo); err != nil {
		return nil, err
	}
	g := &group{db: write, stmts: stmts, queue: make(chan *member, 4*maxGroup), done: make(chan struct{})}
	go g.run()
	return g, nil
}

var errClosed = errors.New("sqlite: the store is closed")

// inTx queues fn and waits for its outcome (writeGroup).
func (g *group) inTx(ctx context.Context, fn func(*tx) error, keyTxDone func(bool)) error {
	m := &member{ctx: ctx, fn: fn, keyTxDone: keyTxDone, answer: make(chan struct{})}
	if err := g.send(ctx, m); err != nil {
		return err
	}
	select {
	case <-m.answer:
	case <-ctx.Done():
		if m.state.CompareAndSwap(waiting, abandoned) {
			return ctx.Err()
		}
		<-m.answer // it runs: its outcome is what happened
	}
	if m.panic != nil {
		panic(m.panic)
	}
	return m.err
}

// send queues m, unless ctx ends first or the group is closed.
func (g *group) send(ctx context.Context, m *member) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errClosed
	}
	select {
	case g.queue <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close lets the queued requests run and stops the group.
func (g *group) close() error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	<-g.done
	return nil
}

// run commits the queued requests, a group at a time, until close.
func (g *group) run() {
	defer close(g.done)
	for m := range g.queue {
		ms := []*member{m}
	more:
		for len(ms) < maxGroup {
			select {
			case m, ok := <-g.queue:
				if !ok {
					break more
				}
				ms = append(ms, m)
			default:
				break more
			}
		}
		g.commit(ms)
	}
}

// commit runs ms in one transaction, each in its savepoint, commits, and
// answers them.
func (g *group) commit(ms []*member) {
	t, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, m := range ms {
			if m.state.CompareAndSwap(waiting, running) {
				m.finish(err, false)
			}
		}
		return
	}
	g.groups.Add(1)
	var ran []*member // run, and waiting for the COMMIT
	for i, m := range ms {
		if !m.state.CompareAndSwap(waiting, running) {
			continue // its request gave up
		}
		g.members.Add(1)
		ok, lost := g.runMember(t, m)
		if lost != nil {
			// The transaction is not what the savepoints say (SQLite
			// rolls it all back after some errors, a full disk, say):
			// what ran in it is gone; the rest run in a new one.
			t.Rollback()
			for _, r := range ran {
				r.finish(fmt.Errorf("the write transaction was rolled back: %w", lost), false)
			}
			g.commit(ms[i+1:])
			return
		}
		if ok {
			ran = append(ran, m)
		}
	}
	if len(ran) == 0 {
		t.Rollback()
		return
	}
	err = t.Commit()
	if err != nil {
		// A COMMIT that fails (a deferred constraint, a full disk) may
		// leave the transaction open on the connection: end it.
		g.db.Exec(`ROLLBACK`)
	}
	for _, m := range ran {
		m.finish(err, err == nil)
	}
}

// runMember runs m's fn in its savepoint of t. ok: it succeeded, and waits
// for the COMMIT. Otherwise m has its answer; lost is set when the
// savepoint could not be released or rolled back.
func (g *group) runMember(t *sql.Tx, m *member) (ok bool, lost error) {
	x := &tx{Tx: t, ctx: context.WithoutCancel(m.ctx), stmts: g.stmts}
	if _, err := x.exec(qSavepoint); err != nil {
		m.finish(err, false)
		return false, err
	}
	err := call(m, x)
	if err == nil {
		if _, err := x.exec(qRelease); err != nil {
			m.finish(err, false)
			return false, err
		}
		return true, nil
	}
	m.finish(err, false)
	if _, rerr := x.exec(qRollbackTo); rerr != nil {
		return false, rerr
	}
	if _, rerr := x.exec(qRelease); rerr != nil {
		return false, rerr
	}
	return false, nil
}

// call runs m.fn on x, turning a panic into an error that the request's
// goroutine raises again.
func call(m *member, x *tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			m.panic = v
			err = fmt.Errorf("panic in a write transaction: %v", v)
		}
	}()
	return m.fn(x)
}

// finish answers m: err, and to its idempotency claim whether its writes
// committed.
func (m *member) finish(err error, committed bool) {
	m.keyTxDone(committed)
	m.err = err
	close(m.answer)
}
