package keyset

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// refreshAheadAt is the fraction of MaxAge after which RefreshAhead starts
// a background refresh.
const refreshAheadAt = 0.8

// snapshot is one immutable state of a Set.
type snapshot struct {
	version uint64 // +1 per finished fetch attempt

	meta    *Metadata     // nil until discovery succeeded
	metaAt  time.Time     // when meta was fetched (zero without discovery)
	keys    []*Key        // usable keys, in set order; nil until the first fetch
	keysAt  time.Time     // when keys were fetched; zero: never
	keysTTL time.Duration // how long keys may be used (Set.maxAge)
	member  map[*Key]struct{}

	failAt  time.Time // when the last attempt failed; zero if it succeeded
	failErr *Error    // its error
}

// flight is one fetch in progress, shared by all who wait for it.
type flight struct{ done chan struct{} }

// need says which part of the state a caller needs fresh.
type need uint8

const (
	needKeys need = iota
	needMeta
)

// fetchedAt returns when the needed part was fetched; zero when never.
// Without discovery the metadata is static and counts as always fresh.
func (s *Set) fetchedAt(snap *snapshot, n need) (at time.Time, have bool) {
	if n == needMeta {
		if s.discovery == nil {
			return time.Time{}, true
		}
		return snap.metaAt, snap.meta != nil
	}
	return snap.keysAt, !snap.keysAt.IsZero()
}

// fresh reports whether the needed part is present and younger than MaxAge.
func (s *Set) fresh(snap *snapshot, n need, now time.Time) bool {
	if n == needMeta && s.discovery == nil {
		return true // static metadata
	}
	at, have := s.fetchedAt(snap, n)
	return have && now.Sub(at) < s.ttl(snap, n)
}

// ttl is how long the needed part may be used once fetched: its response's
// Cache-Control max-age within bounds, else Config.MaxAge.
func (s *Set) ttl(snap *snapshot, n need) time.Duration {
	switch {
	case n == needMeta && snap.meta != nil && snap.meta.ttl > 0:
		return snap.meta.ttl
	case n == needKeys && snap.keysTTL > 0:
		return snap.keysTTL
	}
	return s.cfg.MaxAge
}

// current returns a snapshot whose needed part may be used: fresh, or
// stale but within StaleIfError while refetches fail. It fetches (and
// waits) only when it must.
func (s *Set) current(ctx context.Context, n need) (*snapshot, error) {
	snap := s.state.Load()
	now := s.cfg.Now()
	if s.fresh(snap, n, now) {
		if s.cfg.RefreshAhead {
			s.maybeRefreshAhead(snap, now)
		}
		return snap, nil
	}
	at, have := s.fetchedAt(snap, n)
	staleOK := have && now.Sub(at) < s.servable(snap, n)
	failing := !snap.failAt.IsZero()
	retryDue := !failing || now.Sub(snap.failAt) >= s.cfg.RetryInterval
	if staleOK && failing && snap.failAt.Sub(at) >= s.ttl(snap, n) {
		// A refetch already failed since this part went stale: serve the
		// stale copy at once and retry in the background.
		if retryDue {
			s.refreshAsync(snap.version)
		}
		return snap, nil
	}
	if !retryDue {
		if staleOK {
			return snap, nil
		}
		return nil, snap.failErr
	}
	next, err := s.refresh(ctx, snap.version)
	if err == nil {
		// Fresh, or a fetch succeeded (then both parts are new): use it.
		if s.fresh(next, n, s.cfg.Now()) || next.failAt.IsZero() {
			return next, nil
		}
		err = next.failErr
	}
	if staleOK {
		return snap, nil
	}
	return nil, err
}

// failMessage is the message for a failure to get part n.
func (s *Set) failMessage(n need) string {
	if n == needMeta || s.discovery != nil {
		return msgDiscovery
	}
	return msgJWKSFetch
}

// maybeRefreshAhead starts a background refresh once refreshAheadAt of
// MaxAge has passed for the metadata or the keys (and not more often than
// RetryInterval after a failure).
func (s *Set) maybeRefreshAhead(snap *snapshot, now time.Time) {
	due := false
	for _, n := range [...]need{needKeys, needMeta} {
		if at, have := s.fetchedAt(snap, n); have && !at.IsZero() && now.Sub(at) >= s.aheadAge(snap, n) {
			due = true
		}
	}
	if !due || (!snap.failAt.IsZero() && now.Sub(snap.failAt) < s.cfg.RetryInterval) {
		return
	}
	s.refreshAsync(snap.version)
}

