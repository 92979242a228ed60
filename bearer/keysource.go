package bearer

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"time"
)

// KeySet supplies the public keys tokens are verified with, for
// Config.Keys: a static set, a cache shared by several servers, a KMS. The
// Verifier keeps the algorithm rules around it: a token's "alg" must be in
// the allow-list (and equal TokenSigningAlg when set) before Key is asked,
// and the key returned must be able to verify that alg (an RSA key of at
// least 2048 bits for RS*/PS*, the algorithm's curve for ES*, Ed25519 for
// EdDSA), so a KeySet cannot be tricked into an algorithm confusion.
// go-oidc's KeySet verifies the signature itself; this one only finds the
// key, and the check stays here.
type KeySet interface {
	// Key returns the key for a token's "kid" ("" when the token has
	// none) and "alg". ErrKeyNotFound (or an error wrapping it) is
	// answered 401 "no applicable key found in the JSON Web Key Set", an
	// *Error as it is, and any other error 503 temporarily_unavailable:
	// a key set that cannot be asked is an outage, not a bad token.
	//
	// A token in the verified-token cache is checked against Key again on
	// each hit, so that a key removed from the set stops its tokens at
	// once: make Key fast (keep the keys in memory).
	Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error)
}

// ErrKeyNotFound, returned by a KeySet, means that no key fits the token.
var ErrKeyNotFound = errors.New(msgNoKey)

// NewStaticKeySet returns a KeySet of fixed keys read as Config.PublicKey
// is: a PEM public key (which needs alg), a JWK or a JWKS.
func NewStaticKeySet(data []byte, alg string) (KeySet, error) {
	ks, err := parsePublicKey(data, alg)
	if err != nil {
		return nil, err
	}
	return staticKeySet{ks}, nil
}

// staticKeySet is the exported face of staticKeys.
type staticKeySet struct{ keys staticKeys }

func (s staticKeySet) Key(_ context.Context, kid, alg string) (crypto.PublicKey, error) {
	k, err := s.keys.find(kid, alg)
	if err != nil {
		if err.Error() == msgNoKey {
			return nil, ErrKeyNotFound
		}
		return nil, err
	}
	return k.pub, nil
}

// callerKeys is the keySource of Config.Keys.
type callerKeys struct {
	set        KeySet
	retryAfter time.Duration // of a 503: the Cooldown
}

// keyHandle is what the token cache keeps of a caller's key.
type keyHandle struct {
	kid, alg string
	pub      crypto.PublicKey
}

func (k callerKeys) metadata(context.Context) (string, []string, error) { return "", nil, nil }

func (k callerKeys) key(ctx context.Context, kid, alg string) (crypto.PublicKey, any, error) {
	pub, err := k.set.Key(ctx, kid, alg)
	var e *Error
	switch {
	case err == nil:
		if pub == nil {
			return nil, nil, InvalidToken(msgNoKey)
		}
		return pub, &keyHandle{kid: kid, alg: alg, pub: pub}, nil
	case errors.Is(err, ErrKeyNotFound):
		return nil, nil, InvalidToken(msgNoKey)
	case errors.As(err, &e):
		return nil, nil, e
	}
	return nil, nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable,
		Message: "Unable to get the signing key", RetryAfter: k.retryAfter, Err: err}
}

// current asks the KeySet again whether the key is still the one for the
// token's kid and alg.
func (k callerKeys) current(ctx context.Context, handle any) bool {
	h, ok := handle.(*keyHandle)
	if !ok {
		return false
	}
	pub, err := k.set.Key(ctx, h.kid, h.alg)
	if err != nil || !keyFits(h.alg, pub) {
		return false
	}
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(h.pub)
}

func (k callerKeys) warm(context.Context) error { return nil }
func (k callerKeys) close() error               { return nil }

// checkKeys validates Config.Keys against the fields it replaces.
func (c *Config) checkKeys() error {
	if c.Keys == nil {
		return nil
	}
	if msg := firstBroken(
		rule{c.Issuer == "", "Keys needs an Issuer (the exact \"iss\" of the tokens)"},
		rule{c.IssuerBaseURL != "", "Keys and IssuerBaseURL exclude each other"},
		rule{c.JWKSURI != "", "Keys and JWKSURI exclude each other"},
		rule{c.Secret != "", "Keys and Secret exclude each other"},
		rule{len(c.PublicKey) > 0, "Keys and PublicKey exclude each other: NewStaticKeySet reads a PublicKey"},
		rule{c.Issuers.configured(), "Keys and Issuers exclude each other"},
	); msg != "" {
		return errors.New(msg)
	}
	return nil
}
