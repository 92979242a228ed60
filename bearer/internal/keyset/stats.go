package keyset

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the fetch counters of one or more Sets. Every
// field only grows.
type Stats struct {
	// DiscoveryFetches and DiscoveryFetchErrors count discovery attempts
	// that got a usable metadata document, and those that did not (all
	// candidate URLs failed).
	DiscoveryFetches, DiscoveryFetchErrors uint64
	// KeySetFetches and KeySetFetchErrors count key set fetches that got a
	// usable JSON Web Key Set, and those that did not.
	KeySetFetches, KeySetFetchErrors uint64
	// UnknownKIDRefetches counts the refetches started because a token
	// named a key the cached set does not hold (at most one per Cooldown;
	// concurrent callers share one).
	UnknownKIDRefetches uint64
}

// Counters are the fetch counters of Sets, kept with atomics. One Counters
// may be shared by several Sets (Config.Counters) so that their fetches
// are counted together. The zero value is ready to use.
type Counters struct {
	discoveryOK, discoveryErr atomic.Uint64
	keySetOK, keySetErr       atomic.Uint64
	unknownKID                atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (c *Counters) Stats() Stats {
	return Stats{
		DiscoveryFetches:     c.discoveryOK.Load(),
		DiscoveryFetchErrors: c.discoveryErr.Load(),
		KeySetFetches:        c.keySetOK.Load(),
		KeySetFetchErrors:    c.keySetErr.Load(),
		UnknownKIDRefetches:  c.unknownKID.Load(),
	}
}

// count adds one to yes or no.
func count(cond bool, yes, no *atomic.Uint64) {
	if cond {
		yes.Add(1)
	} else {
		no.Add(1)
	}
}

// Stats returns a snapshot of the Set's fetch counters (shared with other
// Sets when Config.Counters was set).
func (s *Set) Stats() Stats { return s.counters.Stats() }

// errNeverFetched is the cause Usable reports before the first fetch.
var errNeverFetched = errors.New("never fetched")

// Usable reports, without any network request, whether Key can answer
// from the cache right now: the metadata (with discovery) and the key set
// were fetched and are younger than MaxAge, or older but still within
// StaleIfError. The error says what is missing and, when the last fetch
// attempt failed, why.
func (s *Set) Usable() error {
	snap, now := s.state.Load(), s.cfg.Now()
	if err := s.usable(snap, needMeta, now); err != nil {
		return err
	}
	return s.usable(snap, needKeys, now)
}

// MetadataUsable is Usable for the metadata alone: what a Set whose keys
// are not used (a symmetric secret with discovery) needs.
func (s *Set) MetadataUsable() error {
	return s.usable(s.state.Load(), needMeta, s.cfg.Now())
}

// usable reports whether part n of snap may be served at now.
func (s *Set) usable(snap *snapshot, n need, now time.Time) error {
	what := "key set"
	if n == needMeta {
		what = "discovery metadata"
	}
	at, have := s.fetchedAt(snap, n)
	var err error
	switch {
	case !have:
		err = fmt.Errorf("keyset: %s %w", what, errNeverFetched)
	case n == needMeta && s.discovery == nil:
		return nil // static metadata
	default:
		limit := s.servable(snap, n)
		age := now.Sub(at)
		if age < limit {
			return nil
		}
		err = fmt.Errorf("keyset: %s expired: fetched %s ago, usable for %s", what, age.Round(time.Second), limit)
	}
	if snap.failErr != nil {
		err = fmt.Errorf("%w; last fetch failed: %w", err, snap.failErr)
	}
	return err
}
