// Package es256k is the ES256K algorithm of RFC 8812 §3.2 (ECDSA on the
// secp256k1 curve with SHA-256) for golang-jwt v5, and the reading of
// secp256k1 JSON Web Keys (RFC 8812 §3.1), which go-jose refuses. The curve
// arithmetic is github.com/decred/dcrd/dcrec/secp256k1/v4's.
package es256k

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/golang-jwt/jwt/v5"
)

// Alg is the JWS algorithm name, Curve the JWK "crv".
const (
	Alg   = "ES256K"
	Curve = "secp256k1"
)

// coordinateBytes is the size of a coordinate and of each half of a
// signature (R and S, big-endian, RFC 7518 §3.4).
const coordinateBytes = 32

// Method is ES256K as a golang-jwt v5 SigningMethod. Verify takes a
// *secp256k1.PublicKey, Sign a *secp256k1.PrivateKey (deterministic
// RFC 6979 nonces, low S).
var Method jwt.SigningMethod = method{}

type method struct{}

func (method) Alg() string { return Alg }

// Verify checks a 64-byte R || S signature of signingString. Like other
// JOSE implementations, it accepts both S and N-S (no low-S rule), and
// refuses R or S of zero or not below the group order.
func (method) Verify(signingString string, sig []byte, key any) error {
	pub, ok := key.(*secp256k1.PublicKey)
	if !ok || pub == nil {
		return jwt.ErrInvalidKeyType
	}
	if len(sig) != 2*coordinateBytes {
		return jwt.ErrECDSAVerification
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:coordinateBytes]) || s.SetByteSlice(sig[coordinateBytes:]) {
		return jwt.ErrECDSAVerification // not below the group order
	}
	hash := sha256.Sum256([]byte(signingString))
	if !ecdsa.NewSignature(&r, &s).Verify(hash[:], pub) {
		return jwt.ErrECDSAVerification
	}
	return nil
}

// Sign signs signingString with a *secp256k1.PrivateKey.
func (method) Sign(signingString string, key any) ([]byte, error) {
	priv, ok := key.(*secp256k1.PrivateKey)
	if !ok || priv == nil {
		return nil, jwt.ErrInvalidKeyType
	}
	hash := sha256.Sum256([]byte(signingString))
	sig := ecdsa.Sign(priv, hash[:])
	r, s := sig.R(), sig.S()
	out := make([]byte, 2*coordinateBytes)
	r.PutBytesUnchecked(out[:coordinateBytes])
	s.PutBytesUnchecked(out[coordinateBytes:])
	return out, nil
}

// JWK is a secp256k1 public JSON Web Key.
type JWK struct {
	KID, Alg, Use string
	// KeyOps is "key_ops", nil when absent.
	KeyOps []string
	Key    *secp256k1.PublicKey
}

// Errors of ParseJWK.
var (
	ErrNotSecp256k1 = errors.New(`JWK is not an EC key on "secp256k1"`)
	ErrPrivate      = errors.New("JWK holds a private key")
	ErrInvalid      = errors.New("JWK is not a valid secp256k1 public key")
)

// IsSecp256k1 reports whether raw, a JSON object, claims to be an EC key on
// secp256k1 ("kty" EC, "crv" secp256k1): one for ParseJWK, not go-jose.
func IsSecp256k1(raw []byte) bool {
	var probe struct {
		Kty any `json:"kty"`
		Crv any `json:"crv"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.Kty == "EC" && probe.Crv == Curve
}

// ParseJWK reads a public secp256k1 JWK: "kty" EC, "crv" secp256k1, "x"
// and "y" each the 32-byte coordinate in unpadded, canonical base64url
// (RFC 7518 §6.2.1), naming a point on the curve; "kid", "alg", "use" and
// "key_ops" when present must have their JSON types. A key with a private
// part ("d") is refused with ErrPrivate.
func ParseJWK(raw []byte) (*JWK, error) {
	var k struct {
		Kty    string          `json:"kty"`
		Crv    string          `json:"crv"`
		X      string          `json:"x"`
		Y      string          `json:"y"`
		D      json.RawMessage `json:"d"`
		KID    string          `json:"kid"`
		Alg    string          `json:"alg"`
		Use    string          `json:"use"`
		KeyOps []string        `json:"key_ops"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, ErrInvalid
	}
	if k.Kty != "EC" || k.Crv != Curve {
		return nil, ErrNotSecp256k1
	}
	if k.D != nil {
		return nil, ErrPrivate
	}
	x, errX := decodeCoordinate(k.X)
	y, errY := decodeCoordinate(k.Y)
	if errX != nil || errY != nil {
		return nil, ErrInvalid
	}
	point := make([]byte, 0, 1+2*coordinateBytes)
	point = append(point, 0x04) // uncompressed SEC 1 point
	point = append(append(point, x...), y...)
	pub, err := secp256k1.ParsePubKey(point) // checks the point is on the curve
	if err != nil {
		return nil, ErrInvalid
	}
	return &JWK{KID: k.KID, Alg: k.Alg, Use: k.Use, KeyOps: k.KeyOps, Key: pub}, nil
}

// decodeCoordinate decodes one coordinate: exactly 32 bytes, canonical
// unpadded base64url.
func decodeCoordinate(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != coordinateBytes {
		return nil, ErrInvalid
	}
	return b, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub (SHA-256 of
// {"crv":"secp256k1","kty":"EC","x":…,"y":…}), base64url-encoded, as a
// DPoP "jkt" (RFC 9449 §6.1) names it.
func Thumbprint(pub *secp256k1.PublicKey) string {
	enc := base64.RawURLEncoding
	var x, y [coordinateBytes]byte
	fx, fy := pub.X(), pub.Y()
	fx.FillBytes(x[:])
	fy.FillBytes(y[:])
	canonical := `{"crv":"` + Curve + `","kty":"EC","x":"` + enc.EncodeToString(x[:]) + `","y":"` + enc.EncodeToString(y[:]) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return enc.EncodeToString(sum[:])
}

// PublicJWK returns pub as a JWK object (without kid, alg or use).
func PublicJWK(pub *secp256k1.PublicKey) map[string]any {
	var x, y [coordinateBytes]byte
	fx, fy := pub.X(), pub.Y()
	fx.FillBytes(x[:])
	fy.FillBytes(y[:])
	enc := base64.RawURLEncoding
	return map[string]any{"kty": "EC", "crv": Curve, "x": enc.EncodeToString(x[:]), "y": enc.EncodeToString(y[:])}
}

// Register makes golang-jwt's registry answer "ES256K" with Method, unless
// another implementation was registered first.
func Register() {
	if jwt.GetSigningMethod(Alg) == nil {
		jwt.RegisterSigningMethod(Alg, func() jwt.SigningMethod { return Method })
	}
}
