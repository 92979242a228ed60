package interop

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/taskapi/taskapi/bearer"
)

// The algorithms of every challenge, in express-oauth2-jwt-bearer 1.10's
// order.
const dpopAlgs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES256K ES384 ES512 EdDSA"`

// Answers of the Node library, by kind.
func unauthorized() answer {
	return answer{401, "ERR_AUTH", "Unauthorized", `Bearer realm="api", DPoP ` + dpopAlgs}
}

// noInfo is a 400 without error information; its message is Node's "".
func noInfo() answer { return answer{400, "ERR_AUTH", "", `Bearer realm="api", DPoP ` + dpopAlgs} }

func ok() answer { return answer{Status: 200} }

func badToken(msg string) answer {
	return answer{401, "invalid_token", msg, `Bearer realm="api", error="invalid_token", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `", DPoP ` + dpopAlgs}
}

// badTokenNoScheme is badToken for a token from the query or the body.
func badTokenNoScheme(msg string) answer { return badToken(msg) }

func badRequest(msg string) answer {
	return answer{400, "invalid_request", msg, `Bearer realm="api", error="invalid_request", error_description="` + msg + `", DPoP ` + dpopAlgs}
}

// dpopBadToken and dpopBadProof are failures under the DPoP scheme.
func dpopBadToken(msg string) answer {
	return answer{401, "invalid_token", msg, `Bearer realm="api", DPoP error="invalid_token", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `", ` + dpopAlgs}
}

func dpopBadProof(msg string) answer {
	return answer{400, "invalid_dpop_proof", msg, `Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `", ` + dpopAlgs}
}

// differentialCase is one request. want is the answer of both sides; node,
// when set, is the Node library's own where this package is deliberately
// stricter (DIFFERENCES.md says why), and noInfoMessage marks the 400s
// without error information, whose message this package words itself.
type differentialCase struct {
	name          string
	build         func(base string) spec
	want          answer
	node          *answer
	noInfoMessage bool
}

// TestDifferentialExpress sends the same requests to package bearer and to
// express-oauth2-jwt-bearer 1.10 (nodebearer/server.js, the tutorial's
// configuration), both verifying against one identity provider, and
// compares the status, the body's code and message, and the whole
// WWW-Authenticate value with the table, which records the Node library's
// answers. Tokens are signed by golang-jwt, by package bearer's ES256K
// method, and, for ES256K tokens and DPoP proofs, by npm jose.
func TestDifferentialExpress(t *testing.T) {
	idp := startSharedIdP(t)
	const aud = "task-manager-api"
	node := startNodeBearer(t, idp.Issuer, aud)
	v, err := bearer.New(bearer.Config{IssuerBaseURL: idp.Issuer, Audience: []string{aud}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	goSide := httptest.NewServer(v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := bearer.FromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject()})
	})))
	t.Cleanup(goSide.Close)
	if err := v.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}

	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": idp.Issuer, "sub": "user-1", "aud": aud, "iat": now(), "exp": now() + 3600}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	rs256 := func(c map[string]any) string {
		return signCompact(t, "RS256", idp.rsa, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "rsa"}, b64JSON(c))
	}
	withHeader := func(h map[string]any, c map[string]any, alg string, key any) string {
		return signCompact(t, alg, key, h, b64JSON(c))
	}
	k1Header := map[string]any{"alg": "ES256K", "typ": "JWT", "kid": "k1"}
	es256k := func(c map[string]any) string { return signCompact(t, "ES256K", idp.k1, k1Header, b64JSON(c)) }
	es256kByJose := func(c map[string]any) string {
		return joseCall(t, node, map[string]any{"op": "sign", "jwk": k1PrivateJWK(idp.k1), "header": k1Header, "payload": c})
	}
	valid := rs256(claims(nil))
	parts := strings.Split(valid, ".")
	bearerHeader := func(tok string) func(string) spec {
		return func(string) spec { return spec{headers: [][2]string{{"Authorization", "Bearer " + tok}}} }
	}
	header := func(kv ...string) func(string) spec {
		return func(string) spec {
			var hs [][2]string
			for i := 0; i+1 < len(kv); i += 2 {
				hs = append(hs, [2]string{kv[i], kv[i+1]})
			}
			return spec{headers: hs}
		}
	}
	// flipS turns an ES256K signature (R || S) into (R || N-S): the same
	// signature for ECDSA, which neither side refuses.
	flipS := func(tok string) string {
		i := strings.LastIndex(tok, ".")
		sig, _ := b64Decode(tok[i+1:])
		n := secp256k1.S256().N
		s := new(big.Int).SetBytes(sig[32:])
		s.Sub(n, s).FillBytes(sig[32:])
		return tok[:i+1] + b64(sig)
	}
	replaceSig := func(tok string, sig []byte) string { return tok[:strings.LastIndex(tok, ".")+1] + b64(sig) }
	tamper := func(tok string, seg int, at int, c string) string {
		p := strings.Split(tok, ".")
		s := p[seg]
		if at < 0 {
			at = len(s) + at
		}
		if s[at:at+1] == c {
			// The token (its claims hold the time, its ES256K signature
			// is random) already has c there: change it all the same.
			c = map[bool]string{true: "B", false: "A"}[c == "A"]
		}
		p[seg] = s[:at] + c + s[at+1:]
		return strings.Join(p, ".")
	}

	// DPoP: a P-256 or secp256k1 proof key, the token bound to it.
	proofK1, _ := secp256k1.GeneratePrivateKey()
	proofK1JWK := k1JWK(proofK1.PubKey())
	k1Thumb := joseCall(t, node, map[string]any{"op": "thumbprint", "jwk": proofK1JWK})
	boundK1 := rs256(claims(map[string]any{"cnf": map[string]any{"jkt": k1Thumb}}))
	proof := func(base, tok string, byJose bool) string {
		h := map[string]any{"typ": "dpop+jwt", "alg": "ES256K", "jwk": proofK1JWK}
		c := map[string]any{"htm": "GET", "htu": base + "/tasks", "iat": now(), "jti": randomID(), "ath": ath(tok)}
		if byJose {
			return joseCall(t, node, map[string]any{"op": "sign", "jwk": k1PrivateJWK(proofK1), "header": h, "payload": c})
		}
		return signCompact(t, "ES256K", proofK1, h, b64JSON(c))
	}
	dpop := func(tok string, mkProof func(base string) string) func(string) spec {
		return func(base string) spec {
			return spec{headers: [][2]string{{"Authorization", "DPoP " + tok}, {"DPoP", mkProof(base)}}}
		}
	}

	// The Node library keeps the first of two Authorization headers, and
	// its base64url decoder skips characters outside the alphabet, so it
	// accepts a token with such characters appended to its signature.
	twoAuth, lenient := answer{Status: 200}, answer{Status: 200}
	cases := []differentialCase{
		// The request's headers.
		{name: "no credentials", build: header(), want: unauthorized()},
		{name: "Authorization empty", build: header("Authorization", ""), want: noInfo(), noInfoMessage: true},
		{name: "Bearer without a token", build: header("Authorization", "Bearer"), want: noInfo(), noInfoMessage: true},
		{name: "Basic scheme", build: header("Authorization", "Basic dXNlcjpwYXNz"), want: noInfo(), noInfoMessage: true},
		{name: "Bearer a b", build: header("Authorization", "Bearer a b"), want: noInfo(), noInfoMessage: true},
		{name: "lower-case bearer", build: header("Authorization", "bearer "+valid), want: ok()},
		{name: "DPoP scheme without a proof", build: header("Authorization", "DPoP "+valid), want: noInfo(), noInfoMessage: true},
		{name: "DPoP proof without Authorization", build: header("DPoP", "x.y.z"), want: noInfo(), noInfoMessage: true},
		{name: "Bearer with a DPoP proof", build: header("Authorization", "Bearer "+valid, "DPoP", "x.y.z"), want: badRequest("DPoP proof requires the DPoP authentication scheme, not Bearer")},
		{name: "query token", build: func(string) spec { return spec{path: "/tasks?access_token=" + url.QueryEscape(valid)} }, want: ok()},
		{name: "query and header", build: func(string) spec {
			return spec{path: "/tasks?access_token=" + valid, headers: [][2]string{{"Authorization", "Bearer " + valid}}}
		}, want: badRequest("More than one method used for authentication")},
		{name: "form body token", build: func(string) spec {
			return spec{method: "POST", contentType: "application/x-www-form-urlencoded", body: "access_token=" + valid}
		}, want: ok()},
		{name: "form body and header", build: func(string) spec {
			return spec{method: "POST", contentType: "application/x-www-form-urlencoded", body: "access_token=" + valid, headers: [][2]string{{"Authorization", "Bearer " + valid}}}
		}, want: badRequest("More than one method used for authentication")},
		{name: "JSON body token", build: func(string) spec {
			return spec{method: "POST", contentType: "application/json", body: `{"access_token":"` + valid + `"}`}
		}, want: noInfo(), noInfoMessage: true},
		{name: "two Authorization headers", build: header("Authorization", "Bearer "+valid, "Authorization", "Bearer x"), want: noInfo(), noInfoMessage: true, node: &twoAuth},
		{name: "query token, bad", build: func(string) spec { return spec{path: "/tasks?access_token=garbage"} }, want: badTokenNoScheme("Invalid Token or Protected Header formatting")},

		// The token's form.
		{name: "valid RS256", build: bearerHeader(valid), want: ok()},
		{name: "garbage", build: bearerHeader("garbage"), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "a.b.c", build: bearerHeader("a.b.c"), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "two segments", build: bearerHeader(parts[0] + "." + parts[1]), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "four segments", build: bearerHeader(valid + ".x"), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "five segments", build: bearerHeader(valid + ".x.y"), want: badToken("Invalid Compact JWS")},
		{name: "empty header segment", build: bearerHeader("." + parts[1] + "." + parts[2]), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "header a JSON array", build: bearerHeader(b64JSON([]int{1}) + "." + parts[1] + "." + parts[2]), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "payload with a non-base64url character", build: bearerHeader(tamper(valid, 1, 10, "!")), want: badToken("signature verification failed")},
		{name: "payload with another character", build: bearerHeader(tamper(valid, 1, 10, "A")), want: badToken("signature verification failed")},
		{name: "payload with a standard base64 character", build: bearerHeader(tamper(valid, 1, 10, "+")), want: badToken("signature verification failed")},
		{name: "empty payload segment", build: bearerHeader(parts[0] + ".." + parts[2]), want: badToken("signature verification failed")},
		{name: "signature changed", build: bearerHeader(tamper(valid, 2, 20, "A")), want: badToken("signature verification failed")},
		{name: "header with a non-base64url character", build: bearerHeader(tamper(valid, 0, 5, "!")), want: badToken("Invalid Token or Protected Header formatting")},
		{name: "header with padding", build: bearerHeader(parts[0] + "=." + parts[1] + "." + parts[2]), want: badToken("signature verification failed")},
		{name: "header in the standard alphabet with a character appended", build: bearerHeader(parts[0] + "+." + parts[1] + "." + parts[2]), want: badToken("signature verification failed")},
		{name: "signature with a character appended", build: bearerHeader(valid + "!"), want: badToken("signature verification failed"), node: &lenient},
		{name: "signature with padding", build: bearerHeader(valid + "=="), want: badToken("signature verification failed"), node: &lenient},
		{name: "payload with padding", build: bearerHeader(parts[0] + "." + parts[1] + "==." + parts[2]), want: badToken("signature verification failed")},
		{name: "signature missing", build: bearerHeader(parts[0] + "." + parts[1] + "."), want: badToken("signature verification failed")},
		{name: "payload a JSON array", build: bearerHeader(rs256Raw(t, idp, b64JSON([]int{1}))), want: badToken("JWT Claims Set must be a top-level JSON object")},
		{name: "payload null", build: bearerHeader(rs256Raw(t, idp, b64([]byte("null")))), want: badToken("JWT Claims Set must be a top-level JSON object")},
		{name: "payload not JSON", build: bearerHeader(rs256Raw(t, idp, b64([]byte("not json")))), want: badToken("JWT Claims Set must be a top-level JSON object")},

		// The algorithm and the key.
		{name: "alg none", build: bearerHeader(b64JSON(map[string]any{"alg": "none"}) + "." + parts[1] + "."), want: badToken(`Unsupported algorithm "none" for JWKS-based verification. Supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA`)},
		{name: "alg HS256", build: bearerHeader(withHeader(map[string]any{"alg": "HS256", "kid": "rsa"}, claims(nil), "HS256", []byte("0123456789abcdef0123456789abcdef"))), want: badToken(`Unsupported algorithm "HS256" for JWKS-based verification. Supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512, EdDSA`)},
		{name: "alg missing", build: bearerHeader(b64JSON(map[string]any{"typ": "JWT"}) + "." + parts[1] + "." + parts[2]), want: badToken(`Token header missing or invalid "alg" claim`)},
		{name: "alg a number", build: bearerHeader(b64JSON(map[string]any{"alg": 256}) + "." + parts[1] + "." + parts[2]), want: badToken(`Token header missing or invalid "alg" claim`)},
		{name: "RS384 for an RS256 key", build: bearerHeader(withHeader(map[string]any{"alg": "RS384", "kid": "rsa"}, claims(nil), "RS384", idp.rsa)), want: badToken("no applicable key found in the JSON Web Key Set")},
		{name: "PS512 not in the discovery metadata", build: bearerHeader(withHeader(map[string]any{"alg": "PS512", "kid": "rsa-any"}, claims(nil), "PS512", idp.rsaAny)), want: badToken("Unexpected 'alg' value")},
		{name: "PS256 with the key without alg", build: bearerHeader(withHeader(map[string]any{"alg": "PS256", "kid": "rsa-any"}, claims(nil), "PS256", idp.rsaAny)), want: ok()},
		{name: "kid unknown", build: bearerHeader(withHeader(map[string]any{"alg": "RS256", "kid": "nope"}, claims(nil), "RS256", idp.rsa)), want: badToken("no applicable key found in the JSON Web Key Set")},
		{name: "kid missing, one RS256 key fits", build: bearerHeader(withHeader(map[string]any{"alg": "RS256"}, claims(nil), "RS256", idp.rsa)), want: badToken("multiple matching keys found in the JSON Web Key Set")},
		{name: "kid missing, ES256K", build: bearerHeader(withHeader(map[string]any{"alg": "ES256K"}, claims(nil), "ES256K", idp.k1)), want: ok()},
		{name: "kid a number", build: bearerHeader(withHeader(map[string]any{"alg": "ES256", "kid": 7}, claims(nil), "ES256", idp.p256)), want: ok()},
		{name: "valid ES256", build: bearerHeader(withHeader(map[string]any{"alg": "ES256", "kid": "p256"}, claims(nil), "ES256", idp.p256)), want: ok()},
		{name: "ES256 naming the secp256k1 key", build: bearerHeader(withHeader(map[string]any{"alg": "ES256", "kid": "k1"}, claims(nil), "ES256", idp.p256)), want: badToken("no applicable key found in the JSON Web Key Set")},

		// ES256K.
		{name: "ES256K signed by bearer", build: bearerHeader(es256k(claims(nil))), want: ok()},
		{name: "ES256K signed by npm jose", build: bearerHeader(es256kByJose(claims(nil))), want: ok()},
		{name: "ES256K with S and N-S swapped", build: bearerHeader(flipS(es256k(claims(nil)))), want: ok()},
		{name: "ES256K signature changed", build: bearerHeader(tamper(es256k(claims(nil)), 2, 5, "A")), want: badToken("signature verification failed")},
		{name: "ES256K payload changed", build: bearerHeader(tamper(es256kByJose(claims(nil)), 1, 12, "~")), want: badToken("signature verification failed")},
		{name: "ES256K signature too short", build: bearerHeader(replaceSig(es256k(claims(nil)), make([]byte, 63))), want: badToken("signature verification failed")},
		{name: "ES256K R above the group order", build: bearerHeader(replaceSig(es256k(claims(nil)), bytesOf(0xff, 64))), want: badToken("signature verification failed")},
		{name: "ES256K naming the P-256 key", build: bearerHeader(withHeader(map[string]any{"alg": "ES256K", "kid": "p256"}, claims(nil), "ES256K", idp.k1)), want: badToken("no applicable key found in the JSON Web Key Set")},
		{name: "ES256K expired", build: bearerHeader(es256k(claims(map[string]any{"exp": now() - 10}))), want: badToken(`"exp" claim timestamp check failed`)},

		// The claims.
		{name: "expired", build: bearerHeader(rs256(claims(map[string]any{"exp": now() - 10}))), want: badToken(`"exp" claim timestamp check failed`)},
		{name: "expired inside the tolerance", build: bearerHeader(rs256(claims(map[string]any{"exp": now() - 1}))), want: ok()},
		{name: "nbf ahead", build: bearerHeader(rs256(claims(map[string]any{"nbf": now() + 60}))), want: badToken(`"nbf" claim timestamp check failed`)},
		{name: "nbf inside the tolerance", build: bearerHeader(rs256(claims(map[string]any{"nbf": now() + 2}))), want: ok()},
		{name: "exp a string", build: bearerHeader(rs256(claims(map[string]any{"exp": "soon"}))), want: badToken(`"exp" claim must be a number`)},
		{name: "nbf false", build: bearerHeader(rs256(claims(map[string]any{"nbf": false}))), want: badToken(`"nbf" claim must be a number`)},
		{name: "iat a string", build: bearerHeader(rs256(claims(map[string]any{"iat": "now"}))), want: badToken(`"iat" claim must be a number`)},
		{name: "exp missing", build: bearerHeader(rs256(claims(map[string]any{"exp": nil}))), want: badToken("Unexpected 'exp' value")},
		{name: "aud wrong", build: bearerHeader(rs256(claims(map[string]any{"aud": "other-api"}))), want: badToken("Unexpected 'aud' value")},
		{name: "aud missing", build: bearerHeader(rs256(claims(map[string]any{"aud": nil}))), want: badToken("Unexpected 'aud' value")},
		{name: "aud an array with ours", build: bearerHeader(rs256(claims(map[string]any{"aud": []string{"x", aud}}))), want: ok()},
		{name: "iss wrong", build: bearerHeader(rs256(claims(map[string]any{"iss": "https://evil.example.com/"}))), want: badToken("Unexpected 'iss' value")},
		{name: "iss without the trailing slash", build: bearerHeader(rs256(claims(map[string]any{"iss": idp.URL}))), want: badToken("Unexpected 'iss' value")},
		{name: "iss missing", build: bearerHeader(rs256(claims(map[string]any{"iss": nil}))), want: badToken("Unexpected 'iss' value")},
		{name: "expired and aud wrong", build: bearerHeader(rs256(claims(map[string]any{"exp": now() - 10, "aud": "x"}))), want: badToken(`"exp" claim timestamp check failed`)},
		{name: "PS512 expired", build: bearerHeader(withHeader(map[string]any{"alg": "PS512", "kid": "rsa-any"}, claims(map[string]any{"exp": now() - 10}), "PS512", idp.rsaAny)), want: badToken(`"exp" claim timestamp check failed`)},
		{name: "crit unknown", build: bearerHeader(withHeader(map[string]any{"alg": "RS256", "kid": "rsa", "crit": []string{"exp"}, "exp": 1}, claims(nil), "RS256", idp.rsa)), want: badToken(`Extension Header Parameter "exp" is not recognized`)},
		{name: "crit empty", build: bearerHeader(withHeader(map[string]any{"alg": "RS256", "kid": "rsa", "crit": []string{}}, claims(nil), "RS256", idp.rsa)), want: badToken(`"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present`)},
		{name: "crit b64 true", build: bearerHeader(withHeader(map[string]any{"alg": "RS256", "kid": "rsa", "crit": []string{"b64"}, "b64": true}, claims(nil), "RS256", idp.rsa)), want: ok()},
		{name: "crit b64 false", build: bearerHeader(withHeader(map[string]any{"alg": "RS256", "kid": "rsa", "crit": []string{"b64"}, "b64": false}, claims(nil), "RS256", idp.rsa)), want: badToken("JWTs MUST NOT use unencoded payload")},

		// DPoP with ES256K proofs.
		{name: "DPoP, ES256K proof by npm jose", build: dpop(boundK1, func(base string) string { return proof(base, boundK1, true) }), want: ok()},
		{name: "DPoP, ES256K proof by bearer", build: dpop(boundK1, func(base string) string { return proof(base, boundK1, false) }), want: ok()},
		{name: "DPoP, ES256K proof changed", build: dpop(boundK1, func(base string) string { return tamper(proof(base, boundK1, true), 2, 7, "A") }), want: dpopBadProof("signature verification failed")},
		{name: "DPoP, ES256K proof for another token", build: dpop(boundK1, func(base string) string { return proof(base, valid, false) }), want: dpopBadProof(`DPoP Proof "ath" mismatch`)},
		{name: "DPoP, token bound to another key", build: dpop(rs256(claims(map[string]any{"cnf": map[string]any{"jkt": ath("other")}})), func(base string) string { return proof(base, "", false) }), want: dpopBadProof(`DPoP Proof "ath" mismatch`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := send(t, goSide.URL, c.build(goSide.URL))
			want := c.want
			if c.noInfoMessage {
				want.Error = got.Error // this package says what is wrong (DIFFERENCES.md)
			}
			if got != want {
				t.Errorf("bearer answered %+v\n                      want %+v", got, want)
			}
			nodeGot := send(t, node, c.build(node))
			nodeWant := c.want
			if c.node != nil {
				nodeWant = *c.node
			}
			if c.want.Status == 200 || (c.node != nil && c.node.Status == 200) {
				nodeGot.Code, nodeGot.Error = "", ""
			}
			if nodeGot != nodeWant {
				t.Errorf("express-oauth2-jwt-bearer answered %+v\n                                  want %+v", nodeGot, nodeWant)
			}
		})
	}
}

// rs256Raw signs a raw payload segment with the RS256 key.
func rs256Raw(t *testing.T, idp *sharedIdP, payloadSegment string) string {
	return signCompact(t, "RS256", idp.rsa, map[string]any{"alg": "RS256", "kid": "rsa"}, payloadSegment)
}

func bytesOf(b byte, n int) []byte { return []byte(strings.Repeat(string([]byte{b}), n)) }

func b64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// randomID is a fresh DPoP proof "jti".
func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return b64(b)
}
