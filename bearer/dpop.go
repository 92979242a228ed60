package bearer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Defaults of DPoPOptions.
const (
	DefaultDPoPIATOffset       = 300 * time.Second
	DefaultDPoPIATLeeway       = 30 * time.Second
	DefaultDPoPReplayCacheSize = 100_000
)

// CodeInvalidDPoPProof is the error code of a rejected DPoP proof (RFC
// 9449 §7.1), answered with 400.
const CodeInvalidDPoPProof = "invalid_dpop_proof"

// CodeUseDPoPNonce asks the client to retry with the nonce of the
// DPoP-Nonce response header (RFC 9449 §9), answered with 401.
const CodeUseDPoPNonce = "use_dpop_nonce"

// DPoPOptions configures DPoP, Demonstrating Proof of Possession (RFC
// 9449), as the dpop option of express-oauth2-jwt-bearer 1.10 does. The
// zero value is the Node library's default: DPoP enabled (a request may use
// the Bearer or the DPoP scheme), not required, proof "iat" accepted from
// 300 s ago to 30 s ahead.
type DPoPOptions struct {
	// Disabled turns DPoP off (enabled: false in
	// express-oauth2-jwt-bearer 1.10): only the Bearer scheme is accepted,
	// a DPoP proof header is ignored, a DPoP-bound token is accepted as a
	// Bearer token, and challenges are the plain RFC 6750 form.
	Disabled bool
	// Required accepts only the DPoP scheme with a proof and a DPoP-bound
	// token. It cannot be combined with Disabled.
	Required bool
	// IATOffset is how old a proof's "iat" may be (DefaultDPoPIATOffset).
	// It is also how long a proof's "jti" is remembered.
	IATOffset time.Duration
	// IATLeeway is how far in the future a proof's "iat" may be
	// (DefaultDPoPIATLeeway).
	IATLeeway time.Duration
	// ReplayCacheSize bounds the proofs remembered to refuse a replay (0:
	// DefaultDPoPReplayCacheSize); past it, the oldest are forgotten
	// first. It must not be negative.
	ReplayCacheSize int
	// NoReplayCache turns the in-process replay cache off (a ReplayStore,
	// when set, is still asked): without a ReplayStore, a proof is then
	// accepted again within its "iat" window, as in
	// express-oauth2-jwt-bearer 1.10. It excludes ReplayCacheSize.
	NoReplayCache bool
	// ReplayStore, when set, shares accepted proofs between the servers
	// behind one load balancer. It is asked after the in-process cache,
	// with the request's context, only for proofs that passed every other
	// check; its error is answered 503 temporarily_unavailable with
	// Retry-After (the Cooldown): a proof is never accepted unchecked.
	ReplayStore ReplayStore
	// Nonce, when set, makes every proof carry a server-provided "nonce"
	// claim (RFC 9449 §9): a proof without a valid one is answered 401
	// use_dpop_nonce, and every answer to a DPoP request carries a fresh
	// nonce in the DPoP-Nonce header. See NewHMACNonces.
	Nonce NonceSource
}

// Messages of DPoP failures: those of express-oauth2-jwt-bearer 1.10 where
// it has them.
const (
	msgDPoPOptions     = `Invalid DPoP configuration: cannot set "required" to true when "enabled" is false`
	msgBearerWithProof = "DPoP proof requires the DPoP authentication scheme, not Bearer"
	msgBoundAsBearer   = "DPoP-bound token requires the DPoP authentication scheme, not Bearer."
	msgManyProofs      = "Multiple DPoP proofs are not allowed"
	msgNoJKT           = "JWT Access Token has no jkt confirmation claim"
	msgCnfStructure    = `Invalid "cnf" confirmation claim structure`
	msgJKTMalformed    = `Malformed "jkt" confirmation claim`
	msgJKTInvalid      = `Invalid "jkt" confirmation claim`
	// No-error-information answers (the Node library gives an empty message).
	msgProofNoToken  = "A DPoP proof needs an 'Authorization: DPoP <token>' header"
	msgNoProof       = "The DPoP scheme needs exactly one DPoP proof header"
	msgUseDPoPScheme = "This token must be sent as 'Authorization: DPoP <token>' with a DPoP proof header"
	dpopProofHeader  = "DPoP"
	dpopNonceHeader  = "DPoP-Nonce"
	dpopChallengeAlg = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES256K ES384 ES512 EdDSA"`
)

