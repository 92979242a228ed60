package bearer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// remoteKeys is the keySource of the discovery and jwksUri modes.
type remoteKeys struct {
	set       *keyset.Set
	source    string // the discovery base or key set URL, for Ready's errors
	discovery bool
	// retryAfter is the Retry-After of a 503: the cooldown, after which
	// the key set may be fetched again.
	retryAfter time.Duration
}

// newRemoteKeys builds the key set of cfg, counting its fetches in
// counters. With checkIssuer (single-issuer mode), a discovery document
// must announce one of cfg's discoveryIssuers.
func newRemoteKeys(cfg Config, counters *keyset.Counters, checkIssuer bool) (*remoteKeys, error) {
	maxBytes := cfg.MaxJWKSBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxJWKSBytes
	}
	var check func(string) error
	if checkIssuer {
		var err error
		if check, err = cfg.issuerCheck(); err != nil {
			return nil, err
		}
	}
	set, err := keyset.New(keyset.Config{
		IssuerBaseURL:     cfg.IssuerBaseURL,
		JWKSURI:           cfg.JWKSURI,
		Client:            cfg.HTTPClient,
		Timeout:           orDefault(cfg.Timeout, DefaultTimeout),
		Cooldown:          orDefault(cfg.Cooldown, DefaultCooldown),
		MaxAge:            orDefault(cfg.CacheMaxAge, DefaultCacheMaxAge),
		StaleIfError:      cfg.staleIfError(),
		RetryInterval:     orDefault(cfg.RetryInterval, DefaultRetryInterval),
		RefreshAhead:      cfg.RefreshAhead,
		MaxBytes:          maxBytes,
		Now:               cfg.Now,
		Counters:          counters,
		CheckIssuer:       check,
		AllowInsecureHTTP: cfg.allowInsecureHTTP(),
	})
	if err != nil {
		return nil, err
	}
	source := cfg.IssuerBaseURL
	if source == "" {
		source = cfg.JWKSURI
	}
	return &remoteKeys{set: set, source: source, discovery: cfg.IssuerBaseURL != "", retryAfter: orDefault(cfg.Cooldown, DefaultCooldown)}, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (k *remoteKeys) metadata(ctx context.Context) (string, []string, error) {
	if !k.discovery {
		return "", nil, nil
	}
	m, err := k.set.Metadata(ctx)
	if err != nil {
		return "", nil, k.convert(err)
	}
	return m.Issuer, m.SigningAlgs, nil
}

func (k *remoteKeys) key(ctx context.Context, kid, alg string) (crypto.PublicKey, any, error) {
	key, err := k.set.Key(ctx, kid, alg)
	if err != nil {
		return nil, nil, k.convert(err)
	}
	return key.Public, key, nil
}

func (k *remoteKeys) current(_ context.Context, handle any) bool {
	key, ok := handle.(*keyset.Key)
	return ok && k.set.Contains(key)
}

// warm fetches now. Its error is the *Error a request would get, with the
// cause in its text, for logs.
func (k *remoteKeys) warm(ctx context.Context) error {
	err := k.set.Warm(ctx)
	if err == nil {
		return nil
	}
	var ke *keyset.Error
	if errors.As(err, &ke) && ke.Err != nil {
		return fmt.Errorf("%w: %w", k.convert(err), ke.Err)
	}
	return k.convert(err)
}

func (k *remoteKeys) close() error { return k.set.Close() }

// convert maps a keyset failure to an *Error: 503 temporarily_unavailable
// when no usable key set can be had (an outage is not a bad token), 401
// invalid_token with the message of express-oauth2-jwt-bearer 1.10
// otherwise. The cause stays in Err, never shown to clients.
func (k *remoteKeys) convert(err error) error {
	var ke *keyset.Error
	if !errors.As(err, &ke) {
		return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: "Invalid Token", Err: err}
	}
	if ke.Unavailable {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Message: ke.Message, RetryAfter: k.retryAfter, Err: err}
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: ke.Message, Err: err}
}

// staleIfError is the keyset's StaleIfError: negative for none.
func (c *Config) staleIfError() time.Duration {
	if c.NoStaleKeys {
		return -1
	}
	return orDefault(c.StaleIfError, DefaultStaleIfError)
}
