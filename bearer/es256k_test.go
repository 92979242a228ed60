package bearer

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer/internal/es256k"
)

// TestES256KStaticKey: an ES256K token against a secp256k1 JWK given as
// PublicKey, with a good, a changed and another key's signature, and the
// method golang-jwt finds by name.
func TestES256KStaticKey(t *testing.T) {
	priv, _ := secp256k1.GeneratePrivateKey()
	other, _ := secp256k1.GeneratePrivateKey()
	jwk := es256k.PublicJWK(priv.PubKey())
	jwk["kid"], jwk["alg"] = "k1", "ES256K"
	pub, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, PublicKey: pub, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if jwt.GetSigningMethod("ES256K") == nil {
		t.Fatal("ES256K is not registered with golang-jwt")
	}
	header := []byte(`{"alg":"ES256K","kid":"k1"}`)
	claims := mustJSON(t, baseClaims(testIssuer))
	for _, tc := range []struct {
		name, token, want string
	}{
		{"good", signRaw(t, SigningMethodES256K, priv, header, claims), ""},
		{"other key", signRaw(t, SigningMethodES256K, other, header, claims), msgSignature},
		{"ES256 alg on the secp256k1 key", signRaw(t, SigningMethodES256K, priv, []byte(`{"alg":"ES256","kid":"k1"}`), claims), msgNoKey},
	} {
		_, err := v.Verify(context.Background(), tc.token)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.want)
		}
	}
}
