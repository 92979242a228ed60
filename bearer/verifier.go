package bearer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// keySource finds the keys of the asymmetric modes: a static PublicKey or
// the remote key set.
type keySource interface {
	// metadata returns the discovered issuer and signing algorithms, or ""
	// and nil when there is no discovery.
	metadata(ctx context.Context) (issuer string, algs []string, err error)
	// key returns the key for a token's kid and alg, and a handle the
	// token cache keeps to ask current later.
	key(ctx context.Context, kid, alg string) (pub crypto.PublicKey, handle any, err error)
	// current reports whether the key behind handle is still in the set.
	current(handle any) bool
	warm(ctx context.Context) error
	close() error
}

// Verifier validates access tokens. It is safe for concurrent use; create
// one per configuration and share it.
type Verifier struct {
	audience      []string
	issuer        string // configured; "" means the discovered one
	pinned        string
	secret        []byte // symmetric mode
	keys          keySource
	tolerance     float64 // seconds
	maxAge        float64 // seconds; 0: no limit
	strict        bool
	checks        []claimCheck
	cache         *tokenCache
	errorHandler  ErrorHandler
	authOptional  bool
	now           func() time.Time
	maxTokenBytes int
	maxBodyBytes  int64
	// issuers is set in multi-issuer mode: each issuer has a Verifier of
	// its own, whose mcdIssuer is its normalised issuer.
	issuers   *issuerSet
	mcdIssuer string
	mtls      mtlsConfig
	// dpop is nil when DPoP is disabled.
	dpop           *dpopState
	trustedProxies []netip.Prefix
	// counts and keyCounters feed Stats; every issuer's key set counts in
	// the parent's keyCounters.
	counts      verifyCounts
	keyCounters *keyset.Counters
}

// ErrorHandler answers a failed request; err is usually an *Error.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// New checks cfg and returns a Verifier. Invalid combinations fail with the
// startup messages of express-oauth2-jwt-bearer 1.10. New makes no network
// request: see Warm.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	v := &Verifier{
		audience:      slices.Clone(cfg.Audience),
		issuer:        cfg.Issuer,
		strict:        cfg.Strict,
		errorHandler:  cfg.ErrorHandler,
		authOptional:  cfg.AuthOptional,
		now:           cfg.Now,
		maxTokenBytes: cfg.MaxTokenBytes,
		maxBodyBytes:  cfg.MaxBodyBytes,
		maxAge:        cfg.MaxTokenAge.Seconds(),
		keyCounters:   new(keyset.Counters),
	}
	switch {
	case cfg.ClockTolerance == 0:
		v.tolerance = DefaultClockTolerance.Seconds()
	case cfg.ClockTolerance > 0:
		v.tolerance = cfg.ClockTolerance.Seconds()
	}
	if v.errorHandler == nil {
		v.errorHandler = WriteError
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxTokenBytes <= 0 {
		v.maxTokenBytes = DefaultMaxTokenBytes
	}
	if v.maxBodyBytes <= 0 {
		v.maxBodyBytes = DefaultMaxBodyBytes
	}
	dpop, err := newDPoP(cfg.DPoP, v.maxTokenBytes)
	if err != nil {
		return nil, err
	}
	v.dpop, v.trustedProxies = dpop, slices.Clone(cfg.TrustedProxies)
	v.mtls = newMTLSConfig(cfg)
	if cfg.TokenCacheSize >= 0 {
		v.cache = newTokenCache(orDefault(cfg.TokenCacheSize, DefaultTokenCacheSize))
	}
	v.checks = v.buildChecks(cfg.Validators)
	if cfg.Issuers.configured() {
		set, err := newIssuerSet(v, cfg)
		if err != nil {
			return nil, err
		}
		v.issuers, v.keys = set, set
		return v, nil
	}
	if err := v.useKeys(cfg, true); err != nil {
		return nil, err
	}
	return v, nil
}

// useKeys gives v the keys of cfg's Secret, PublicKey or remote key set
// (checkIssuer as for newRemoteKeys) and its pinned algorithm.
func (v *Verifier) useKeys(cfg Config, checkIssuer bool) error {
	var err error
	switch {
	case len(cfg.PublicKey) > 0:
		v.keys, err = parsePublicKey(cfg.PublicKey, cfg.TokenSigningAlg)
	case cfg.IssuerBaseURL != "" || cfg.JWKSURI != "":
		// With a Secret too, as in express-oauth2-jwt-bearer 1.10: discovery
		// still gives the issuer and the algorithm list; the key set is not
		// used.
		v.keys, err = newRemoteKeys(cfg, v.keyCounters, checkIssuer)
	}
	if cfg.Secret != "" {
		v.secret = []byte(cfg.Secret)
	}
	v.pinned = cfg.TokenSigningAlg
	return err
}

// Warm fetches discovery metadata and the key set now, so that the first
// request does not wait for them; its error's text gives the cause. It
// does nothing without an IssuerBaseURL or a JWKSURI. With Issuers, it
// warms every listed issuer that has a remote key set (a Resolve
// function's issuers are not known in advance).
func (v *Verifier) Warm(ctx context.Context) error {
	if v.keys == nil {
		return nil
	}
	return v.keys.warm(ctx)
}

// Close stops background key refreshes (of every issuer, with Issuers).
func (v *Verifier) Close() error {
	if v.keys == nil {
		return nil
	}
	return v.keys.close()
}

// Verify validates token (the bare JWT, without "Bearer ") and returns its
// claims. A failure is an *Error: 401 invalid_token for a bad token, 503
// temporarily_unavailable when no key set can be had. With an
// IssuersOptions.Resolve function, its own *Error is returned as is, and a
// configuration it returned that cannot be used (a bad key or URL) is a
// plain error, which WriteError answers 500. Verify does not check a
// certificate binding (it has no request): see CheckCertificate.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyToken(ctx, token)
	v.counts.count(err)
	return c, err
}

// verifyToken is Verify, uncounted.
func (v *Verifier) verifyToken(ctx context.Context, token string) (*Claims, error) {
	if len(token) > v.maxTokenBytes {
		return nil, InvalidToken(msgTooLarge)
	}
	now := v.now()
	sec := float64(now.Unix())
	// With a Resolve function, the issuer is matched on every request
	// (the accepted issuers may depend on it) and is part of the cache key.
	var entry *issuerEntry
	var iss string
	if v.issuers != nil && v.issuers.resolve != nil {
		var err error
		if entry, iss, err = v.issuers.match(ctx, token); err != nil {
			return nil, err
		}
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		if entry != nil {
			sum = entry.cacheKey(token)
		} else {
			sum = sha256.Sum256([]byte(token))
		}
		if c := v.cache.get(&sum, v, sec); c != nil {
			return c, nil
		}
	}
	var c *Claims
	var ent *cacheEntry
	var err error
	if v.issuers != nil {
		c, ent, err = v.issuers.verify(ctx, token, sec, entry, iss)
	} else {
		var e *Error
		if c, ent, e = v.verify(ctx, token, sec, ""); e != nil {
			return nil, e
		}
	}
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(&sum, ent)
	}
	return c, nil
}