// dpopState is a Verifier's DPoP configuration; nil when DPoP is disabled.
type dpopState struct {
	required       bool
	offset, leeway int64 // seconds
	replay         *replayCache
	store          ReplayStore // shared between servers; nil: none
	nonce          NonceSource
	maxProofBytes  int
}

// newDPoP checks o and returns the state of an enabled DPoP, or nil.
func newDPoP(o DPoPOptions, maxProofBytes int) (*dpopState, error) {
	if o.Disabled {
		if o.Required {
			return nil, errors.New(msgDPoPOptions)
		}
		return nil, nil
	}
	if o.IATOffset < 0 {
		return nil, errors.New(`Invalid DPoP option: "iatOffset" must be a non-negative number`)
	}
	if o.IATLeeway < 0 {
		return nil, errors.New(`Invalid DPoP option: "iatLeeway" must be a non-negative number`)
	}
	if o.ReplayCacheSize < 0 {
		return nil, errors.New("DPoP ReplayCacheSize must not be negative: set NoReplayCache for none")
	}
	if o.NoReplayCache && o.ReplayCacheSize != 0 {
		return nil, errors.New("DPoP NoReplayCache and ReplayCacheSize exclude each other")
	}
	d := &dpopState{required: o.Required, nonce: o.Nonce, store: o.ReplayStore, maxProofBytes: maxProofBytes}
	d.offset, d.leeway = int64(DefaultDPoPIATOffset/time.Second), int64(DefaultDPoPIATLeeway/time.Second)
	if o.IATOffset > 0 {
		d.offset = int64(o.IATOffset / time.Second)
	}
	if o.IATLeeway > 0 {
		d.leeway = int64(o.IATLeeway / time.Second)
	}
	if !o.NoReplayCache {
		d.replay = newReplayCache(orDefault(o.ReplayCacheSize, DefaultDPoPReplayCacheSize))
	}
	return d, nil
}

// Proof is a verified DPoP proof: the middleware puts it in the request
// context (ProofFromContext) when the request was DPoP-bound.
type Proof struct {
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the proof key,
	// base64url: the access token's cnf.jkt.
	Thumbprint string
	// JTI is the proof's unique identifier.
	JTI string
	// IssuedAt is the proof's "iat".
	IssuedAt time.Time
	// Algorithm is the proof's signature algorithm.
	Algorithm string
}

type proofKey struct{}

// ProofFromContext returns the DPoP proof of a request that the middleware
// authenticated with the DPoP scheme, and false for a Bearer request.
func ProofFromContext(ctx context.Context) (*Proof, bool) {
	p, ok := ctx.Value(proofKey{}).(*Proof)
	return p, ok && p != nil
}

// request is what the middleware learns about a request's credentials
// before the token is verified.
type request struct {
	credentials
	origin origin
	// scheme is the lower-case scheme of a two-part Authorization header.
	scheme           string
	hasAuthorization bool
	proofs           []string // DPoP header field values
	// hasProof: a DPoP header is present (even empty).
	hasProof bool
}

// inspect checks r's host and path and finds its credentials, then, with
// DPoP enabled, applies the scheme rules that come before verification. A
// nil request with the error means an invalid host: its answer carries no
// DPoP challenge, as in express-oauth2-jwt-bearer 1.10, where it is refused
// before the verifier runs.
func (v *Verifier) inspect(r *http.Request) (*request, *Error) {
	o, e := v.requestOrigin(r)
	if e != nil {
		return nil, e
	}
	q := &request{origin: o, scheme: authScheme(r)}
	q.hasAuthorization = len(r.Header.Values("Authorization")) > 0
	if v.dpop != nil {
		q.proofs = r.Header.Values(dpopProofHeader)
		q.hasProof = len(q.proofs) > 0
	}
	if e := checkPath(r); e != nil {
		return q, e
	}
	extra, e := v.extraTokens(r)
	if e != nil {
		return q, e
	}
	if q.credentials, e = extractCredentials(r, v.maxBodyBytes, v.dpop != nil, extra); e != nil {
		return q, e
	}
	if v.dpop != nil && q.found {
		if e := v.dpop.checkScheme(q); e != nil {
			return q, e
		}
	}
	return q, nil
}

