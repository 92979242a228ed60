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
	current(ctx context.Context, handle any) bool
	warm(ctx context.Context) error
	close() error
}

// Verifier validates access tokens. It is safe for concurrent use; create
// one per configuration and share it.
type Verifier struct {
	// issuers verify the tokens: a set of one without Config.Issuers.
	issuers       *issuerSet
	audience      []string
	tolerance     float64 // seconds
	maxAge        float64 // seconds; 0: no limit
	strict        bool
	checks        []claimCheck
	cache         *tokenCache
	cooldown      time.Duration
	errorHandler  ErrorHandler
	authOptional  bool
	now           func() time.Time
	maxTokenBytes int
	maxBodyBytes  int64
	// sources are the places beside the header, query and form body
	// where a token may be.
	tokenCookie    string
	tokenExtractor func(*http.Request) (string, error)
	skipPreflight  bool
	mtls           mtlsConfig
	// dpop is nil when DPoP is disabled.
	dpop           *dpopState
	trustedProxies []netip.Prefix
	// counts and keyCounters feed Stats; every issuer's key set counts in
	// keyCounters.
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
		cooldown:      orDefault(cfg.Cooldown, DefaultCooldown),
		strict:        cfg.Strict,
		errorHandler:  cfg.ErrorHandler,
		authOptional:  cfg.AuthOptional,
		now:           cfg.Now,
		maxTokenBytes: cfg.MaxTokenBytes,
		maxBodyBytes:  cfg.MaxBodyBytes,
		tokenCookie:   cfg.TokenCookie,
		skipPreflight: cfg.SkipCORSPreflight,
		maxAge:        cfg.MaxTokenAge.Seconds(),
		keyCounters:   new(keyset.Counters),
	}
	if !cfg.NoClockTolerance {
		v.tolerance = orDefault(cfg.ClockTolerance, DefaultClockTolerance).Seconds()
	}
	v.tokenExtractor = cfg.TokenExtractor
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
	if !cfg.NoTokenCache {
		v.cache = newTokenCache(orDefault(cfg.TokenCacheSize, DefaultTokenCacheSize))
	}
	v.checks = v.buildChecks(&cfg)
	if cfg.Issuers.configured() {
		v.issuers, err = newIssuerSet(v, cfg)
	} else {
		v.issuers, err = newSingleIssuer(v, cfg)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Warm fetches discovery metadata and the key set now, so that the first
// request does not wait for them; its error's text gives the cause. It
// does nothing without an IssuerBaseURL or a JWKSURI. With Issuers, it
// warms every listed issuer that has a remote key set (a Resolve
// function's issuers are not known in advance).
func (v *Verifier) Warm(ctx context.Context) error { return v.issuers.warm(ctx) }

// Close stops background key refreshes (of every issuer, with Issuers).
func (v *Verifier) Close() error { return v.issuers.close() }

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
	// (the accepted issuers may depend on it) and is part of the cache key;
	// otherwise only on a cache miss.
	var entry *issuerEntry
	var iss string
	var err error
	if v.issuers.resolve != nil {
		if entry, iss, err = v.issuers.match(ctx, token); err != nil {
			return nil, err
		}
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = tokenCacheKey(entry, token)
		if c := v.cache.get(ctx, &sum, v, sec); c != nil {
			if e := v.runChecks(ctx, nil, c, true); e != nil {
				return nil, e
			}
			return c, nil
		}
	}
	if entry == nil {
		if entry, iss, err = v.issuers.match(ctx, token); err != nil {
			return nil, err
		}
	}
	c, ent, e := entry.tv.verify(ctx, token, sec, iss)
	if e != nil {
		return nil, e
	}
	if ent != nil {
		ent.handle = &issuerHandle{entry: entry, inner: ent.handle}
	}
	if v.cache != nil {
		v.cache.put(&sum, ent)
	}
	return c, nil
}
