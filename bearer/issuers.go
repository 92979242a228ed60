package bearer

import (
	"container/list"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultMaxResolvedIssuers bounds the key sets kept for issuers that
// IssuersOptions.Resolve returns.
const DefaultMaxResolvedIssuers = 100

// IssuersOptions accepts tokens from several issuers (the "mcd" option of
// express-oauth2-jwt-bearer 1.10). Set URLs and/or Configs for a fixed
// list, or Resolve to decide per request. It excludes IssuerBaseURL,
// Issuer, JWKSURI, Secret, PublicKey and TokenSigningAlg, which are set per
// issuer instead.
//
// The token's "iss" is read without verifying the token, normalised (scheme
// and host in lower case, default port removed, one trailing "/" removed, a
// missing scheme read as https) and matched against the normalised
// configured issuers before any key is fetched: a token from any other
// issuer is refused with "Token issuer is not allowed" and costs no network
// request. Each issuer has its own discovery and key set cache, with all the
// guarantees of the single-issuer mode; when the issuer is discovered, the
// metadata's "issuer" must match the token's (after normalisation).
type IssuersOptions struct {
	// URLs lists issuer URLs; each one's keys are found by discovery.
	URLs []string
	// Configs lists issuers with their own settings. It may be combined
	// with URLs.
	Configs []IssuerConfig
	// Resolve, called for every request, returns the issuers accepted for
	// it. It excludes URLs and Configs. An error that is an *Error is
	// answered as is; any other error is answered 503
	// temporarily_unavailable (its text is not shown to the client).
	Resolve func(ctx context.Context, req IssuerRequest) ([]IssuerConfig, error)
	// MaxResolved bounds how many issuers' key sets returned by Resolve are
	// kept (least recently used first out; DefaultMaxResolvedIssuers).
	MaxResolved int
	// AllowInsecureHTTP accepts http:// issuers. Use it for development
	// only: the discovery and key set fetches are then unauthenticated.
	AllowInsecureHTTP bool
}

// IssuerConfig is one accepted issuer. With only Issuer set, its keys are
// found by discovery from Issuer.
type IssuerConfig struct {
	// Issuer is the issuer URL ("iss"), matched after normalisation.
	// Required.
	Issuer string
	// IssuerBaseURL, when set, is where discovery starts instead of Issuer
	// (a "/.well-known/" URL is fetched as is).
	IssuerBaseURL string
	// JWKSURI is the issuer's key set; no discovery is made.
	JWKSURI string
	// Secret verifies HS256/HS384/HS512 tokens; it needs TokenSigningAlg.
	Secret string
	// PublicKey is a static key (PEM, JWK or JWKS); no network is used.
	PublicKey []byte
	// TokenSigningAlg pins the issuer's "alg".
	TokenSigningAlg string
}

// IssuerURLs returns the configurations of plain issuer URLs, for a Resolve
// function that only names issuers.
func IssuerURLs(urls ...string) []IssuerConfig {
	out := make([]IssuerConfig, len(urls))
	for i, u := range urls {
		out[i].Issuer = u
	}
	return out
}

// IssuerRequest is what IssuersOptions.Resolve is told about a request.
type IssuerRequest struct {
	// Issuer is the token's "iss" as sent, not yet verified: use it to look
	// an issuer up, never to trust it.
	Issuer string
	// Normalized is Issuer after normalisation, the form that is matched.
	Normalized string
	// Request is the HTTP request, or nil when Verify was called directly
	// (see WithRequest).
	Request *http.Request
}

type requestKey struct{}

// WithRequest returns ctx carrying r, so that an IssuersOptions.Resolve
// function called from Verify sees the request. The middleware does this
// itself.
func WithRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// Multi-issuer messages, those of express-oauth2-jwt-bearer 1.10.
const (
	msgMissingIss        = "Token missing required 'iss' claim"
	msgIssuerNotAllowed  = "Token issuer is not allowed"
	msgMetadataIssuer    = "Discovery metadata issuer does not match token issuer"
	msgNoIssuers         = "No issuers configured for token validation"
	msgIssuerUserinfo    = "Invalid issuer URL: URLs must not contain userinfo (username:password)"
	msgIssuerQuery       = "Invalid issuer URL: URLs must not contain query parameters"
	msgIssuerFragment    = "Invalid issuer URL: URLs must not contain fragments"
	msgIssuerHTTP        = "HTTP issuer URL detected. Use HTTPS for security (AllowInsecureHTTP allows it for development)."
	msgIssuerUnparseable = "Invalid issuer URL"
	msgResolverFailed    = "Unable to resolve the token issuer"

	msgMultiBase      = "You must not provide both 'mcd' and 'issuerBaseURL'"
	msgMultiIssuer    = "You must not provide both 'mcd' and 'issuer'. Use 'mcd' for multi-issuer mode."
	msgMultiJWKS      = "You must not provide both 'mcd' and 'jwksUri'. Use 'mcd' for multi-issuer mode."
	msgMultiSecret    = `Cannot use top-level "secret" with mcd mode. Specify secrets per-issuer in the issuer configuration: { issuer: "...", secret: "...", alg: "HS256" }`
	msgMultiPublicKey = `Cannot use top-level "publicKey" with mcd mode. Specify publicKey per-issuer in the issuer configuration: { issuer: "...", publicKey: "..." }`
	msgMultiAlg       = "Cannot use top-level 'tokenSigningAlg' with mcd mode. Specify TokenSigningAlg per issuer"
	msgMultiRequired  = "Invalid MCD configuration: 'issuers' is required"
	msgMultiBoth      = "Issuers: Resolve excludes URLs and Configs"
)

// configured reports whether multi-issuer mode is asked for.
func (o *IssuersOptions) configured() bool {
	return o.URLs != nil || o.Configs != nil || o.Resolve != nil
}

// check validates the multi-issuer options against the rest of c.
func (c *Config) checkIssuers() error {
	o := &c.Issuers
	switch {
	case c.IssuerBaseURL != "":
		return errors.New(msgMultiBase)
	case c.Issuer != "":
		return errors.New(msgMultiIssuer)
	case c.JWKSURI != "":
		return errors.New(msgMultiJWKS)
	case c.Secret != "":
		return errors.New(msgMultiSecret)
	case len(c.PublicKey) > 0:
		return errors.New(msgMultiPublicKey)
	case c.TokenSigningAlg != "":
		return errors.New(msgMultiAlg)
	case o.Resolve != nil && (o.URLs != nil || o.Configs != nil):
		return errors.New(msgMultiBoth)
	case o.Resolve == nil && len(o.URLs) == 0 && len(o.Configs) == 0:
		return errors.New(msgMultiRequired)
	case o.MaxResolved < 0:
		return errors.New("Issuers: MaxResolved must not be negative")
	}
	seen := map[string]bool{}
	for _, ic := range o.all() {
		n, err := ic.check(o.AllowInsecureHTTP)
		if err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("Configuration error: Issuer '%s' is configured more than once", ic.Issuer)
		}
		seen[n] = true
	}
	return nil
}

