package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Checkpoints. SQLite's own automatic checkpoint runs inside the COMMIT
// that takes the WAL past 1000 pages, so every few hundred writes one
// request paid for copying the WAL into the database and its fsync (a
// seventh of the CPU of a POST /tasks). The store turns it off on its
// write connection (wal_autocheckpoint=0) and checkpoints from a goroutine
// of its own, on a connection of its own:
//
//   - every checkpoint interval, a PASSIVE checkpoint: it copies what no
//     reader still needs without taking any lock a writer or reader waits
//     for;
//   - when the WAL is still larger than the database (at least minWALLimit,
//     at most the WAL limit) afterwards, a TRUNCATE checkpoint, which waits
//     a short while for readers and writers, copies everything and empties
//     the file. It fails harmlessly when that wait runs out, and is tried
//     again at the next interval. A PASSIVE checkpoint lets writers reuse
//     the WAL from its start but never shrinks the file, so without this a
//     burst of writes would leave a WAL many times the database's size.
//
// The TRUNCATE runs on the store's write connection, between its write
// transactions: it then waits for no writer of this process (database/sql
// hands it the connection when the transaction in progress ends, where
// SQLite's busy handler would sleep in steps of up to 100 ms), and the
// write connection keeps its page cache (SQLite drops a connection's cache
// when another connection restarted the WAL; under a steady POST /tasks
// load that cost the write connection a twelfth of its CPU, and as much
// again in reads of the pages it dropped).
//
// A failed checkpoint is tried again at the next interval; CheckpointErr
// tells the last one's error.
//
// Before each checkpoint the goroutine brings the text index of search up
// to date (Store.indexText, see textindex.go), in transactions of the
// store's write connection: they queue with the requests' writes instead
// of meeting them at the file's lock, where SQLite's busy handler sleeps.
//
// The same goroutine runs PRAGMA optimize every optimizeInterval, as
// SQLite recommends for a long-lived connection (the store runs it at Open
// and Close too): it refreshes the planner's statistics (ANALYZE, limited
// in work) of the tables that changed much since. The lists do not depend
// on them (storesql chooses their plans), other queries may.

// Defaults of the checkpointer.
const (
	DefaultCheckpointInterval = 250 * time.Millisecond
	DefaultWALLimit           = 64 << 20 // bytes
	// minWALLimit is the WAL size below which a WAL larger than the
	// database is left alone: truncating a small WAL gains little and
	// makes the next writes grow it again.
	minWALLimit = 1 << 20
	// checkpointBusyTimeout bounds how long a TRUNCATE checkpoint makes
	// writers wait while it waits for readers.
	checkpointBusyTimeout = 200 * time.Millisecond
	// optimizeInterval is how often PRAGMA optimize runs.
	optimizeInterval = time.Hour
)

// The statements of PRAGMA optimize: at Open, checking every table
// (0x10000) for an ANALYZE (0x02); afterwards, the default checks.
const (
	optimizeAtOpen = "PRAGMA optimize=0x10002"
	optimize       = "PRAGMA optimize"
)

// WithCheckpointInterval sets how often the store checkpoints the WAL
// (default DefaultCheckpointInterval).
func WithCheckpointInterval(d time.Duration) Option {
	return func(o *options) { o.checkpointInterval = d }
}

// WithWALLimit sets the largest WAL, in bytes, that a checkpoint leaves
// in place (default DefaultWALLimit); a WAL larger than both the database
// and 1 MiB is truncated even below it.
func WithWALLimit(bytes int64) Option {
	return func(o *options) { o.walLimit = bytes }
}

// checkpointer runs the store's checkpoints on its own connection.
type checkpointer struct {
	db       *sql.DB       // the PASSIVE checkpoints' connection
	write    *sql.DB       // the store's write connection, for TRUNCATE
	busy     time.Duration // the write connection's busy timeout
	pageSize int64
	walLimit int64
	// index, when set, brings the text index up to date before each
	// checkpoint (Store.indexText).
	index  func(context.Context) (int, error)
	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu      sync.Mutex
	lastErr error
}

