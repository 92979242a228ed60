package bearer

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// issuerEntry is one accepted issuer: its tokenVerifier and, for resolved
// issuers, its place in the LRU.
type issuerEntry struct {
	tv         *tokenVerifier
	normalized string // "" for the single issuer of a Config without Issuers
	id         uint64 // unique; part of the token cache key in Resolve mode
	key        string // fingerprint of the resolved configuration
	retired    atomic.Bool
}

// issuerHandle is the token cache's handle in multi-issuer mode: the
// issuer and its key source's own handle.
type issuerHandle struct {
	entry *issuerEntry
	inner any
}

// issuerSet is the issuers a Verifier accepts: one (only) without
// Config.Issuers, else the listed ones and those a Resolve function
// returns. match picks the one that verifies a token.
type issuerSet struct {
	parent     *Verifier
	cfg        Config // for building resolved issuers
	allowHTTP  bool
	unverified *jwt.Parser

	only    *issuerEntry            // the single issuer, or nil with Config.Issuers
	static  map[string]*issuerEntry // by normalised issuer
	entries []*issuerEntry          // static (or only), in configuration order
	resolve func(context.Context, IssuerRequest) ([]IssuerConfig, error)

	nextID atomic.Uint64

	mu     sync.Mutex
	max    int
	lru    *list.List               // of *issuerEntry, most recent first
	byKey  map[string]*list.Element // fingerprint → element
	closed bool
}

// newIssuerSet builds the static issuers of cfg under parent.
func newIssuerSet(parent *Verifier, cfg Config) (*issuerSet, error) {
	o := cfg.Issuers
	s := &issuerSet{
		parent:     parent,
		cfg:        cfg,
		allowHTTP:  cfg.allowInsecureHTTP(),
		unverified: jwt.NewParser(jwt.WithStrictDecoding()),
		static:     map[string]*issuerEntry{},
		resolve:    o.Resolve,
		max:        orDefault(o.MaxResolved, DefaultMaxResolvedIssuers),
		lru:        list.New(),
		byKey:      map[string]*list.Element{},
	}
	for _, ic := range o.all() {
		e, err := s.build(ic)
		if err != nil {
			s.close()
			return nil, err
		}
		s.static[e.normalized] = e
		s.entries = append(s.entries, e)
	}
	return s, nil
}

// build makes the Verifier of one issuer: the parent's settings and checks,
// the issuer's own keys, secret and algorithm.
func (s *issuerSet) build(ic IssuerConfig) (*issuerEntry, error) {
	n, err := normalizeIssuer(ic.Issuer, s.allowHTTP)
	if err != nil {
		return nil, err
	}
	c := &tokenVerifier{v: s.parent, mcdIssuer: n}
	kc := s.cfg
	kc.IssuerBaseURL, kc.JWKSURI = ic.IssuerBaseURL, ic.JWKSURI
	kc.Secret, kc.PublicKey, kc.TokenSigningAlg, kc.Keys = ic.Secret, ic.PublicKey, ic.TokenSigningAlg, ic.Keys
	if kc.IssuerBaseURL == "" && kc.JWKSURI == "" && kc.Secret == "" && len(kc.PublicKey) == 0 && kc.Keys == nil {
		kc.IssuerBaseURL = ic.Issuer // found by discovery from the issuer
		if !strings.Contains(strings.ToLower(ic.Issuer), "://") {
			kc.IssuerBaseURL = "https://" + ic.Issuer
		}
	}
	if err := c.useKeys(kc, s.parent.keyCounters, false); err != nil {
		return nil, err
	}
	return &issuerEntry{tv: c, normalized: n, id: s.nextID.Add(1)}, nil
}

// match returns the issuer that verifies token: the only one, or the one
// its unverified "iss" names, found before any key is fetched. iss is the
// token's "iss" in multi-issuer mode.
func (s *issuerSet) match(ctx context.Context, token string) (entry *issuerEntry, iss string, err error) {
	if s.only != nil {
		return s.only, "", nil
	}
	var payload unverifiedIssuer
	// The library reports a missing or unknown "alg" as unverifiable once
	// it has decoded the token: the issuer's Verifier then explains it.
	if tok, _, err := s.unverified.ParseUnverified(token, &payload); err != nil && (tok == nil || !errors.Is(err, jwt.ErrTokenUnverifiable)) {
		return nil, "", InvalidToken(msgFormatting)
	}
	if payload.Iss == nil || payload.Iss == "" {
		return nil, "", InvalidToken(msgMissingIss)
	}
	iss, ok := payload.Iss.(string)
	if !ok {
		return nil, "", InvalidToken(msgIssuerNotAllowed)
	}
	n, err := normalizeIssuer(iss, s.allowHTTP)
	if err != nil {
		if err.Error() == msgIssuerUnparseable {
			return nil, "", InvalidToken(msgIssuerNotAllowed)
		}
		return nil, "", InvalidToken(err.Error())
	}
	if s.resolve == nil {
		e := s.static[n]
		if e == nil {
			return nil, "", InvalidToken(msgIssuerNotAllowed)
		}
		return e, iss, nil
	}
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	configs, err := s.resolve(ctx, IssuerRequest{Issuer: iss, Normalized: n, Request: r})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, "", e
		}
		return nil, "", &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Message: msgResolverFailed, Err: err}
	}
	if len(configs) == 0 {
		return nil, "", InvalidToken(msgNoIssuers)
	}
	for _, ic := range configs {
		cn, err := normalizeIssuer(ic.Issuer, s.allowHTTP)
		if err != nil || cn != n {
			continue // an unusable issuer matches no token, as in express-oauth2-jwt-bearer 1.10
		}
		if msg := ic.consistency(); msg != "" {
			return nil, "", InvalidToken("Issuer " + msg)
		}
		if ic.Keys != nil {
			return nil, "", fmt.Errorf("bearer: issuer %q returned by Resolve has Keys: list it in IssuersOptions.Configs", ic.Issuer)
		}
		e, err := s.resolved(ic, cn)
		if err != nil {
			return nil, "", err
		}
		return e, iss, nil
	}
	return nil, "", InvalidToken(msgIssuerNotAllowed)
}

