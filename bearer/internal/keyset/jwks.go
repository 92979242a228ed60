package keyset

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"slices"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/bearer/internal/es256k"
)

// Key-set messages. The first ones are the exact texts of jose (as used by
// express-oauth2-jwt-bearer 1.10).
const (
	msgNoKey          = "no applicable key found in the JSON Web Key Set"
	msgMultipleKeys   = "multiple matching keys found in the JSON Web Key Set"
	msgUnsupportedAlg = `Unsupported "alg" value for a JSON Web Key Set`
	msgJWKSStatus     = "Expected 200 OK from the JSON Web Key Set HTTP response"
	msgJWKSParse      = "Failed to parse the JSON Web Key Set HTTP response as JSON"
	msgJWKSMalformed  = "JSON Web Key Set malformed"
	msgTimeout        = "request timed out"
	msgDiscovery      = "Failed to fetch authorization server metadata"
	// Not in express-oauth2-jwt-bearer 1.10 (it surfaces the raw network
	// error there).
	msgJWKSFetch    = "Failed to fetch the JSON Web Key Set"
	msgJWKSTooLarge = "JSON Web Key Set HTTP response is too large"
)

// RSA modulus bounds. Keys outside them are skipped: under 2048 bits is
// too weak (jose refuses them too); over 8192 bits only costs verification
// time and no provider uses them.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// keyKind is what a key can verify: an RSA key, an ECDSA key on one curve,
// or an Ed25519 key.
type keyKind uint8

const (
	kindNone keyKind = iota
	kindRSA
	kindP256
	kindP384
	kindP521
	kindEd25519
	kindSecp256k1
)

// kindForAlg maps a JWS alg to the kind of key that verifies it, as jose
// does (RS*/PS* → RSA, ES* → EC on the matching curve, EdDSA → Ed25519).
// kindNone means the alg cannot be verified with a key set (none, HS*,
// anything unknown).
func kindForAlg(alg string) keyKind {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return kindRSA
	case "ES256":
		return kindP256
	case "ES384":
		return kindP384
	case "ES512":
		return kindP521
	case "EdDSA":
		return kindEd25519
	case es256k.Alg:
		return kindSecp256k1
	}
	return kindNone
}

// kindOf classifies a public key and checks that it is usable: an RSA key
// within the size bounds and with a sane exponent, an ECDSA key on a
// supported curve with a valid point, a full-length Ed25519 key. Anything
// else (private keys included) is kindNone.
func kindOf(pub crypto.PublicKey) keyKind {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.Sign() <= 0 {
			return kindNone
		}
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return kindNone
		}
		if k.E < 3 || k.E%2 == 0 {
			return kindNone
		}
		return kindRSA
	case *ecdsa.PublicKey:
		if k == nil || k.X == nil || k.Y == nil {
			return kindNone
		}
		if _, err := k.ECDH(); err != nil { // also rejects points off the curve
			return kindNone
		}
		switch k.Curve {
		case elliptic.P256():
			return kindP256
		case elliptic.P384():
			return kindP384
		case elliptic.P521():
			return kindP521
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return kindEd25519
		}
	case *secp256k1.PublicKey:
		if k != nil {
			return kindSecp256k1 // es256k.ParseJWK checked the point
		}
	}
	return kindNone
}

// jwkProbe is read from each JWK before go-jose parses it, to skip keys
// cheaply and to read what go-jose does not keep ("key_ops").
type jwkProbe struct {
	Kty    string          `json:"kty"`
	KeyOps json.RawMessage `json:"key_ops"`
	// Private (or symmetric) members: a key set must never carry them.
	D    json.RawMessage `json:"d"`
	P    json.RawMessage `json:"p"`
	Q    json.RawMessage `json:"q"`
	DP   json.RawMessage `json:"dp"`
	DQ   json.RawMessage `json:"dq"`
	QI   json.RawMessage `json:"qi"`
	K    json.RawMessage `json:"k"`
	Priv json.RawMessage `json:"priv"`
}

func (p *jwkProbe) hasPrivateParts() bool {
	for _, m := range [...]json.RawMessage{p.D, p.P, p.Q, p.DP, p.DQ, p.QI, p.K, p.Priv} {
		if m != nil {
			return true
		}
	}
	return false
}

