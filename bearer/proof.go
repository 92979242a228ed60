package bearer

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Messages of DPoP proof failures: those of express-oauth2-jwt-bearer 1.10
// where it has them.
const (
	msgJKTMismatch       = "JWT Access Token confirmation mismatch"
	msgProofCompact      = "Invalid Compact JWS"
	msgProofAlg          = `"alg" (Algorithm) Header Parameter not allowed`
	msgProofJWKObject    = `"jwk" (JSON Web Key) Header Parameter must be a JSON object`
	msgProofJWKPublic    = `"jwk" (JSON Web Key) Header Parameter must be a public key`
	msgProofTyp          = `unexpected "typ" JWT header value`
	msgProofClaimsObject = "JWT Claims Set must be a top-level JSON object"
	msgProofTooLarge     = "DPoP proof is too large"
	msgIATMissing        = `Missing "iat" claim in DPoP proof`
	msgIATNumber         = `"iat" claim must be a number`
	msgIATRange          = `DPoP proof "iat" is outside the acceptable range`
	msgHTMMissing        = `Missing "htm" in DPoP proof`
	msgHTMInvalid        = `Invalid "htm" claim`
	msgHTMMismatch       = "DPoP Proof htm mismatch"
	msgHTUMissing        = `Missing "htu" in DPoP proof`
	msgHTUInvalidClaim   = `Invalid "htu" claim`
	msgHTUMismatch       = "DPoP Proof htu mismatch"
	msgJTIMissing        = `Missing "jti" in DPoP proof`
	msgJTIInvalid        = `Invalid "jti" claim`
	msgATHMissing        = `Missing "ath" claim in DPoP proof`
	msgATHInvalid        = `Invalid "ath" claim`
	msgATHMismatch       = `DPoP Proof "ath" mismatch`
	msgNonceRequired     = "Resource server requires nonce in DPoP proof"
	msgNonceInvalid      = "DPoP proof nonce is invalid or has expired"
	dpopProofTyp         = "dpop+jwt"
)

// proofAlgs are the accepted proof algorithms: the asymmetric allow-list.
var proofAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// invalidProof returns a 400 invalid_dpop_proof error.
func invalidProof(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidDPoPProof, Message: msg}
}