// resolved returns the entry of a configuration Resolve returned, building
// it on first use and evicting the least recently used one beyond max.
func (s *issuerSet) resolved(ic IssuerConfig, normalized string) (*issuerEntry, error) {
	key := fingerprint(ic, normalized)
	s.mu.Lock()
	if el, ok := s.byKey[key]; ok {
		s.lru.MoveToFront(el)
		e := el.Value.(*issuerEntry)
		s.mu.Unlock()
		return e, nil
	}
	if s.closed {
		s.mu.Unlock()
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Message: msgResolverFailed, Err: errors.New("bearer: verifier closed")}
	}
	e, err := s.build(ic)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("bearer: issuer %q returned by Resolve: %w", ic.Issuer, err)
	}
	e.key = key
	s.byKey[key] = s.lru.PushFront(e)
	var evicted []*issuerEntry
	for s.lru.Len() > s.max {
		old := s.lru.Remove(s.lru.Back()).(*issuerEntry)
		delete(s.byKey, old.key)
		evicted = append(evicted, old)
	}
	s.mu.Unlock()
	for _, old := range evicted {
		old.retire()
	}
	return e, nil
}

// retire drops an issuer: cached tokens it verified are no longer served
// and its background refresh stops.
func (e *issuerEntry) retire() {
	e.retired.Store(true)
	if e.tv.keys != nil {
		e.tv.keys.close()
	}
}

// fingerprint identifies a resolved configuration; secrets and keys enter
// it only as hashes.
func fingerprint(ic IssuerConfig, normalized string) string {
	h := sha256.New()
	for _, part := range []string{normalized, ic.IssuerBaseURL, ic.JWKSURI, ic.TokenSigningAlg, ic.Secret} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	h.Write(ic.PublicKey)
	return hex.EncodeToString(h.Sum(nil))
}

// cacheKey returns the verified-token cache key: in Resolve mode the issuer
// is part of it, so that a token verified for one request's issuers is not
// served to a request whose resolver returns others.
func (e *issuerEntry) cacheKey(token string) [sha256.Size]byte {
	h := sha256.New()
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], e.id)
	h.Write(id[:])
	h.Write([]byte(token))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// current reports whether the key behind a token cache handle is still
// its issuer's.
func (s *issuerSet) current(ctx context.Context, handle any) bool {
	h, ok := handle.(*issuerHandle)
	if !ok || h.entry.retired.Load() {
		return false
	}
	return h.inner == nil || h.entry.tv.keys.current(ctx, h.inner)
}

func (s *issuerSet) close() error {
	s.mu.Lock()
	s.closed = true
	var all []*issuerEntry
	for el := s.lru.Front(); el != nil; el = el.Next() {
		all = append(all, el.Value.(*issuerEntry))
	}
	s.lru.Init()
	clear(s.byKey)
	s.mu.Unlock()
	all = append(all, s.entries...)
	for _, e := range all {
		e.retire()
	}
	return nil
}

// verifyContext returns the context the middleware verifies r's token in:
// r's own, carrying r when a Resolve function may want to see it.
func (v *Verifier) verifyContext(r *http.Request) context.Context {
	if v.issuers.resolve != nil {
		return WithRequest(r.Context(), r)
	}
	return r.Context()
}

// unverifiedIssuer is the one claim read before verification. Decoding into
// it reads no other claim, so a malformed one is left for the issuer's
// Verifier to report with the message of express-oauth2-jwt-bearer 1.10.
type unverifiedIssuer struct {
	Iss any `json:"iss"`
}

func (unverifiedIssuer) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (unverifiedIssuer) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (unverifiedIssuer) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (unverifiedIssuer) GetIssuer() (string, error)                   { return "", nil }
func (unverifiedIssuer) GetSubject() (string, error)                  { return "", nil }
func (unverifiedIssuer) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }
