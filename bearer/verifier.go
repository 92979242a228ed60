package bearer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer/internal/keyset"
)

// Verification messages (the discovery-path strings of
// express-oauth2-jwt-bearer 1.10).
const (
	msgFormatting    = "Invalid Token or Protected Header formatting"
	msgSignature     = "signature verification failed"
	msgAlgMissing    = `Token header missing or invalid "alg" claim`
	msgUnexpectedAlg = "Unexpected 'alg' value"
	msgTooLarge      = "Token is too large"
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
	parser        *jwt.Parser
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
		pinned:        cfg.TokenSigningAlg,
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
	allowed := asymmetricAlgs
	switch {
	case cfg.Secret != "":
		v.secret = []byte(cfg.Secret)
		allowed = []string{cfg.TokenSigningAlg}
		if cfg.IssuerBaseURL != "" {
			// As in express-oauth2-jwt-bearer 1.10, discovery still gives
			// the issuer and the algorithm list; the key set is not used.
			src, err := newRemoteKeys(cfg, v.keyCounters)
			if err != nil {
				return nil, err
			}
			v.keys = src
		}
	case len(cfg.PublicKey) > 0:
		keys, err := parsePublicKey(cfg.PublicKey, cfg.TokenSigningAlg)
		if err != nil {
			return nil, err
		}
		v.keys = keys
	default:
		src, err := newRemoteKeys(cfg, v.keyCounters)
		if err != nil {
			return nil, err
		}
		v.keys = src
	}
	if cfg.TokenSigningAlg != "" {
		allowed = []string{cfg.TokenSigningAlg}
	}
	// The library is told the accepted algorithms and checks the signature
	// only; the claims are validated here, with the messages of
	// express-oauth2-jwt-bearer 1.10.
	v.parser = jwt.NewParser(jwt.WithValidMethods(allowed), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	return v, nil
}

// Warm fetches discovery metadata and the key set now, so that the first
// request does not wait for them. It does nothing without an IssuerBaseURL
// or a JWKSURI. With Issuers, it warms every listed issuer that has a
// remote key set (a Resolve function's issuers are not known in advance).
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
			// The token is only read: hashing it through an unsafe view
			// saves a copy of up to MaxTokenBytes per request.
			sum = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
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

// parse is the state of one parse: the key function's findings.
type parse struct {
	v      *Verifier
	ctx    context.Context
	issuer string
	// tokenIss is the token's unverified "iss", already matched in
	// multi-issuer mode; "" otherwise.
	tokenIss string
	handle   any
	err      *Error
	ran      bool
}

// verify checks the signature and then the claims, in the order of
// express-oauth2-jwt-bearer 1.10. tokenIss is the token's "iss" already
// matched in multi-issuer mode, or "".
func (v *Verifier) verify(ctx context.Context, token string, now float64, tokenIss string) (*Claims, *cacheEntry, *Error) {
	p := &parse{v: v, ctx: ctx, tokenIss: tokenIss}
	payload := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, payload, p.keyFunc)
	if err != nil {
		switch {
		case p.err != nil:
			return nil, nil, p.err
		case badSignatureSegment(tok, err):
			// Header and payload decoded, but the signature segment is not
			// canonical base64url: what "change a letter at the end" of a
			// token usually gives. It is a signature that does not verify.
			if alg, _ := tok.Header["alg"].(string); v.staticAlgError(alg) != nil {
				return nil, nil, v.algError(tok.Header["alg"])
			}
			return nil, nil, &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msgSignature, Err: err}
		case tok == nil || tok.Header == nil || errors.Is(err, jwt.ErrTokenMalformed):
			return nil, nil, InvalidToken(msgFormatting)
		case !p.ran:
			return nil, nil, v.algError(tok.Header["alg"])
		default:
			return nil, nil, &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msgSignature, Err: err}
		}
	}
	if e := v.timeChecks(payload, now); e != nil {
		return nil, nil, e
	}
	issuer := v.issuer
	if issuer == "" {
		issuer = p.issuer
	}
	s := &state{header: tok.Header, payload: payload, now: now, issuer: issuer}
	for i := range v.checks {
		c := &v.checks[i]
		var val any
		if c.fromHeader {
			val = s.header[c.name]
		} else {
			val = s.payload[c.name]
		}
		if !c.fn(s, val) {
			return nil, nil, InvalidToken(c.msg)
		}
	}
	claims := &Claims{Header: tok.Header, Payload: payload, Token: token}
	if v.cache == nil {
		return claims, nil, nil
	}
	ent := &cacheEntry{claims: claims, handle: p.handle}
	ent.exp, ent.hasExp = payload["exp"].(float64)
	ent.nbf, ent.hasNbf = payload["nbf"].(float64)
	ent.iat, _ = payload["iat"].(float64)
	return claims, ent, nil
}