// all returns the static issuers: URLs, then Configs.
func (o *IssuersOptions) all() []IssuerConfig {
	return append(IssuerURLs(o.URLs...), o.Configs...)
}

// check validates one issuer as express-oauth2-jwt-bearer 1.10 does at
// startup and returns its normalised issuer.
func (ic *IssuerConfig) check(allowHTTP bool) (string, error) {
	n, err := normalizeIssuer(ic.Issuer, allowHTTP)
	if err != nil {
		return "", fmt.Errorf("%s: %q", err.Error(), ic.Issuer)
	}
	if e := ic.consistency(); e != "" {
		return "", fmt.Errorf("Configuration error: Issuer '%s' %s", ic.Issuer, e)
	}
	if ic.TokenSigningAlg != "" && !slices.Contains(asymmetricAlgs, ic.TokenSigningAlg) && !slices.Contains(symmetricAlgs, ic.TokenSigningAlg) {
		return "", fmt.Errorf("Configuration error: Issuer '%s' specifies unsupported algorithm '%s'", ic.Issuer, ic.TokenSigningAlg)
	}
	for _, raw := range []struct{ name, u string }{{"IssuerBaseURL", ic.IssuerBaseURL}, {"JWKSURI", ic.JWKSURI}} {
		if raw.u == "" {
			continue
		}
		if err := checkFetchURL(raw.u, allowHTTP); err != nil {
			return "", fmt.Errorf("Configuration error: Issuer '%s' %s: %w", ic.Issuer, raw.name, err)
		}
	}
	return n, nil
}

