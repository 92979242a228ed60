package bearer

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/bearer/internal/es256k"
)

// Messages of DPoP proof failures: those of express-oauth2-jwt-bearer 1.10
// where it has them.
const (
	msgJKTMismatch       = "JWT Access Token confirmation mismatch"
	msgProofCompact      = "Invalid Compact JWS"
	msgProofAlg          = `"alg" (Algorithm) Header Parameter not allowed`
	msgProofAlgMissing   = `JWS "alg" (Algorithm) Header Parameter missing or invalid`
	msgProofHeader       = "JWS Protected Header is invalid"
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
	jws, alg, thumbprint, e := parseProof(proof)
	if e != nil {
		return nil, e
	}
	claims, _, e := jws.claims()
	if e != nil {
		return nil, invalidProof(msgProofClaimsObject)
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
	return &Proof{Thumbprint: thumbprint, JTI: jti, IssuedAt: time.Unix(int64(iat), 0), Algorithm: alg}, nil
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

// parseProof takes a compact DPoP proof apart and checks its JWS in the
// order of jose's jwtVerify with an embedded key, as
// express-oauth2-jwt-bearer 1.10 calls it: three segments, the protected
// header, "crit", an alg of the asymmetric allow-list, the embedded public
// "jwk", the signature over the raw signing input, then the "typ" header.
// It returns the proof with its payload still undecoded, the alg and the
// key's RFC 7638 thumbprint.
func parseProof(proof string) (jws *compactJWS, alg, thumbprint string, e *Error) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, "", "", invalidProof(msgProofCompact)
	}
	header, canonical := map[string]any{}, true
	if parts[0] != "" {
		var decoded any
		if decoded, canonical = decodeHeader(parts[0]); decoded == nil {
			return nil, "", "", invalidProof(msgProofHeader)
		}
		if obj, ok := decoded.(map[string]any); ok {
			header = obj // any other JSON value has no members, so no "alg"
		}
	}
	jws = &compactJWS{header: header, signingInput: proof[:len(parts[0])+1+len(parts[1])], payload: parts[1], signature: parts[2], lenientHeader: !canonical}
	unencoded, msg := critCheck(header)
	if msg != "" {
		return nil, "", "", invalidProof(msg)
	}
	alg, _ = header["alg"].(string)
	switch {
	case alg == "":
		return nil, "", "", invalidProof(msgProofAlgMissing)
	case !slices.Contains(asymmetricAlgs, alg):
		return nil, "", "", invalidProof(msgProofAlg)
	}
	key, thumbprint, e := embeddedKey(header["jwk"])
	if e != nil {
		return nil, "", "", e
	}
	if !keyFits(alg, key) || !jws.verifySignature(signingMethods[alg], key) {
		return nil, "", "", invalidProof(msgSignature)
	}
	if jws.lenientHeader {
		return nil, "", "", invalidProof(msgProofHeader)
	}
	if unencoded {
		return nil, "", "", invalidProof(msgUnencoded)
	}
	if typ, _ := header["typ"].(string); !isDPoPTyp(typ) {
		return nil, "", "", invalidProof(msgProofTyp)
	}
	return jws, alg, thumbprint, nil
}

// embeddedKey reads a proof's "jwk" header parameter: a public key
// (secp256k1 with es256k.ParseJWK, as go-jose refuses that curve; any other
// with go-jose) and its RFC 7638 thumbprint.
func embeddedKey(jwk any) (crypto.PublicKey, string, *Error) {
	obj, ok := jwk.(map[string]any)
	if !ok {
		return nil, "", invalidProof(msgProofJWKObject)
	}
	for _, private := range [...]string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := obj[private]; ok {
			return nil, "", invalidProof(msgProofJWKPublic)
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, "", invalidProof(msgProofJWKObject)
	}
	if es256k.IsSecp256k1(raw) {
		k, err := es256k.ParseJWK(raw)
		if err != nil {
			return nil, "", invalidProof(msgProofJWKObject)
		}
		return k.Key, es256k.Thumbprint(k.Key), nil
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return nil, "", invalidProof(msgProofJWKObject)
	}
	if !k.IsPublic() {
		return nil, "", invalidProof(msgProofJWKPublic)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", invalidProof(msgProofJWKPublic)
	}
	return k.Key, base64.RawURLEncoding.EncodeToString(tp), nil
}