// verifyProof checks a DPoP proof, in the order of
// express-oauth2-jwt-bearer 1.10: the JWS (alg from the allow-list, an
// embedded public jwk, the signature, typ dpop+jwt, iat/exp/nbf types),
// then iat within the window, htm, htu, jti, ath and the key thumbprint
// against the token's cnf.jkt; then, beyond the Node library, the nonce.
// The replay checks (checkReplay) come after it.
func (d *dpopState) verifyProof(proof, token, method, htu, jkt string, now time.Time) (*Proof, *Error) {
	if len(proof) > d.maxProofBytes {
		return nil, invalidProof(msgProofTooLarge)
	}
	jws, err := jose.ParseSignedCompact(proof, proofAlgs)
	if err != nil {
		return nil, proofParseError(err)
	}
	sig := jws.Signatures[0]
	key := sig.Protected.JSONWebKey
	if key == nil {
		return nil, invalidProof(msgProofJWKObject)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidDPoPProof, Message: msgSignature, Err: err}
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil || claims == nil {
		return nil, invalidProof(msgProofClaimsObject)
	}
	if typ, _ := sig.Protected.ExtraHeaders[jose.HeaderType].(string); !isDPoPTyp(typ) {
		return nil, invalidProof(msgProofTyp)
	}
	sec := now.Unix()
	for _, name := range [...]string{"iat", "exp", "nbf"} {
		if val, ok := claims[name]; ok {
			if _, isNum := val.(float64); !isNum {
				return nil, invalidProof(`"` + name + `" claim must be a number`)
			}
		}
	}
	if exp, ok := claims["exp"].(float64); ok && exp <= float64(sec) {
		return nil, invalidProof(`"exp" claim timestamp check failed`)
	}
	if nbf, ok := claims["nbf"].(float64); ok && nbf > float64(sec) {
		return nil, invalidProof(`"nbf" claim timestamp check failed`)
	}
	iat, _ := claims["iat"].(float64)
	if iat == 0 {
		return nil, invalidProof(msgIATMissing)
	}
	if iat < float64(sec-d.offset) || iat > float64(sec+d.leeway) {
		return nil, invalidProof(msgIATRange)
	}
	if e := checkClaimString(claims["htm"], msgHTMMissing, msgHTMInvalid); e != nil {
		return nil, e
	}
	if !strings.EqualFold(claims["htm"].(string), method) {
		return nil, invalidProof(msgHTMMismatch)
	}
	if e := checkClaimString(claims["htu"], msgHTUMissing, msgHTUInvalidClaim); e != nil {
		return nil, e
	}
	proofHTU, e := normalizeHTU(claims["htu"].(string))
	if e != nil {
		return nil, e
	}
	if proofHTU != htu {
		return nil, invalidProof(msgHTUMismatch)
	}
	if e := checkClaimString(claims["jti"], msgJTIMissing, msgJTIInvalid); e != nil {
		return nil, e
	}
	jti := claims["jti"].(string)
	if e := checkClaimString(claims["ath"], msgATHMissing, msgATHInvalid); e != nil {
		return nil, e
	}
	sum := sha256.Sum256([]byte(token))
	if claims["ath"].(string) != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return nil, invalidProof(msgATHMismatch)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalidProof(msgProofJWKPublic)
	}
	thumbprint := base64.RawURLEncoding.EncodeToString(tp)
	if thumbprint != jkt {
		return nil, InvalidToken(msgJKTMismatch)
	}
	if d.nonce != nil {
		switch n, ok := claims["nonce"]; {
		case !ok:
			return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUseDPoPNonce, Message: msgNonceRequired}
		default:
			if s, isStr := n.(string); !isStr || !d.nonce.Valid(s, now) {
				return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUseDPoPNonce, Message: msgNonceInvalid}
			}
		}
	}
	return &Proof{Thumbprint: thumbprint, JTI: jti, IssuedAt: time.Unix(int64(iat), 0), Algorithm: string(sig.Protected.Algorithm)}, nil
}

// checkClaimString checks that a proof claim is present (not empty, as the
// truthiness test of express-oauth2-jwt-bearer 1.10) and a string.
func checkClaimString(v any, missing, invalid string) *Error {
	switch s := v.(type) {
	case nil:
		return invalidProof(missing)
	case string:
		if s == "" {
			return invalidProof(missing)
		}
		return nil
	case bool:
		if !s {
			return invalidProof(missing)
		}
	case float64:
		if s == 0 {
			return invalidProof(missing)
		}
	}
	return invalidProof(invalid)
}

// isDPoPTyp compares a "typ" with dpop+jwt as jose does: in any case, with
// or without "application/".
func isDPoPTyp(typ string) bool {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/") == dpopProofTyp
}

// proofParseError explains why go-jose could not parse a proof. The
// library's errors are not typed beyond the algorithm one; a failure
// mentioning the JWK is reported as the jwk message of
// express-oauth2-jwt-bearer 1.10, every other one as "Invalid Compact JWS".
// Only the message depends on this.
func proofParseError(err error) *Error {
	var alg *jose.ErrUnexpectedSignatureAlgorithm
	msg := msgProofCompact
	switch s := err.Error(); {
	case errors.As(err, &alg):
		msg = msgProofAlg
	case strings.Contains(s, "must be public key") || strings.Contains(s, "private parameters"):
		msg = msgProofJWKPublic
	case strings.Contains(s, "JWK"):
		msg = msgProofJWKObject
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidDPoPProof, Message: msg, Err: err}
}