// consistency returns what is wrong with the combination of an issuer's
// settings (in the words of express-oauth2-jwt-bearer 1.10), or "".
func (ic *IssuerConfig) consistency() string {
	hasSecret, hasKey := ic.Secret != "", len(ic.PublicKey) > 0
	alg := ic.TokenSigningAlg
	switch {
	case hasKey && ic.JWKSURI != "":
		return "provides both 'publicKey' and 'jwksUri'. These are mutually exclusive."
	case hasKey && hasSecret:
		return "provides both 'publicKey' and 'secret'. Use 'publicKey' for asymmetric and 'secret' for symmetric verification."
	case hasSecret && (ic.JWKSURI != "" || ic.IssuerBaseURL != ""):
		return "provides a secret and a key source ('jwksUri' or 'issuerBaseURL'). Use one of them."
	case alg != "" && slices.Contains(symmetricAlgs, alg) && !hasSecret:
		return "specifies symmetric algorithm '" + alg + "' but no secret provided. Either provide a secret or use an asymmetric algorithm (" + asymmetricList + ")."
	case hasSecret && alg != "" && slices.Contains(asymmetricAlgs, alg):
		return "provides a secret but specifies asymmetric algorithm '" + alg + "'. Symmetric algorithms are: " + symmetricList + "."
	case hasSecret && alg == "":
		return "provides a secret but no 'alg' specified. Specify one of: " + symmetricList + "."
	}
	return ""
}

// checkFetchURL checks a discovery or key set URL: absolute, http(s),
// http only when allowed.
func checkFetchURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute https URL")
	}
	if u.Scheme == "http" && !allowHTTP {
		return errors.New(msgIssuerHTTP)
	}
	return nil
}

// normalizeIssuer returns the form in which issuers are compared, as
// express-oauth2-jwt-bearer 1.10 computes it: a missing scheme is https,
// scheme and host are lower case, the default port is dropped, and so is
// one trailing "/" of the path. Userinfo, a query or a fragment is an
// error, and so is http unless allowHTTP.
func normalizeIssuer(raw string, allowHTTP bool) (string, error) {
	s := raw
	if l := strings.ToLower(s); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New(msgIssuerUnparseable)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "http" && !allowHTTP:
		return "", errors.New(msgIssuerHTTP)
	case u.User != nil:
		return "", errors.New(msgIssuerUserinfo)
	case u.RawQuery != "":
		return "", errors.New(msgIssuerQuery)
	case u.Fragment != "":
		return "", errors.New(msgIssuerFragment)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New(msgIssuerUnparseable)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return "", errors.New(msgIssuerUnparseable)
		}
		if !(scheme == "https" && n == 443) && !(scheme == "http" && n == 80) {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(n, 10))
		}
	}
	if p := u.EscapedPath(); p != "" && p != "/" {
		b.WriteString(strings.TrimSuffix(p, "/"))
	}
	return b.String(), nil
}

