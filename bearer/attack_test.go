package bearer

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// The attack suite: tokens an attacker can craft. Every row asserts the
// exact answer.

// signRaw signs the exact header and payload bytes given (for duplicate
// keys and other JSON the library would not produce).
func signRaw(t testing.TB, method jwt.SigningMethod, key any, header, payload []byte) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

func TestAttacks(t *testing.T) {
	testKeys(t)
	var fetched atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer attacker.Close()
	attackerJWK := jose.JSONWebKey{Key: &rsaOther.PublicKey, KeyID: "kid", Algorithm: "RS256"}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	cert := selfSigned(t)
	unsupported := func(alg string) string {
		return `Unsupported algorithm "` + alg + `" for JWKS-based verification. Supported: ` + asymmetricList
	}
	req := func(build func(t *testing.T, iss string) string) func(t *testing.T, iss string) *http.Request {
		return func(t *testing.T, iss string) *http.Request { return bearerReq(build(t, iss)) }
	}
	signedBy := func(method jwt.SigningMethod, key any, header map[string]any) func(t *testing.T, iss string) *http.Request {
		return req(func(t *testing.T, iss string) string { return sign(t, method, key, header, baseClaims(iss)) })
	}
	payloadJSON := func(t *testing.T, iss string) string { return string(mustJSON(t, baseClaims(iss))) }
	dup := func(first, last string) func(t *testing.T, iss string) *http.Request {
		return req(func(t *testing.T, iss string) string {
			p := payloadJSON(t, iss)
			p = strings.Replace(p, `"iss":"`+iss+`"`, `"iss":"`+strings.ReplaceAll(first, "ISS", iss)+`","iss":"`+strings.ReplaceAll(last, "ISS", iss)+`"`, 1)
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":"RS256","kid":"kid"}`), []byte(p))
		})
	}
	pinned := func(r row) row {
		r.cfg = func(c *Config) { c.TokenSigningAlg = "RS256" }
		return r
	}
	rows := []row{
		rowInvalid("alg none, empty signature", signedBy(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), unsupported("none")),
		rowInvalid("alg none with a signature", req(func(t *testing.T, iss string) string {
			good := strings.Split(rs256(t, baseClaims(iss)), ".")
			return b64([]byte(`{"alg":"none","kid":"kid"}`)) + "." + good[1] + "." + good[2]
		}), unsupported("none")),
		rowInvalid("alg NONE", req(func(t *testing.T, iss string) string {
			return rawToken([]byte(`{"alg":"NONE"}`), mustJSON(t, baseClaims(iss)), nil)
		}), unsupported("NONE")),
		rowInvalid("HS256 keyed with the RSA public key PEM", signedBy(jwt.SigningMethodHS256, rsaPubPEM, nil), unsupported("HS256")),
		rowInvalid("HS256 keyed with the RSA modulus", signedBy(jwt.SigningMethodHS256, rsaKey.PublicKey.N.Bytes(), nil), unsupported("HS256")),
		rowInvalid("embedded jwk header (attacker key)", signedBy(jwt.SigningMethodRS256, rsaOther, map[string]any{"jwk": attackerJWK, "kid": absent}), msgSignature),
		rowInvalid("jku header", signedBy(jwt.SigningMethodRS256, rsaOther, map[string]any{"jku": attacker.URL + "/jwks.json"}), msgSignature),
		rowInvalid("x5u header", signedBy(jwt.SigningMethodRS256, rsaOther, map[string]any{"x5u": attacker.URL + "/cert.pem"}), msgSignature),
		rowInvalid("x5c header", signedBy(jwt.SigningMethodRS256, rsaOther, map[string]any{"x5c": []string{cert}}), msgSignature),
		rowInvalid("attacker key under the real kid", signedBy(jwt.SigningMethodRS256, rsaOther, nil), msgSignature),
		rowInvalid("signature stripped", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "." + p[1] + "."
		}), msgSignature),
		rowInvalid("PS256 with a key published for RS256", signedBy(jwt.SigningMethodPS256, rsaKey, nil), msgNoKey),
		rowInvalid("crit with an unknown parameter", signedBy(jwt.SigningMethodRS256, rsaKey, map[string]any{"crit": []string{"exp"}, "exp": 1}), `Extension Header Parameter "exp" is not recognized`),
		rowInvalid("crit b64 (RFC 7797)", signedBy(jwt.SigningMethodRS256, rsaKey, map[string]any{"crit": []string{"b64"}, "b64": false}), msgUnencoded),
		rowInvalid("crit empty", signedBy(jwt.SigningMethodRS256, rsaKey, map[string]any{"crit": []string{}}), msgCritArray),
		// A kid that is not a string is no kid, as in jose.
		ok("kid not a string", signedBy(jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": 7})),
		rowInvalid("alg missing", req(func(t *testing.T, iss string) string {
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"kid":"kid"}`), mustJSON(t, baseClaims(iss)))
		}), msgAlgMissing),
		rowInvalid("alg not a string", req(func(t *testing.T, iss string) string {
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":["RS256"],"kid":"kid"}`), mustJSON(t, baseClaims(iss)))
		}), msgAlgMissing),
		rowInvalid("alg with a newline is not echoed", req(func(t *testing.T, iss string) string {
			return rawToken([]byte(`{"alg":"RS256\r\nX-Evil: 1"}`), mustJSON(t, baseClaims(iss)), []byte("x"))
		}), unsupported("(unprintable)")),
		rowInvalid("truncated signature", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "." + p[1] + "." + p[2][:len(p[2])/4*4-4]
		}), msgSignature),
		rowInvalid("truncated to two segments", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "." + p[1]
		}), msgFormatting),
		rowInvalid("four segments", req(func(t *testing.T, iss string) string { return rs256(t, baseClaims(iss)) + ".x" }), msgFormatting),
		rowInvalid("standard base64 alphabet", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "." + p[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(p[2]) + "+/"
		}), msgSignature), // a signature segment that does not decode is a signature that does not verify
		rowInvalid("standard base64 alphabet in the payload", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "." + p[1] + "+/." + p[2]
		}), msgSignature), // the signature is checked before the payload is decoded, as in jose
		rowInvalid("padded segment", req(func(t *testing.T, iss string) string {
			p := strings.Split(rs256(t, baseClaims(iss)), ".")
			return p[0] + "=." + p[1] + "." + p[2]
		}), msgSignature), // read as jose reads it, then the signature fails
		rowInvalid("payload a JSON array", req(func(t *testing.T, iss string) string {
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":"RS256","kid":"kid"}`), []byte(`[1,2]`))
		}), msgClaimsObject),
		rowInvalid("header not JSON", req(func(t *testing.T, iss string) string {
			return rawToken([]byte(`{"alg":"RS256"`), mustJSON(t, baseClaims(iss)), []byte("x"))
		}), msgFormatting),
		rowInvalid("oversized token", req(func(t *testing.T, iss string) string {
			return rs256(t, with(baseClaims(iss), map[string]any{"pad": strings.Repeat("x", DefaultMaxTokenBytes)}))
		}), msgTooLarge),
		// Duplicate keys: the last one wins, as in JSON.parse, and the
		// signature and the claim checks read the same decoded value.
		ok("duplicate iss, the good one last", dup("https://evil.example.com/", "ISS")),
		rowInvalid("duplicate iss, the good one first", dup("ISS", "https://evil.example.com/"), "Unexpected 'iss' value"),
		rowInvalid("duplicate alg in the header, none last", req(func(t *testing.T, iss string) string {
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":"RS256","kid":"kid","alg":"none"}`), mustJSON(t, baseClaims(iss)))
		}), unsupported("none")),
		ok("deeply nested claim (depth 4000)", req(func(t *testing.T, iss string) string {
			p := payloadJSON(t, iss)
			p = p[:len(p)-1] + `,"deep":` + strings.Repeat("[", 4000) + strings.Repeat("]", 4000) + "}"
			return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":"RS256","kid":"kid"}`), []byte(p))
		})),
		func() row {
			r := rowInvalid("nesting beyond the JSON decoder's depth limit", req(func(t *testing.T, iss string) string {
				p := payloadJSON(t, iss)
				p = p[:len(p)-1] + `,"deep":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}"
				return signRaw(t, jwt.SigningMethodRS256, rsaKey, []byte(`{"alg":"RS256","kid":"kid"}`), []byte(p))
			}), msgClaimsObject)
			r.cfg = func(c *Config) { c.MaxTokenBytes = 1 << 20 }
			return r
		}(),
		pinned(rowInvalid("pinned RS256: ES256 token signed by the set's EC key", signedBy(jwt.SigningMethodES256, ecKey, map[string]any{"kid": "eckid"}), msgUnexpectedAlg)),
		pinned(rowInvalid("pinned RS256: EdDSA token signed by the set's Ed25519 key", signedBy(jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": "edkid"}), msgUnexpectedAlg)),
		// Without the pin the same tokens are good: the rows above fail for
		// the pin alone.
		func() row {
			r := ok("unpinned: ES256 by the EC key", signedBy(jwt.SigningMethodES256, ecKey, map[string]any{"kid": "eckid"}))
			r.only = "static"
			return r
		}(),
		func() row {
			r := ok("unpinned: EdDSA by the Ed25519 key", signedBy(jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": "edkid"}))
			r.only = "static"
			return r
		}(),
		rowInvalid("ES256 token under the RSA key's kid", signedBy(jwt.SigningMethodES256, ecKey, nil), msgNoKey),
	}
	// The suite runs on a key set with RSA, EC and Ed25519 keys.
	saved := modes
	defer func() { modes = saved }()
	modes = []mode{
		{"static", func(t *testing.T) (Config, string) {
			return Config{
				Audience: []string{testAudience},
				Issuer:   testIssuer,
				PublicKey: jwksJSON(t,
					jwk(&rsaKey.PublicKey, "kid", "RS256"),
					jwk(&ecKey.PublicKey, "eckid", "ES256"),
					jwk(edKey.Public(), "edkid", "EdDSA")),
				Now: fixedNow,
			}, testIssuer
		}},
		{"discovery", func(t *testing.T) (Config, string) {
			idp := newFakeIdP(t, jwksJSON(t,
				jwk(&rsaKey.PublicKey, "kid", "RS256"),
				jwk(&ecKey.PublicKey, "eckid", "ES256"),
				jwk(edKey.Public(), "edkid", "EdDSA")))
			idp.algs = asymmetricAlgs
			cfg := Config{Audience: []string{testAudience}, IssuerBaseURL: idp.URL, Now: fixedNow}
			requireKeyset(t, cfg)
			return cfg, idp.issuer()
		}},
	}
	runRows(t, rows)
	if n := fetched.Load(); n != 0 {
		t.Errorf("the attacker's server was fetched %d times", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// selfSigned returns a base64 DER certificate for the attacker's key.
func selfSigned(t *testing.T) string {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaOther.PublicKey, rsaOther)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}