// fail answers err through the ErrorHandler. With DPoP enabled and a
// request q, the error handed over is a copy carrying the DPoP-aware
// challenge in WWWAuthenticate, and a DPoP request gets a fresh nonce when
// nonces are on.
func (v *Verifier) fail(w http.ResponseWriter, r *http.Request, q *request, err error) {
	var e *Error
	if v.dpop != nil && q != nil && errors.As(err, &e) {
		c := *e
		c.WWWAuthenticate = v.dpop.challenge(q, &c)
		err = &c
		if v.dpop.nonce != nil && (q.scheme == "dpop" || q.hasProof || c.Code == CodeUseDPoPNonce) {
			w.Header().Set(dpopNonceHeader, v.dpop.nonce.Nonce(v.now()))
		}
	}
	v.errorHandler(w, r, err)
}

// withProof checks the DPoP binding of a verified token (checkBinding) and
// returns ctx with the proof, if the request was DPoP-bound.
func (v *Verifier) withProof(ctx context.Context, w http.ResponseWriter, r *http.Request, q *request, c *Claims) (context.Context, *Error) {
	p, e := v.checkBinding(r, q, c)
	if e != nil {
		return ctx, e
	}
	if p == nil {
		return ctx, nil
	}
	if v.dpop.nonce != nil {
		w.Header().Set(dpopNonceHeader, v.dpop.nonce.Nonce(v.now()))
	}
	return context.WithValue(ctx, proofKey{}, p), nil
}

// checkScheme applies the scheme rules of verify() in
// express-oauth2-jwt-bearer 1.10 that run before the token is verified.
func (d *dpopState) checkScheme(q *request) *Error {
	if d.required {
		return d.assertRequest(q)
	}
	switch {
	case q.scheme == "dpop" && !q.hasProof:
		return noInfo(msgNoProof)
	case q.scheme != "" && q.scheme != "bearer" && q.scheme != "dpop":
		// An unknown scheme beside a query or body token (RFC 6750 §3.1).
		return Unauthorized()
	}
	return nil
}

// assertRequest is assertDPoPRequest of express-oauth2-jwt-bearer 1.10
// without the token: the DPoP scheme and exactly one proof.
func (d *dpopState) assertRequest(q *request) *Error {
	switch {
	case !q.hasAuthorization:
		return noInfo(msgUseDPoPScheme)
	case q.scheme != "dpop":
		if q.hasProof {
			return InvalidRequest(msgBearerWithProof)
		}
		return noInfo(msgUseDPoPScheme)
	case !q.hasProof || q.proofs[0] == "":
		return noInfo(msgNoProof)
	case len(q.proofs) > 1 || strings.Contains(q.proofs[0], ","):
		return invalidProof(msgManyProofs)
	}
	return nil
}

// CheckProof applies the DPoP rules to a request whose token Verify has
// just accepted with claims, for frameworks that do not use Authenticate: the
// Host and token-location rules, the scheme rules, the DPoP binding of the
// token and its proof, as the middleware does. It returns the verified
// proof, nil for a Bearer request (or with DPoP disabled), or an *Error
// whose WWWAuthenticate holds the challenge the middleware would send. With
// nonces on, send NonceSource.Nonce in a DPoP-Nonce header with the answer
// to a DPoP request. A replayed proof is refused, so call it once per
// request.
func (v *Verifier) CheckProof(r *http.Request, claims *Claims) (*Proof, error) {
	if v.dpop == nil {
		return nil, nil
	}
	q, e := v.inspect(r)
	switch {
	case e != nil:
	case !q.found:
		e = Unauthorized()
	case claims == nil || q.token != claims.Token:
		return nil, errors.New("bearer: CheckProof needs the claims of the request's own token")
	default:
		var p *Proof
		if p, e = v.checkBinding(r, q, claims); e == nil {
			return p, nil
		}
	}
	if q != nil {
		c := *e
		c.WWWAuthenticate = v.dpop.challenge(q, &c)
		e = &c
	}
	return nil, e
}