// newCheckpointer opens the checkpoint connection on path.
func newCheckpointer(ctx context.Context, path string, walLimit int64, write *sql.DB, busy time.Duration) (*checkpointer, error) {
	db, err := openDB(path, checkpointBusyTimeout, false, 1)
	if err != nil {
		return nil, err
	}
	var pageSize int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: page size: %w", err)
	}
	c := &checkpointer{db: db, write: write, busy: busy, pageSize: pageSize, walLimit: walLimit, done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// run checkpoints at every tick, or every interval when tick is nil,
// until close.
func (c *checkpointer) run(interval time.Duration, tick <-chan time.Time) {
	defer close(c.done)
	if tick == nil {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	optimized := time.Now()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick:
			// The text index first: its batches' frames are then in the
			// WAL that the checkpoint copies.
			var err error
			if c.index != nil {
				_, err = c.index(c.ctx)
			}
			err = errors.Join(err, c.checkpoint(c.ctx))
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
			if time.Since(optimized) >= optimizeInterval {
				// A busy database fails it: tried again at the next tick.
				if _, err := c.db.ExecContext(c.ctx, optimize); err == nil {
					optimized = time.Now()
				}
			}
		}
	}
}

// checkpoint runs a PASSIVE checkpoint, and a TRUNCATE one when the WAL is
// still over its limit: the database's size, at least minWALLimit, at most
// the configured WAL limit.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, err := walCheckpoint(ctx, c.db, "PASSIVE")
	if err != nil {
		return err
	}
	var pages int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("sqlite: page count: %w", err)
	}
	limit := min(c.walLimit, max(minWALLimit, pages*c.pageSize))
	if frames*(c.pageSize+walFrameHeader) <= limit {
		return nil
	}
	return c.truncate(ctx)
}

// truncate runs a TRUNCATE checkpoint on the write connection, waiting
// at most checkpointBusyTimeout for the readers.
func (c *checkpointer) truncate(ctx context.Context) error {
	conn, err := c.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: TRUNCATE checkpoint: %w", err)
	}
	defer conn.Close()
	setBusy := func(ctx context.Context, d time.Duration) error {
		_, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(d.Milliseconds(), 10))
		return err
	}
	if err := setBusy(ctx, checkpointBusyTimeout); err != nil {
		return fmt.Errorf("sqlite: TRUNCATE checkpoint: %w", err)
	}
	_, err = walCheckpoint(ctx, conn, "TRUNCATE")
	if berr := setBusy(context.WithoutCancel(ctx), c.busy); berr != nil {
		// The connection would wait too little for other processes:
		// database/sql opens a new one instead.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, berr)
	}
	return err
}

// walFrameHeader is the size of a frame's header in the WAL.
const walFrameHeader = 24

// walCheckpoint runs PRAGMA wal_checkpoint(mode), a constant mode, and
// returns the frames in the WAL. A TRUNCATE that could not get its locks
// in time is an error (SQLITE_BUSY); a PASSIVE checkpoint never is.
func walCheckpoint(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, mode string) (frames int64, err error) {
	var busy, checkpointed int64
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &checkpointed); err != nil {
		return 0, fmt.Errorf("sqlite: %s checkpoint: %w", mode, err)
	}
	if busy != 0 && mode != "PASSIVE" {
		return frames, fmt.Errorf("sqlite: %s checkpoint: database busy", mode)
	}
	return frames, nil
}

// close stops the goroutine (interrupting a checkpoint in progress, which
// loses nothing) and closes the connection.
func (c *checkpointer) close() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}

// CheckpointErr returns the error of the store's last background
// checkpoint and indexing of search text: nil when both succeeded or none
// ran yet.
func (s *Store) CheckpointErr() error {
	s.ckpt.mu.Lock()
	defer s.ckpt.mu.Unlock()
	return s.ckpt.lastErr
}
