package versionbatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeVersions is a database of list versions whose query reads its
// snapshot when it starts and answers after a delay, as a statement under
// READ COMMITTED does over a network.
type fakeVersions struct {
	mu       sync.Mutex
	versions map[string]int64
	delay    time.Duration
	queries  atomic.Int64
	maxUsers atomic.Int64
}

func (f *fakeVersions) bump(user string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[user]++
	return f.versions[user]
}

func (f *fakeVersions) query(ctx context.Context, users []string) (map[string]int64, error) {
	f.queries.Add(1)
	for {
		m := f.maxUsers.Load()
		if int64(len(users)) <= m || f.maxUsers.CompareAndSwap(m, int64(len(users))) {
			break
		}
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u] {
			return nil, fmt.Errorf("user %q twice in one query", u)
		}
		seen[u] = true
	}
	f.mu.Lock()
	snap := make(map[string]int64, len(users))
	for _, u := range users {
		if v, ok := f.versions[u]; ok {
			snap[u] = v
		}
	}
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return snap, nil
}

// newReader returns a Reader of query, closed when t ends.
func newReader(t *testing.T, query func(context.Context, []string) (map[string]int64, error)) *Reader {
	r := NewReader(query, time.Second)
	t.Cleanup(r.Close)
	return r
}

// TestVersionReaderSeesEarlierWrites checks the property the list cache
// rests on: a version read after a write committed is at least that
// write's, however the reads are batched.
func TestVersionReaderSeesEarlierWrites(t *testing.T) {
	f := &fakeVersions{versions: map[string]int64{}, delay: 200 * time.Microsecond}
	r := newReader(t, f.query)
	ctx := t.Context()
	const workers, rounds = 32, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			user := fmt.Sprint("user", w%4) // several readers per user
			for range rounds {
				written := f.bump(user)
				got, err := r.Read(ctx, user)
				if err != nil {
					t.Error(err)
					return
				}
				if got < written {
					t.Errorf("%s: read version %d after writing version %d", user, got, written)
					return
				}
			}
		})
	}
	wg.Wait()
	reads := int64(workers * rounds)
	q := f.queries.Load()
	t.Logf("%d reads in %d queries", reads, q)
	if q >= reads {
		t.Errorf("%d reads took %d queries: nothing was batched", reads, q)
	}
	if _, err := r.Read(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Read(ctx, "nobody"); v != 0 || err != nil {
		t.Errorf("a user without writes: %d, %v", v, err)
	}
}

func TestVersionReaderBatchBound(t *testing.T) {
	f := &fakeVersions{versions: map[string]int64{}, delay: 2 * time.Millisecond}
	r := newReader(t, f.query)
	var wg sync.WaitGroup
	for i := range 3 * MaxUsers {
		wg.Go(func() {
			user := fmt.Sprint("u", i)
			w := f.bump(user)
			if v, err := r.Read(t.Context(), user); err != nil || v != w {
				t.Errorf("%s: %d, %v; want %d", user, v, err, w)
			}
		})
	}
	wg.Wait()
	if m := f.maxUsers.Load(); m > MaxUsers {
		t.Errorf("a query of %d users, bound %d", m, MaxUsers)
	}
}

func TestVersionReaderErrorsAndCancel(t *testing.T) {
	release := make(chan struct{})
	boom := errors.New("boom")
	var calls atomic.Int64
	r := newReader(t, func(ctx context.Context, users []string) (map[string]int64, error) {
		if calls.Add(1) == 1 {
			<-release
		}
		return nil, boom
	})
	// The first read holds the query in flight; a second, cancelled,
	// returns at once with its context's error.
	first := make(chan error, 1)
	go func() {
		_, err := r.Read(context.Background(), "a")
		first <- err
	}()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.Read(ctx, "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled read: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled read returned after %v", d)
	}
	close(release)
	if err := <-first; !errors.Is(err, boom) {
		t.Errorf("first read: %v, want the query's error", err)
	}
	// The reader is usable after an error.
	if _, err := r.Read(context.Background(), "c"); !errors.Is(err, boom) {
		t.Errorf("read after an error: %v", err)
	}
}

func TestVersionReaderClose(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	r := NewReader(func(ctx context.Context, users []string) (map[string]int64, error) {
		started <- struct{}{}
		<-release
		return map[string]int64{users[0]: 7}, nil
	}, time.Second)
	results := make(chan error, 2)
	go func() { _, err := r.Read(context.Background(), "in flight"); results <- err }()
	<-started // the first read's query is in flight
	go func() { _, err := r.Read(context.Background(), "waiting"); results <- err }()
	for { // the second read waits for the next query
		r.mu.Lock()
		waiting := r.next != nil
		r.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	for { // Close has begun: it waits for the query in flight
		r.mu.Lock()
		c := r.closed
		r.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-closed
	var errs []error
	for range 2 {
		errs = append(errs, <-results)
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return err == nil }) || !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, ErrClosed) }) {
		t.Errorf("reads across Close: %v; want the one in flight answered and the waiting one ErrClosed", errs)
	}
	if _, err := r.Read(context.Background(), "after"); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	r.Close() // a second Close returns
}