// boundJKT reports whether the access token is bound to a DPoP key (a cnf
// object with a "jkt" member).
func boundJKT(c *Claims) bool {
	cnf, ok := c.Payload["cnf"].(map[string]any)
	if !ok {
		return false
	}
	_, bound := cnf["jkt"]
	return bound
}

// checkBinding applies the rules of express-oauth2-jwt-bearer 1.10 once the
// token is verified: a DPoP-bound token sent as Bearer is refused; a
// request that uses the DPoP scheme, sends a proof, carries a bound token
// or must use DPoP has its proof verified. It returns the proof, or nil for
// a Bearer request.
func (v *Verifier) checkBinding(r *http.Request, q *request, c *Claims) (*Proof, *Error) {
	d := v.dpop
	bound := boundJKT(c)
	if !d.required && q.scheme == "bearer" && bound {
		return nil, InvalidToken(msgBoundAsBearer)
	}
	if !d.required && q.scheme != "dpop" && !bound && !q.hasProof {
		return nil, nil
	}
	if e := d.assertRequest(q); e != nil {
		return nil, e
	}
	cnf, ok := c.Payload["cnf"]
	if !ok || cnf == nil {
		return nil, InvalidToken(msgNoJKT)
	}
	obj, ok := cnf.(map[string]any)
	if !ok {
		return nil, InvalidToken(msgCnfStructure)
	}
	for member := range obj {
		// Beside another member, a second binding (x5t#S256, say) or a
		// member this package does not understand: the proof alone must not
		// satisfy the token. Keycloak's "kc-jkt-type" only describes the jkt.
		if len(obj) > 1 && member != "jkt" && member != "kc-jkt-type" {
			return nil, InvalidToken(msgMultipleConfirm)
		}
	}
	jktValue, ok := obj["jkt"]
	if !ok {
		return nil, InvalidToken(msgNoJKT)
	}
	jkt, ok := jktValue.(string)
	if !ok {
		return nil, InvalidToken(msgJKTMalformed)
	}
	if jkt == "" {
		return nil, InvalidToken(msgJKTInvalid)
	}
	now := v.now()
	p, e := d.verifyProof(q.proofs[0], q.token, r.Method, q.origin.htu(r), jkt, now)
	if e != nil {
		return nil, e
	}
	// Last, once the proof is otherwise valid, so that no invalid proof
	// takes room in the replay cache or the ReplayStore.
	if e := d.checkReplay(r.Context(), p.Thumbprint, p.JTI, p.IssuedAt.Unix(), now.Unix(), v.retryAfter); e != nil {
		return nil, e
	}
	return p, nil
}

// challenge returns the WWW-Authenticate value of e for a request with DPoP
// enabled, applyAuthChallenges of express-oauth2-jwt-bearer 1.10: with DPoP
// required, the DPoP challenge alone; otherwise one value with the Bearer
// and the DPoP challenges, the error attributes on the scheme the request
// used (on Bearer for a query or body token).
func (d *dpopState) challenge(q *request, e *Error) string {
	hasCode := e.Code != ""
	desc := strings.ReplaceAll(e.Message, `"`, `'`)
	dpopPart := func(withError bool) string {
		if withError {
			return `DPoP error="` + e.Code + `", error_description="` + desc + `", ` + dpopChallengeAlg
		}
		return "DPoP " + dpopChallengeAlg
	}
	bearerPart := func(withError bool) string {
		if withError {
			return `Bearer realm="api", error="` + e.Code + `", error_description="` + desc + `"`
		}
		return `Bearer realm="api"`
	}
	switch {
	case d.required:
		return dpopPart(hasCode)
	case q.scheme == "dpop":
		return bearerPart(false) + ", " + dpopPart(hasCode)
	case q.scheme == "bearer":
		return bearerPart(hasCode) + ", " + dpopPart(false)
	default:
		return bearerPart(hasCode && q.found && !q.fromHeader) + ", " + dpopPart(false)
	}
}