// badSignatureSegment reports whether the library refused the token only
// because its signature segment does not decode. golang-jwt decodes the
// header, then the payload, then looks the signing method up, then decodes
// the signature: a malformed-token error with the method already set can
// only come from that last step.
func badSignatureSegment(tok *jwt.Token, err error) bool {
	return tok != nil && tok.Header != nil && tok.Method != nil && errors.Is(err, jwt.ErrTokenMalformed)
}

// keyFunc is called by the JOSE library once the header is decoded and its
// alg is one of the parser's valid methods. It enforces the allow-list, the
// discovered algorithms and crit, then picks the one key for kid and alg:
// the library then verifies with exactly that alg and key.
func (p *parse) keyFunc(t *jwt.Token) (any, error) {
	p.ran = true
	v := p.v
	alg := t.Method.Alg()
	if e := v.staticAlgError(alg); e != nil {
		p.err = e
		return nil, e
	}
	if crit, ok := t.Header["crit"]; ok {
		p.err = critError(crit)
		return nil, p.err
	}
	if v.keys != nil {
		issuer, algs, err := v.keys.metadata(p.ctx)
		if err != nil {
			p.err = asError(err)
			return nil, p.err
		}
		if len(algs) > 0 && !slices.Contains(algs, alg) {
			p.err = InvalidToken(msgUnexpectedAlg)
			return nil, p.err
		}
		if v.mcdIssuer != "" && issuer != "" {
			if n, err := normalizeIssuer(issuer, true); err != nil || n != v.mcdIssuer {
				p.err = InvalidToken(msgMetadataIssuer)
				return nil, p.err
			}
		}
		p.issuer = issuer
	}
	if p.tokenIss != "" {
		// Multi-issuer mode: the token's issuer was matched before any key
		// was fetched (and against the metadata just above); "iss" is then
		// checked against the token's own, as
		// express-oauth2-jwt-bearer 1.10 does.
		p.issuer = p.tokenIss
	}
	if v.secret != nil {
		return v.secret, nil
	}
	kidValue, hasKID := t.Header["kid"]
	kid, ok := kidValue.(string)
	if hasKID && !ok {
		p.err = InvalidToken(msgFormatting)
		return nil, p.err
	}
	pub, handle, err := v.keys.key(p.ctx, kid, alg)
	if err != nil {
		p.err = asError(err)
		return nil, p.err
	}
	if !keyFits(alg, pub) {
		p.err = InvalidToken(msgNoKey)
		return nil, p.err
	}
	p.handle = handle
	return pub, nil
}

// staticAlgError checks alg against the allow-list and TokenSigningAlg.
func (v *Verifier) staticAlgError(alg string) *Error {
	if v.secret != nil {
		if !slices.Contains(symmetricAlgs, alg) {
			return InvalidToken(`Unsupported algorithm "` + alg + `" for secret-based verification. Supported: ` + symmetricList)
		}
	} else if !slices.Contains(asymmetricAlgs, alg) {
		return InvalidToken(`Unsupported algorithm "` + alg + `" for JWKS-based verification. Supported: ` + asymmetricList)
	}
	if v.pinned != "" && alg != v.pinned {
		return InvalidToken(msgUnexpectedAlg)
	}
	return nil
}

// algError explains why the library refused the header's alg before
// asking for a key. An alg that is not a short printable name is not
// echoed.
func (v *Verifier) algError(alg any) *Error {
	s, ok := alg.(string)
	if !ok || !printable(s, 32) {
		return InvalidToken(msgAlgMissing)
	}
	if e := v.staticAlgError(s); e != nil {
		return e
	}
	return InvalidToken(msgUnexpectedAlg)
}

// printable reports whether s is a non-empty name of at most max visible
// ASCII characters without quotes or backslashes, safe to echo in a
// message and a challenge.
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

// critError rejects a "crit" header: this package understands no JWS
// extension, so every listed one is unknown (RFC 7515 §4.1.11).
func critError(crit any) *Error {
	if list, ok := crit.([]any); ok && len(list) > 0 {
		if s, ok := list[0].(string); ok && printable(s, 64) {
			return InvalidToken(`Extension Header Parameter "` + s + `" is not recognized`)
		}
	}
	return InvalidToken(`"crit" Header Parameter must be an array of non-empty strings`)
}

// asError turns a key-source failure into an *Error: the source's own
// *Error as is, anything else a 401 invalid_token with its message.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: err.Error(), Err: err}
}

// staticKeys implements keySource for Config.PublicKey.

func (ks staticKeys) metadata(context.Context) (string, []string, error) { return "", nil, nil }

func (ks staticKeys) key(_ context.Context, kid, alg string) (crypto.PublicKey, any, error) {
	k, err := ks.find(kid, alg)
	if err != nil {
		return nil, nil, err
	}
	return k.pub, nil, nil
}

func (ks staticKeys) current(any) bool           { return true }
func (ks staticKeys) warm(context.Context) error { return nil }
func (ks staticKeys) close() error               { return nil }
