package keyset

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/taskapi/taskapi/bearer/internal/es256k"

	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"testing"
)

func TestParseJWKSShape(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		wantN   int
	}{
		{"not JSON", `<html>`, msgJWKSParse, 0},
		{"truncated", `{"keys":[`, msgJWKSParse, 0},
		{"empty body", ``, msgJWKSParse, 0},
		{"array", `[]`, msgJWKSMalformed, 0},
		{"null", `null`, msgJWKSMalformed, 0},
		{"no keys member", `{}`, msgJWKSMalformed, 0},
		{"keys null", `{"keys":null}`, msgJWKSMalformed, 0},
		{"keys object", `{"keys":{}}`, msgJWKSMalformed, 0},
		{"keys string", `{"keys":"x"}`, msgJWKSMalformed, 0},
		{"key not an object", `{"keys":[1]}`, msgJWKSMalformed, 0},
		{"key null", `{"keys":[null]}`, msgJWKSMalformed, 0},
		{"empty set", `{"keys":[]}`, "", 0},
		{"garbage keys skipped", `{"keys":[{},{"kty":"RSA"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":1}]}`, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(keys) != tt.wantN {
				t.Fatalf("got %d keys, want %d", len(keys), tt.wantN)
			}
		})
	}
}

func TestParseJWKSKeyRules(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name     string
		jwk      map[string]any
		wantKind keyKind // kindNone: skipped
	}{
		{"RSA 2048", jwk(t, &rsaA.PublicKey, "a", "", nil), kindRSA},
		{"RSA with alg RS256", jwk(t, &rsaA.PublicKey, "a", "RS256", nil), kindRSA},
		{"RSA with alg PS512", jwk(t, &rsaA.PublicKey, "a", "PS512", nil), kindRSA},
		{"RSA use sig", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"use": "sig"}), kindRSA},
		{"RSA key_ops verify", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"key_ops": []string{"verify"}}), kindRSA},
		{"EC P-256", jwk(t, &ecP256.PublicKey, "e", "ES256", nil), kindP256},
		{"EC P-384", jwk(t, &ecP384.PublicKey, "e", "", nil), kindP384},
		{"EC P-521", jwk(t, &ecP521.PublicKey, "e", "ES512", nil), kindP521},
		{"Ed25519", jwk(t, edKey.Public(), "o", "EdDSA", nil), kindEd25519},

		{"RSA 1024 refused", jwk(t, &rsaSmall.PublicKey, "s", "RS256", nil), kindNone},
		{"RSA private key skipped", jwk(t, rsaA, "a", "RS256", nil), kindNone},
		{"EC private key skipped", jwk(t, ecP256, "e", "ES256", nil), kindNone},
		{"Ed25519 private key skipped", jwk(t, edKey, "o", "EdDSA", nil), kindNone},
		{"public RSA with a stray d skipped", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"d": "AQAB"}), kindNone},
		{"oct skipped", map[string]any{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "h", "alg": "HS256"}, kindNone},
		{"unknown kty skipped", map[string]any{"kty": "XYZ", "kid": "x"}, kindNone},
		{"missing kty skipped", map[string]any{"kid": "x"}, kindNone},
		{"X25519 skipped", map[string]any{"kty": "OKP", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}, kindNone},
		{"P-256 point labelled secp256k1 skipped", jwk(t, &ecP256.PublicKey, "e", "", map[string]any{"crv": "secp256k1"}), kindNone},
		{"secp256k1 key", secp256k1JWK(t, nil), kindSecp256k1},
		{"secp256k1 key for ES256K", secp256k1JWK(t, map[string]any{"alg": "ES256K", "use": "sig"}), kindSecp256k1},
		{"secp256k1 key for ES256 skipped", secp256k1JWK(t, map[string]any{"alg": "ES256"}), kindNone},
		{"secp256k1 private key skipped", secp256k1JWK(t, map[string]any{"d": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}), kindNone},
		{"secp256k1 coordinate too short skipped", secp256k1JWK(t, map[string]any{"x": "AAAA"}), kindNone},
		{"EC point off the curve skipped", jwk(t, &ecP256.PublicKey, "e", "", map[string]any{"y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}), kindNone},
		{"use enc skipped", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"use": "enc"}), kindNone},
		{"key_ops without verify skipped", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"key_ops": []string{"encrypt"}}), kindNone},
		{"key_ops not an array skipped", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"key_ops": "verify"}), kindNone},
		{"alg for another key type skipped", jwk(t, &rsaA.PublicKey, "a", "ES256", nil), kindNone},
		{"EC alg for another curve skipped", jwk(t, &ecP256.PublicKey, "e", "ES384", nil), kindNone},
		{"symmetric alg on RSA skipped", jwk(t, &rsaA.PublicKey, "a", "HS256", nil), kindNone},
		{"encryption alg skipped", jwk(t, &rsaA.PublicKey, "a", "RSA-OAEP", nil), kindNone},
		{"RSA exponent 1 skipped", jwk(t, &rsaA.PublicKey, "a", "", map[string]any{"e": "AQ"}), kindNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each key sits next to a good one: a bad key never fails the set.
			body := jwks(t, tt.jwk, jwk(t, edKey.Public(), "good", "", nil))
			keys, err := parseJWKS(body)
			if err != nil {
				t.Fatalf("parseJWKS: %v", err)
			}
			var got *Key
			for _, k := range keys {
				if k.KID != "good" {
					got = k
				}
			}
			if len(keys) == 0 || keys[len(keys)-1].KID != "good" {
				t.Fatalf("the good key is missing: %+v", keys)
			}
			if tt.wantKind == kindNone {
				if got != nil {
					t.Fatalf("key was kept (kind %d), want skipped", got.kind)
				}
				return
			}
			if got == nil {
				t.Fatal("key was skipped")
			}
			if got.kind != tt.wantKind {
				t.Fatalf("kind = %d, want %d", got.kind, tt.wantKind)
			}
			if got.KID != tt.jwk["kid"] {
				t.Errorf("KID = %q, want %q", got.KID, tt.jwk["kid"])
			}
			switch got.Public.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, *secp256k1.PublicKey:
			default:
				t.Errorf("Public is %T", got.Public)
			}
		})
	}
}

