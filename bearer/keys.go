package bearer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/bearer/internal/es256k"
)

// Key-selection messages (jose's).
const (
	msgNoKey        = "no applicable key found in the JSON Web Key Set"
	msgMultipleKeys = "multiple matching keys found in the JSON Web Key Set"
)

// minRSABits is the smallest RSA modulus accepted, as jose does.
const minRSABits = 2048

// keyFits reports whether pub can verify signatures of alg: an RSA key of
// at least 2048 bits for RS*/PS*, an ECDSA key on the algorithm's curve for
// ES256/384/512, a secp256k1 key for ES256K, an Ed25519 key for EdDSA.
func keyFits(alg string, pub crypto.PublicKey) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		k, ok := pub.(*rsa.PublicKey)
		return ok && k != nil && k.N != nil && k.N.BitLen() >= minRSABits
	case "ES256", "ES384", "ES512":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil {
			return false
		}
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		}
		return k.Curve == elliptic.P521()
	case "EdDSA":
		k, ok := pub.(ed25519.PublicKey)
		return ok && len(k) == ed25519.PublicKeySize
	case es256k.Alg:
		k, ok := pub.(*secp256k1.PublicKey)
		return ok && k != nil
	}
	return false
}

// staticKey is one key of Config.PublicKey.
type staticKey struct {
	kid, alg, use string
	anyKID        bool // a PEM key has no kid and matches every token
	pub           crypto.PublicKey
}

// staticKeys is the key set of Config.PublicKey.
type staticKeys []*staticKey

// staticKeys implements keySource for Config.PublicKey.

func (ks staticKeys) metadata(context.Context) (string, []string, error) { return "", nil, nil }

func (ks staticKeys) key(_ context.Context, kid, alg string) (crypto.PublicKey, any, error) {
	k, err := ks.find(kid, alg)
	if err != nil {
		return nil, nil, err
	}
	return k.pub, nil, nil
}

func (ks staticKeys) current(context.Context, any) bool { return true }
func (ks staticKeys) warm(context.Context) error        { return nil }
func (ks staticKeys) close() error                      { return nil }

// find returns the one key that fits a token's kid and alg, following
// jose's selection: the key type from alg, the kid when the token has one,
// and the JWK's own "alg" and "use" when present.
func (ks staticKeys) find(kid, alg string) (*staticKey, error) {
	var found *staticKey
	for _, k := range ks {
		if !keyFits(alg, k.pub) || (k.alg != "" && k.alg != alg) || (k.use != "" && k.use != "sig") {
			continue
		}
		if kid != "" && !k.anyKID && k.kid != kid {
			continue
		}
		if found != nil {
			return nil, errors.New(msgMultipleKeys)
		}
		found = k
	}
	if found == nil {
		return nil, errors.New(msgNoKey)
	}
	return found, nil
}

// parsePublicKey reads Config.PublicKey: PEM (needs alg), a JWK or a JWKS.
func parsePublicKey(data []byte, alg string) (staticKeys, error) {
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		return parsePEM(data, alg)
	}
	if !bytes.HasPrefix(data, []byte("{")) {
		return nil, errors.New("'publicKey' must be a PEM public key, a JWK or a JWKS")
	}
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("'publicKey' is not valid JSON: %w", err)
	}
	var raws []json.RawMessage
	if probe.Keys == nil {
		raws = []json.RawMessage{data}
	} else if err := json.Unmarshal(probe.Keys, &raws); err != nil {
		return nil, fmt.Errorf("'publicKey' is not a valid JWKS: %w", err)
	}
	if len(raws) == 0 {
		return nil, errors.New("'publicKey' JWKS has no keys")
	}
	keys := make(staticKeys, 0, len(raws))
	for _, raw := range raws {
		k, err := parseStaticJWK(raw)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// parseStaticJWK reads one JWK of Config.PublicKey: a secp256k1 key with
// es256k.ParseJWK (go-jose refuses them), any other with go-jose.
func parseStaticJWK(raw []byte) (*staticKey, error) {
	if es256k.IsSecp256k1(raw) {
		k, err := es256k.ParseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("'publicKey' is not a valid JWK: %w", err)
		}
		return &staticKey{kid: k.KID, alg: k.Alg, use: k.Use, pub: k.Key}, nil
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("'publicKey' is not a valid JWK: %w", err)
	}
	if _, ok := k.Key.([]byte); ok {
		return nil, errors.New(`'publicKey' must not be a symmetric (kty "oct") key`)
	}
	if !k.IsPublic() {
		return nil, errors.New("'publicKey' must be a public key, not a private one")
	}
	return &staticKey{kid: k.KeyID, alg: k.Algorithm, use: k.Use, pub: k.Key}, nil
}

// parsePEM reads a PEM "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY" (PKCS #1).
func parsePEM(data []byte, alg string) (staticKeys, error) {
	if alg == "" {
		return nil, errors.New("You must provide a 'tokenSigningAlg' with a PEM 'publicKey'")
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("'publicKey' is not valid PEM")
	}
	var pub crypto.PublicKey
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("'publicKey' PEM block %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("'publicKey' cannot be parsed: %w", err)
	}
	if !keyFits(alg, pub) {
		return nil, fmt.Errorf("'publicKey' cannot verify %s signatures (wrong key type, curve or size)", alg)
	}
	return staticKeys{{alg: alg, anyKID: true, pub: pub}}, nil
}
