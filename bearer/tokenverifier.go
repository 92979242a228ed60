package bearer

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// tokenVerifier verifies the tokens of one issuer: its keys (or secret),
// the issuer "iss" must name and its pinned algorithm, with the claim
// checks and clock of the Verifier v, which all its issuers share. A
// Verifier always has a set of them (issuerSet): one for a single issuer,
// one per issuer with Config.Issuers.
type tokenVerifier struct {
	v      *Verifier
	issuer string // configured; "" means the discovered one
	pinned string
	secret []byte    // symmetric mode
	keys   keySource // nil with a Secret and no discovery
	// mcdIssuer is the normalised issuer in multi-issuer mode, which the
	// discovered metadata must announce; "" for a single issuer.
	mcdIssuer string
}

// useKeys gives t the keys of cfg's Keys, Secret, PublicKey or remote key
// set (checkIssuer as for newRemoteKeys) and its pinned algorithm.
func (t *tokenVerifier) useKeys(cfg Config, counters *keyset.Counters, checkIssuer bool) error {
	var err error
	switch {
	case cfg.Keys != nil:
		t.keys = callerKeys{set: cfg.Keys, retryAfter: orDefault(cfg.Cooldown, DefaultCooldown)}
	case len(cfg.PublicKey) > 0:
		t.keys, err = parsePublicKey(cfg.PublicKey, cfg.TokenSigningAlg)
	case cfg.IssuerBaseURL != "" || cfg.JWKSURI != "":
		// With a Secret too, as in express-oauth2-jwt-bearer 1.10: discovery
		// still gives the issuer and the algorithm list; the key set is not
		// used.
		t.keys, err = newRemoteKeys(cfg, counters, checkIssuer)
	}
	if cfg.Secret != "" {
		t.secret = []byte(cfg.Secret)
	}
	t.pinned = cfg.TokenSigningAlg
	return err
}

// keysReady is Ready for one issuer.
func (t *tokenVerifier) keysReady() error {
	k, ok := t.keys.(*remoteKeys)
	if !ok {
		return nil // no keys needed (Secret) or static ones (PublicKey, Keys)
	}
	var err error
	if t.secret != nil {
		err = k.set.MetadataUsable() // the key set is not used
	} else {
		err = k.set.Usable()
	}
	if err != nil {
		return &readyError{source: k.source, err: err}
	}
	return nil
}

// newSingleIssuer returns the set of one issuer of a Config without
// Issuers.
func newSingleIssuer(v *Verifier, cfg Config) (*issuerSet, error) {
	t := &tokenVerifier{v: v, issuer: cfg.Issuer}
	if err := t.useKeys(cfg, v.keyCounters, true); err != nil {
		return nil, err
	}
	only := &issuerEntry{tv: t, id: 1}
	return &issuerSet{parent: v, cfg: cfg, only: only, entries: []*issuerEntry{only},
		static: map[string]*issuerEntry{}, lru: list.New(), byKey: map[string]*list.Element{}}, nil
}

// tokenCacheKey returns the verified-token cache key of token: its
// SHA-256, with the issuer's id in front when a Resolve function matched
// it (entry not nil).
func tokenCacheKey(entry *issuerEntry, token string) [sha256.Size]byte {
	if entry != nil {
		return entry.cacheKey(token)
	}
	return sha256.Sum256([]byte(token))
}

// warm fetches every listed issuer's keys now.
func (s *issuerSet) warm(ctx context.Context) error {
	var errs []error
	for _, e := range s.entries {
		if e.tv.keys == nil {
			continue
		}
		if err := e.tv.keys.warm(ctx); err != nil {
			if e.normalized != "" {
				err = fmt.Errorf("issuer %s: %w", e.normalized, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// retryAfter is the Retry-After of a 503 that is not the key set's own
// (a ReplayStore failure): the Cooldown, as for an unavailable key set.
func (v *Verifier) retryAfter() time.Duration { return v.cooldown }