func TestSelectKey(t *testing.T) {
	testKeys(t)
	body := jwks(t,
		jwk(t, &rsaA.PublicKey, "rsa-a", "RS256", nil),
		jwk(t, &rsaB.PublicKey, "rsa-b", "", nil),
		jwk(t, &ecP256.PublicKey, "ec", "", nil),
		jwk(t, &ecP384.PublicKey, "ec384", "ES384", nil),
		jwk(t, edKey.Public(), "ed", "", nil),
		jwk(t, &rsaSmall.PublicKey, "small", "", nil),
	)
	keys, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, kid, alg string
		want           string // kid of the key, or an error message
	}{
		{"kid and alg", "rsa-a", "RS256", "rsa-a"},
		{"JWK alg must equal the token alg", "rsa-a", "PS256", msgNoKey},
		{"JWK without alg serves any RSA alg", "rsa-b", "PS384", "rsa-b"},
		{"no kid, two RSA keys", "", "RS256", msgMultipleKeys},
		{"no kid, one RSA key fits PS256", "", "PS256", "rsa-b"},
		{"no kid, one P-256 key", "", "ES256", "ec"},
		{"no kid, one P-384 key", "", "ES384", "ec384"},
		{"no P-521 key", "", "ES512", msgNoKey},
		{"curve must match alg", "ec", "ES384", msgNoKey},
		{"kty must match alg", "ec", "RS256", msgNoKey},
		{"EdDSA", "ed", "EdDSA", "ed"},
		{"unknown kid", "nope", "RS256", msgNoKey},
		{"small RSA key was skipped", "small", "RS256", msgNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := selectKey(keys, tt.kid, tt.alg, kindForAlg(tt.alg))
			switch {
			case errors.Is(err, errNoKey):
				if tt.want != msgNoKey {
					t.Fatalf("no key, want %q", tt.want)
				}
			case err != nil:
				if err.Error() != tt.want {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
			default:
				if k.KID != tt.want {
					t.Fatalf("got key %q, want %q", k.KID, tt.want)
				}
			}
		})
	}
}

func TestKindForAlg(t *testing.T) {
	for alg, want := range map[string]keyKind{
		"RS256": kindRSA, "RS384": kindRSA, "RS512": kindRSA, "PS256": kindRSA, "PS384": kindRSA, "PS512": kindRSA,
		"ES256": kindP256, "ES384": kindP384, "ES512": kindP521, "EdDSA": kindEd25519, "ES256K": kindSecp256k1,
		"none": kindNone, "HS256": kindNone, "es256k": kindNone, "": kindNone, "rs256": kindNone,
	} {
		if got := kindForAlg(alg); got != want {
			t.Errorf("kindForAlg(%q) = %d, want %d", alg, got, want)
		}
	}
}

// FuzzParseJWKS checks that parsing any body never panics and that every
// key it returns is a usable public key of the kind it claims.
func FuzzParseJWKS(f *testing.F) {
	testKeys(f)
	f.Add(jwks(f, jwk(f, &rsaA.PublicKey, "a", "RS256", nil), jwk(f, &ecP256.PublicKey, "e", "", map[string]any{"key_ops": []string{"verify"}})))
	f.Add(jwks(f, jwk(f, &ecP521.PublicKey, "e", "ES512", nil), jwk(f, edKey.Public(), "o", "EdDSA", map[string]any{"use": "sig"})))
	f.Add(jwks(f, jwk(f, rsaA, "p", "RS256", nil), jwk(f, &rsaSmall.PublicKey, "s", "", nil)))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","x":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","x5c":["AAAA"]}]}`))
	f.Add([]byte(`{"keys":{}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseJWKS(body)
		if err != nil {
			if len(keys) != 0 {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("invalid JSON accepted")
		}
		for _, k := range keys {
			if k.kind == kindNone || kindOf(k.Public) != k.kind {
				t.Fatalf("unusable key returned: %+v", k)
			}
			if k.Alg != "" && kindForAlg(k.Alg) != k.kind {
				t.Fatalf("key alg %q does not fit its kind %d", k.Alg, k.kind)
			}
			switch p := k.Public.(type) {
			case *rsa.PublicKey:
				if p.N.BitLen() < minRSABits {
					t.Fatalf("small RSA key returned: %d bits", p.N.BitLen())
				}
			case *ecdsa.PublicKey:
				if _, err := p.ECDH(); err != nil {
					t.Fatalf("invalid EC key returned: %v", err)
				}
			case ed25519.PublicKey:
				if len(p) != ed25519.PublicKeySize {
					t.Fatalf("short Ed25519 key returned")
				}
			default:
				t.Fatalf("key of type %T returned", k.Public)
			}
		}
	})
}

// secp256k1JWK is a fresh secp256k1 public JWK with extra members.
func secp256k1JWK(t *testing.T, extra map[string]any) map[string]any {
	t.Helper()
	priv, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	m := es256k.PublicJWK(priv.PubKey())
	m["kid"] = "k1"
	for k, v := range extra {
		m[k] = v
	}
	return m
}
