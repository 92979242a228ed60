package es256k

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/golang-jwt/jwt/v5"
)

// The generator of secp256k1 (SEC 2 §2.4.1), the public key of the private
// key 1.
const (
	gx = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	gy = "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
)

func hexB64(t *testing.T, h string) string {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestParseJWKGenerator(t *testing.T) {
	raw := `{"kty":"EC","crv":"secp256k1","x":"` + hexB64(t, gx) + `","y":"` + hexB64(t, gy) + `","kid":"g","alg":"ES256K","use":"sig","key_ops":["verify"]}`
	k, err := ParseJWK([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	one := secp256k1.PrivKeyFromBytes([]byte{1})
	if !k.Key.IsEqual(one.PubKey()) {
		t.Fatal("JWK of G is not the public key of 1")
	}
	if k.KID != "g" || k.Alg != "ES256K" || k.Use != "sig" || len(k.KeyOps) != 1 {
		t.Fatalf("members = %+v", k)
	}
	if !IsSecp256k1([]byte(raw)) {
		t.Fatal("IsSecp256k1 = false")
	}
}

// TestVerifyKnownSignature checks a published RFC 6979 test vector of
// secp256k1 with SHA-256 (private key 1, message "Satoshi Nakamoto", as in
// the test suites of python-ecdsa and trezor-crypto), and that Sign, whose
// nonces are RFC 6979's, produces the same signature.
func TestVerifyKnownSignature(t *testing.T) {
	sig, _ := hex.DecodeString("934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8" +
		"2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5")
	one := secp256k1.PrivKeyFromBytes([]byte{1})
	if err := Method.Verify("Satoshi Nakamoto", sig, one.PubKey()); err != nil {
		t.Fatalf("known vector: %v", err)
	}
	got, err := Method.Sign("Satoshi Nakamoto", one)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != hex.EncodeToString(sig) {
		t.Errorf("Sign = %x, want %x", got, sig)
	}
	if err := Method.Verify("Satoshi Nakamoto!", sig, one.PubKey()); !errors.Is(err, jwt.ErrECDSAVerification) {
		t.Errorf("other message: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	priv, _ := secp256k1.GeneratePrivateKey()
	sig, _ := Method.Sign("x", priv)
	order, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	for name, tc := range map[string]struct {
		sig []byte
		key any
	}{
		"short":             {sig[:63], priv.PubKey()},
		"long":              {append(append([]byte{}, sig...), 0), priv.PubKey()},
		"R zero":            {append(make([]byte, 32), sig[32:]...), priv.PubKey()},
		"S zero":            {append(append([]byte{}, sig[:32]...), make([]byte, 32)...), priv.PubKey()},
		"R the group order": {append(append([]byte{}, order...), sig[32:]...), priv.PubKey()},
		"other key":         {sig, secp256k1.PrivKeyFromBytes([]byte{2}).PubKey()},
		"private key":       {sig, priv},
		"nil key":           {sig, (*secp256k1.PublicKey)(nil)},
	} {
		if err := Method.Verify("x", tc.sig, tc.key); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if err := Method.Verify("x", sig, priv.PubKey()); err != nil {
		t.Fatalf("good signature: %v", err)
	}
}

func TestParseJWKRefuses(t *testing.T) {
	x, y := hexB64(t, gx), hexB64(t, gy)
	for name, tc := range map[string]struct {
		raw  string
		want error
	}{
		"P-256":              {`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`, ErrNotSecp256k1},
		"RSA":                {`{"kty":"RSA","crv":"secp256k1"}`, ErrNotSecp256k1},
		"private":            {`{"kty":"EC","crv":"secp256k1","x":"` + x + `","y":"` + y + `","d":"AQ"}`, ErrPrivate},
		"y off the curve":    {`{"kty":"EC","crv":"secp256k1","x":"` + x + `","y":"` + x + `"}`, ErrInvalid},
		"x short":            {`{"kty":"EC","crv":"secp256k1","x":"` + x[:40] + `","y":"` + y + `"}`, ErrInvalid},
		"x padded":           {`{"kty":"EC","crv":"secp256k1","x":"` + x + `=","y":"` + y + `"}`, ErrInvalid},
		"x std alphabet":     {`{"kty":"EC","crv":"secp256k1","x":"` + strings.NewReplacer("-", "+", "_", "/").Replace(x) + `+","y":"` + y + `"}`, ErrInvalid},
		"y missing":          {`{"kty":"EC","crv":"secp256k1","x":"` + x + `"}`, ErrInvalid},
		"x a number":         {`{"kty":"EC","crv":"secp256k1","x":1,"y":"` + y + `"}`, ErrInvalid},
		"kid a number":       {`{"kty":"EC","crv":"secp256k1","x":"` + x + `","y":"` + y + `","kid":1}`, ErrInvalid},
		"not JSON":           {`{"kty":`, ErrInvalid},
		"x beyond the prime": {`{"kty":"EC","crv":"secp256k1","x":"` + strings.Repeat("_", 42) + `8","y":"` + y + `"}`, ErrInvalid},
	} {
		if _, err := ParseJWK([]byte(tc.raw)); !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v, want %v", name, err, tc.want)
		}
	}
}

// TestThumbprint checks the RFC 7638 thumbprint of G: the value below is
// both Python's hashlib over the canonical JSON in the comment and npm
// jose 4.15.9's calculateJwkThumbprint of that JWK (the differential test
// in interop/ also binds tokens to jose's thumbprints of fresh keys).
func TestThumbprint(t *testing.T) {
	one := secp256k1.PrivKeyFromBytes([]byte{1})
	// SHA-256 of {"crv":"secp256k1","kty":"EC","x":"eb5mfvncu6xVoGKVzocLBwKb_NstzijZWfKBWxb4F5g","y":"SDradyajxGVdpPv8DhEIqP0XtEimhVQZnEfQj_sQ1Lg"}
	const want = "2JF8vg9etJzjFwZwmkvhBLLZ0bfMVVOPivYR5lFtcec"
	if got := Thumbprint(one.PubKey()); got != want {
		t.Errorf("Thumbprint(G) = %s, want %s", got, want)
	}
	jwk := PublicJWK(one.PubKey())
	if jwk["x"] != "eb5mfvncu6xVoGKVzocLBwKb_NstzijZWfKBWxb4F5g" || jwk["y"] != "SDradyajxGVdpPv8DhEIqP0XtEimhVQZnEfQj_sQ1Lg" {
		t.Errorf("PublicJWK(G) = %v", jwk)
	}
}

func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"EC","crv":"secp256k1","x":"eb5mfvncu6xVoGKVzocLBwKb_NstzijZWfKBWxb4F5g","y":"SDradyajxGVdpPv8DhEIqP0XtEimhVQZnEfQj_sQ1Lg"}`))
	f.Add([]byte(`{"kty":"EC","crv":"secp256k1","x":"","y":"","d":"AQ"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := ParseJWK(raw)
		if err != nil {
			return
		}
		// A key that parses is on the curve and round-trips through its
		// canonical JWK to the same key and thumbprint.
		again, err := ParseJWK([]byte(`{"kty":"EC","crv":"secp256k1","x":"` + PublicJWK(k.Key)["x"].(string) + `","y":"` + PublicJWK(k.Key)["y"].(string) + `"}`))
		if err != nil || !again.Key.IsEqual(k.Key) || Thumbprint(again.Key) != Thumbprint(k.Key) {
			t.Fatalf("round trip of %s failed: %v", raw, err)
		}
	})
}