// parseJWKS reads a JSON Web Key Set body and returns its usable signature
// verification keys, in set order. The body must be a JSON object with a
// "keys" array of objects (otherwise the errors of
// express-oauth2-jwt-bearer 1.10). Individual keys that cannot be used are
// skipped, never failing the set: see usableKey.
func parseJWKS(body []byte) ([]*Key, error) {
	if !json.Valid(body) {
		return nil, errors.New(msgJWKSParse)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, errors.New(msgJWKSMalformed)
	}
	for _, raw := range set.Keys {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, errors.New(msgJWKSMalformed)
		}
	}
	keys := make([]*Key, 0, len(set.Keys))
	for _, raw := range set.Keys {
		if k := usableKey(raw); k != nil {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// usableKey parses one JWK (with go-jose) and returns it as a Key, or nil
// when it must not be used for verifying signatures:
//   - it carries private or symmetric key material ("d", "k", …): such a key
//     is compromised by being published, so it is skipped, not stripped;
//   - its kty is not RSA, EC or OKP, its curve is unsupported, or go-jose
//     rejects it (bad encoding, point off the curve, x5c mismatch);
//   - an RSA key is under 2048 or over 8192 bits;
//   - "use" is present and not "sig", or "key_ops" is present and does not
//     list "verify" (or is not an array of strings);
//   - "alg" is present and is not an asymmetric JWS algorithm for its key.
func usableKey(raw []byte) *Key {
	var probe jwkProbe
	if err := json.Unmarshal(raw, &probe); err != nil || probe.hasPrivateParts() {
		return nil
	}
	switch probe.Kty {
	case "RSA", "EC", "OKP":
	default:
		return nil
	}
	if probe.KeyOps != nil && !bytes.Equal(probe.KeyOps, []byte("null")) {
		var ops []string
		if err := json.Unmarshal(probe.KeyOps, &ops); err != nil || !slices.Contains(ops, "verify") {
			return nil
		}
	}
	kid, alg, use, pub, ok := parseJWK(raw)
	if !ok || (use != "" && use != "sig") {
		return nil
	}
	kind := kindOf(pub)
	if kind == kindNone {
		return nil
	}
	if alg != "" && kindForAlg(alg) != kind {
		return nil
	}
	return &Key{KID: kid, Alg: alg, Public: pub, kind: kind}
}

// parseJWK reads one public JWK: a secp256k1 key with es256k.ParseJWK
// (go-jose refuses that curve), any other with go-jose.
func parseJWK(raw []byte) (kid, alg, use string, pub crypto.PublicKey, ok bool) {
	if es256k.IsSecp256k1(raw) {
		k, err := es256k.ParseJWK(raw)
		if err != nil {
			return "", "", "", nil, false
		}
		return k.KID, k.Alg, k.Use, k.Key, true
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.IsPublic() {
		return "", "", "", nil, false
	}
	return jwk.KeyID, jwk.Algorithm, jwk.Use, jwk.Key, true
}

// equalKey reports whether a and b are the same JWK for verification: same
// kid, alg and public key.
func equalKey(a, b *Key) bool {
	if a.KID != b.KID || a.Alg != b.Alg || a.kind != b.kind {
		return false
	}
	if ka, ok := a.Public.(*secp256k1.PublicKey); ok {
		kb, ok := b.Public.(*secp256k1.PublicKey)
		return ok && ka.IsEqual(kb)
	}
	eq, ok := a.Public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b.Public)
}

// keepIdentity replaces each key of next that is unchanged from a key of
// prev by prev's pointer, so that Contains stays true for it.
func keepIdentity(prev, next []*Key) {
	byKID := make(map[string][]*Key, len(prev))
	for _, k := range prev {
		byKID[k.KID] = append(byKID[k.KID], k)
	}
	for i, k := range next {
		for _, old := range byKID[k.KID] {
			if equalKey(old, k) {
				next[i] = old
				break
			}
		}
	}
}

// selectKey returns the one key of keys that verifies a token with the
// given kid ("" when the token has none) and alg, following jose: the key
// kind from alg, the kid when the token has one, the JWK's "alg" when
// present. It allocates only on failure.
func selectKey(keys []*Key, kid, alg string, kind keyKind) (*Key, error) {
	var found *Key
	for _, k := range keys {
		if k.kind != kind || (kid != "" && k.KID != kid) || (k.Alg != "" && k.Alg != alg) {
			continue
		}
		if found != nil {
			return nil, &Error{Message: msgMultipleKeys}
		}
		found = k
	}
	if found == nil {
		return nil, errNoKey
	}
	return found, nil
}

// errNoKey is returned by selectKey when no key applies; callers turn it
// into a fresh *Error (it is compared by identity).
var errNoKey = errors.New(msgNoKey)