// aheadAge is the age from which RefreshAhead refreshes.
func (s *Set) aheadAge(snap *snapshot, n need) time.Duration {
	return time.Duration(float64(s.ttl(snap, n)) * refreshAheadAt)
}

// refreshLoop wakes up regularly while RefreshAhead is on, so that an idle
// Set stays fresh too (requests also trigger refresh-ahead).
func (s *Set) refreshLoop() {
	defer s.wg.Done()
	period := min(max(s.cfg.MaxAge/20, 10*time.Millisecond), time.Minute)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.base.Done():
			return
		case <-t.C:
			if snap := s.state.Load(); !snap.keysAt.IsZero() {
				s.maybeRefreshAhead(snap, s.cfg.Now())
			}
		}
	}
}

// refresh makes sure a fetch attempt finishes after the caller saw the
// snapshot with version seen, joining the one in flight or starting one,
// and returns the snapshot then current. The fetch itself does not depend
// on ctx (it is shared); ctx only bounds the wait.
func (s *Set) refresh(ctx context.Context, seen uint64) (*snapshot, error) {
	return s.refreshCounting(ctx, seen, nil)
}

// refreshCounting is refresh; started, when not nil, counts the fetch if
// this call starts one (not when it joins one in flight).
func (s *Set) refreshCounting(ctx context.Context, seen uint64, started *atomic.Uint64) (*snapshot, error) {
	f, err := s.startFlight(ctx, seen, started)
	if err != nil {
		return nil, err
	}
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			msg := "request canceled"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				msg = msgTimeout
			}
			return nil, &Error{Message: msg, Unavailable: true, Err: ctx.Err()}
		}
	}
	return s.state.Load(), nil
}

// refreshAsync starts a fetch in the background unless one is in flight or
// an attempt finished since version seen.
func (s *Set) refreshAsync(seen uint64) {
	_, _ = s.startFlight(context.Background(), seen, nil)
}

// startFlight returns the flight in progress, or starts one if no attempt
// finished since version seen (nil flight: one did, use the current
// snapshot). A flight it starts is counted in started, when not nil.
func (s *Set) startFlight(ctx context.Context, seen uint64, started *atomic.Uint64) (*flight, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight, nil
	}
	if s.state.Load().version != seen {
		return nil, nil
	}
	if s.closed {
		return nil, &Error{Message: s.failMessage(needKeys), Unavailable: true, Err: ErrClosed}
	}
	f := &flight{done: make(chan struct{})}
	s.inflight = f
	if started != nil {
		started.Add(1)
	}
	s.wg.Add(1)
	go s.run(context.WithoutCancel(ctx), f)
	return f, nil
}

// run performs one fetch attempt and publishes its outcome.
func (s *Set) run(ctx context.Context, f *flight) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.base, cancel)()

	next := s.fetch(ctx)
	if next.failErr != nil && s.base.Err() != nil {
		e := *next.failErr
		e.Err = fmt.Errorf("%w: %w", ErrClosed, e.Err)
		next.failErr = &e
	}

	s.mu.Lock()
	next.version = s.state.Load().version + 1
	s.state.Store(next)
	s.inflight = nil
	s.mu.Unlock()
	close(f.done)
}

// fetch builds the next snapshot: discovery when the metadata is missing
// or older than MaxAge, then the key set. On failure it is the current
// snapshot with the failure recorded (and new metadata, if discovery
// succeeded but the key set did not).
func (s *Set) fetch(ctx context.Context) *snapshot {
	cur := s.state.Load()
	next := *cur
	now := s.cfg.Now()
	metaDue := !s.fresh(cur, needMeta, now) ||
		(s.cfg.RefreshAhead && now.Sub(cur.metaAt) >= s.aheadAge(cur, needMeta))
	if s.discovery != nil && metaDue {
		meta, err := s.discover(ctx)
		count(err == nil, &s.counters.discoveryOK, &s.counters.discoveryErr)
		if err != nil {
			next.failAt, next.failErr = s.cfg.Now(), err
			return &next
		}
		next.meta, next.metaAt = meta, s.cfg.Now()
	}
	keys, ttl, err := s.fetchJWKS(ctx, next.meta.JWKSURI)
	count(err == nil, &s.counters.keySetOK, &s.counters.keySetErr)
	if err != nil {
		next.failAt, next.failErr = s.cfg.Now(), err
		return &next
	}
	keepIdentity(cur.keys, keys)
	next.keys, next.keysAt, next.keysTTL = keys, s.cfg.Now(), ttl
	next.member = make(map[*Key]struct{}, len(keys))
	for _, k := range keys {
		next.member[k] = struct{}{}
	}
	next.failAt, next.failErr = time.Time{}, nil
	return &next
}
