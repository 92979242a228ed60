package bearer

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/golang-jwt/jwt/v5"
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