// issuerEntry is one accepted issuer: a Verifier of its own (sharing the
// parent's claim checks) and, for resolved issuers, its place in the LRU.
type issuerEntry struct {
	v          *Verifier
	normalized string
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

// issuerSet is the keySource of multi-issuer mode: it only answers for the
// verified-token cache, Warm and Close; verification goes through match.
type issuerSet struct {
	parent     *Verifier
	cfg        Config // for building resolved issuers
	allowHTTP  bool
	unverified *jwt.Parser

	static  map[string]*issuerEntry // by normalised issuer
	entries []*issuerEntry          // static, in configuration order
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
		allowHTTP:  o.AllowInsecureHTTP,
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
	p := s.parent
	c := &Verifier{
		audience:      p.audience,
		pinned:        ic.TokenSigningAlg,
		tolerance:     p.tolerance,
		maxAge:        p.maxAge,
		strict:        p.strict,
		checks:        p.checks,
		cache:         p.cache, // only tells verify to build cache entries
		errorHandler:  p.errorHandler,
		authOptional:  p.authOptional,
		now:           p.now,
		maxTokenBytes: p.maxTokenBytes,
		maxBodyBytes:  p.maxBodyBytes,
		mcdIssuer:     n,
	}
	allowed := asymmetricAlgs
	switch {
	case ic.Secret != "":
		c.secret = []byte(ic.Secret)
	case len(ic.PublicKey) > 0:
		keys, err := parsePublicKey(ic.PublicKey, ic.TokenSigningAlg)
		if err != nil {
			return nil, err
		}
		c.keys = keys
	default:
		kc := s.cfg
		kc.IssuerBaseURL, kc.JWKSURI = ic.IssuerBaseURL, ic.JWKSURI
		if kc.IssuerBaseURL == "" && kc.JWKSURI == "" {
			kc.IssuerBaseURL = ic.Issuer
			if !strings.Contains(strings.ToLower(ic.Issuer), "://") {
				kc.IssuerBaseURL = "https://" + ic.Issuer
			}
		}
		src, err := newRemoteKeys(kc, p.keyCounters)
		if err != nil {
			return nil, err
		}
		c.keys = src
	}
	if ic.TokenSigningAlg != "" {
		allowed = []string{ic.TokenSigningAlg}
	}
	c.parser = jwt.NewParser(jwt.WithValidMethods(allowed), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	return &issuerEntry{v: c, normalized: n, id: s.nextID.Add(1)}, nil
}

// match reads the token's unverified "iss" and returns the issuer that
// accepts it, before any key is fetched.
func (s *issuerSet) match(ctx context.Context, token string) (*issuerEntry, string, error) {
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
	if e.v.keys != nil {
		e.v.keys.close()
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

// keySource implementation: only current, warm and close are used.

func (s *issuerSet) metadata(context.Context) (string, []string, error) {
	return "", nil, errors.New("bearer: multi-issuer metadata is per issuer")
}

func (s *issuerSet) key(context.Context, string, string) (crypto.PublicKey, any, error) {
	return nil, nil, errors.New("bearer: multi-issuer keys are per issuer")
}

func (s *issuerSet) current(handle any) bool {
	h, ok := handle.(*issuerHandle)
	if !ok || h.entry.retired.Load() {
		return false
	}
	return h.inner == nil || h.entry.v.keys.current(h.inner)
}

func (s *issuerSet) warm(ctx context.Context) error {
	var errs []error
	for _, e := range s.entries {
		if e.v.keys == nil {
			continue
		}
		if err := e.v.keys.warm(ctx); err != nil {
			errs = append(errs, fmt.Errorf("issuer %s: %w", e.normalized, err))
		}
	}
	return errors.Join(errs...)
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

// verify verifies token with the issuer that accepts it: entry when Resolve
// already matched it, else the static issuer its "iss" names.
func (s *issuerSet) verify(ctx context.Context, token string, now float64, entry *issuerEntry, iss string) (*Claims, *cacheEntry, error) {
	if entry == nil {
		var err error
		if entry, iss, err = s.match(ctx, token); err != nil {
			return nil, nil, err
		}
	}
	c, ent, e := entry.v.verify(ctx, token, now, iss)
	if e != nil {
		return nil, nil, e
	}
	if ent != nil {
		ent.handle = &issuerHandle{entry: entry, inner: ent.handle}
	}
	return c, ent, nil
}

// verifyContext returns the context the middleware verifies r's token in:
// r's own, carrying r when a Resolve function may want to see it.
func (v *Verifier) verifyContext(r *http.Request) context.Context {
	if v.issuers != nil && v.issuers.resolve != nil {
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
