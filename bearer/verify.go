package bearer

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer/internal/es256k"
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

// verify checks a token in the order of express-oauth2-jwt-bearer 1.10
// (its discovery path, with jose beneath): the protected header and its
// alg against the allow-list, the discovery metadata, the compact form,
// "crit", the key, the signature over the raw signing input, and only then
// the payload, jose's time checks and the claim checks. tokenIss is the
// token's "iss" already matched in multi-issuer mode, or "".
func (t *tokenVerifier) verify(ctx context.Context, token string, now float64, tokenIss string) (*Claims, *cacheEntry, *Error) {
	jws, e := splitCompact(token)
	if e != nil {
		return nil, nil, e
	}
	alg, ok := jws.header["alg"].(string)
	if !ok || alg == "" {
		return nil, nil, InvalidToken(msgAlgMissing)
	}
	if e := t.allowListError(alg); e != nil {
		return nil, nil, e
	}
	s := &state{header: jws.header, now: now, issuer: t.issuer, pinned: t.pinned}
	if t.keys != nil {
		issuer, algs, err := t.keys.metadata(ctx)
		if err != nil {
			return nil, nil, asError(err)
		}
		if t.mcdIssuer != "" && issuer != "" {
			if n, err := normalizeIssuer(issuer, true); err != nil || n != t.mcdIssuer {
				return nil, nil, InvalidToken(msgMetadataIssuer)
			}
		}
		s.algs = algs
		if s.issuer == "" {
			s.issuer = issuer
		}
	}
	if tokenIss != "" {
		// Multi-issuer mode: the token's issuer was matched before any key
		// was fetched (and against the metadata just above); "iss" is then
		// checked against the token's own, as
		// express-oauth2-jwt-bearer 1.10 does.
		s.issuer = tokenIss
	}
	if jws.fiveSegments {
		return nil, nil, InvalidToken(msgCompact)
	}
	unencoded, msg := critCheck(jws.header)
	if msg != "" {
		return nil, nil, InvalidToken(msg)
	}
	key, handle, e := t.verificationKey(ctx, jws.header, alg)
	if e != nil {
		return nil, nil, e
	}
	if !jws.verifySignature(signingMethods[alg], key) {
		return nil, nil, InvalidToken(msgSignature)
	}
	if jws.lenientHeader {
		return nil, nil, InvalidToken(msgFormatting)
	}
	if unencoded {
		return nil, nil, InvalidToken(msgUnencoded)
	}
	payload, raw, e := jws.claims()
	if e != nil {
		return nil, nil, e
	}
	if e := t.v.timeChecks(payload, now); e != nil {
		return nil, nil, e
	}
	s.payload = payload
	claims := &Claims{Header: jws.header, Payload: payload, Token: token, raw: raw}
	if e := t.v.runChecks(ctx, s, claims, false); e != nil {
		return nil, nil, e
	}
	if t.v.cache == nil {
		return claims, nil, nil
	}
	ent := &cacheEntry{claims: claims, handle: handle}
	ent.exp, ent.hasExp = payload["exp"].(float64)
	ent.nbf, ent.hasNbf = payload["nbf"].(float64)
	ent.iat, _ = payload["iat"].(float64)
	return claims, ent, nil
}

// verificationKey returns the key that verifies a token with this header
// and alg: the secret, or the one key of the key set for its kid and alg,
// chosen as jose does (a kid that is not a string is no kid), and a handle
// the token cache keeps to ask later whether the key is still current.
func (t *tokenVerifier) verificationKey(ctx context.Context, header map[string]any, alg string) (key, handle any, e *Error) {
	if t.secret != nil {
		return t.secret, nil, nil
	}
	kid, _ := header["kid"].(string)
	pub, handle, err := t.keys.key(ctx, kid, alg)
	if err != nil {
		return nil, nil, asError(err)
	}
	if !keyFits(alg, pub) {
		return nil, nil, InvalidToken(msgNoKey)
	}
	return pub, handle, nil
}

// signingMethods verify each accepted alg: golang-jwt v5's own methods, and
// ES256K (which golang-jwt does not have) from internal/es256k.
var signingMethods = func() map[string]jwt.SigningMethod {
	m := make(map[string]jwt.SigningMethod)
	for _, alg := range append(slices.Clone(asymmetricAlgs), symmetricAlgs...) {
		m[alg] = jwt.GetSigningMethod(alg)
	}
	m[es256k.Alg] = es256k.Method
	return m
}()

// allowListError checks alg against the allow-list of the mode, as
// validateAlgorithmEarly of express-oauth2-jwt-bearer 1.10 does before any
// key is looked for. A pinned TokenSigningAlg and the discovered
// algorithms are claim checks ("Unexpected 'alg' value"), after the
// signature, as in the Node library.
func (t *tokenVerifier) allowListError(alg string) *Error {
	if t.secret != nil {
		if !slices.Contains(symmetricAlgs, alg) {
			return InvalidToken(`Unsupported algorithm "` + echo(alg) + `" for secret-based verification. Supported: ` + symmetricList)
		}
	} else if !slices.Contains(asymmetricAlgs, alg) {
		return InvalidToken(`Unsupported algorithm "` + echo(alg) + `" for JWKS-based verification. Supported: ` + asymmetricList)
	}
	return nil
}

// echo returns a header value for a message as the Node library shows it,
// when it is at most 64 visible ASCII characters or spaces (a `"` becomes
// `'` in the challenge, as there); anything else, which Node could not even
// put in a header, is shown as "(unprintable)".
func echo(value string) string {
	if len(value) > 64 {
		return "(unprintable)"
	}
	for i := 0; i < len(value); i++ {
		if value[i] < ' ' || value[i] > '~' {
			return "(unprintable)"
		}
	}
	return value
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

// asError turns a key-source failure into an *Error: the source's own
// *Error as is, anything else a 401 invalid_token with its message.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: err.Error(), Err: err}
}
