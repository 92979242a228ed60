package bearer

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The DPoP suite mirrors the token-verifier and dpop-verifier test groups
// of express-oauth2-jwt-bearer 1.10 through the middleware: every row
// asserts the status, the exact body and the exact WWW-Authenticate. Proofs
// are signed with go-jose; only deliberately malformed ones are assembled
// from marshalled bytes.

const (
	dpopURL   = "https://api.example.com/tasks"
	dpopAlgs  = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES256K ES384 ES512 EdDSA"`
	dpopBareD = `Bearer realm="api", DPoP ` + dpopAlgs
)

// proofKey is a client's DPoP key: its signing key, algorithm and RFC
// 7638 thumbprint.
type dpopKey struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	jkt  string
}

func newDPoPKey(t testing.TB, priv crypto.Signer, alg jose.SignatureAlgorithm) dpopKey {
	t.Helper()
	pub := jose.JSONWebKey{Key: priv.Public()}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{priv: priv, alg: alg, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// Client keys: ES256 (the default), RS256 and EdDSA.
func esClient(t testing.TB) dpopKey { testKeys(t); return newDPoPKey(t, ecKey, jose.ES256) }
func rsClient(t testing.TB) dpopKey { testKeys(t); return newDPoPKey(t, rsaKey2, jose.RS256) }
func edClient(t testing.TB) dpopKey { testKeys(t); return newDPoPKey(t, edKey, jose.EdDSA) }

var jtiSeq atomic.Int64

// proofClaims are a valid proof's claims for a GET of dpopURL with token.
func proofClaims(token string) map[string]any {
	sum := sha256.Sum256([]byte(token))
	return map[string]any{
		"htm": "GET",
		"htu": dpopURL,
		"iat": testNow.Unix(),
		"jti": fmt.Sprintf("jti-%d", jtiSeq.Add(1)),
		"ath": base64.RawURLEncoding.EncodeToString(sum[:]),
	}
}

// signProof signs claims with k through go-jose: typ dpop+jwt and the
// public jwk embedded, unless header overrides say otherwise ("typ" or
// "jwk" absent removes them; other values are added as header members).
func signProof(t testing.TB, k dpopKey, header, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: true}
	opts = opts.WithType("dpop+jwt")
	for name, val := range header {
		switch {
		case name == "typ" && val == absent:
			delete(opts.ExtraHeaders, jose.HeaderType)
		case name == "jwk" && val == absent:
			opts.EmbedJWK = false
		case name == "jwk":
			opts.EmbedJWK = false
			opts.WithHeader("jwk", val)
		default:
			opts.WithHeader(jose.HeaderKey(name), val)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	jws, err := signer.Sign(mustJSON(t, claims))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// boundToken is an access token bound to k (cnf.jkt), with claim
// overrides.
func boundToken(t testing.TB, k dpopKey, over map[string]any) string {
	return rs256(t, with(with(baseClaims(testIssuer), map[string]any{"cnf": map[string]any{"jkt": k.jkt}}), over))
}

// dpopReq is a GET of dpopURL with "Authorization: <scheme> <token>" and
// the given DPoP header values.
func dpopReq(scheme, token string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, dpopURL, nil)
	if scheme != "" {
		r.Header.Set("Authorization", scheme+" "+token)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// validDPoP is a request with a bound token and its valid proof.
func validDPoP(t testing.TB, k dpopKey) *http.Request {
	tok := boundToken(t, k, nil)
	return dpopReq("DPoP", tok, signProof(t, k, nil, proofClaims(tok)))
}

// withProof builds a DPoP request for a token bound to k whose proof has
// the claim and header overrides applied.
func withProof(k dpopKey, header, over map[string]any) func(t *testing.T) *http.Request {
	return func(t *testing.T) *http.Request {
		tok := boundToken(t, k, nil)
		return dpopReq("DPoP", tok, signProof(t, k, header, with(proofClaims(tok), over)))
	}
}

type dpopRow struct {
	name      string
	cfg       func(*Config)
	req       func(t *testing.T) *http.Request
	status    int
	body      string
	challenge string
}

func staticConfig(t testing.TB) Config {
	testKeys(t)
	return Config{
		Audience:  []string{testAudience},
		Issuer:    testIssuer,
		PublicKey: jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")),
		Now:       fixedNow,
	}
}

func runDPoPRows(t *testing.T, rows []dpopRow) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			cfg := staticConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			v, err := New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			checkResponse(t, serve(v, tc.req(t)), tc.status, tc.body, tc.challenge)
		})
	}
}

// Expected answers.
func proofFail(msg string) (int, string, string) {
	return 400, body(msg, CodeInvalidDPoPProof),
		`Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `", ` + dpopAlgs
}

func proofRow(name string, req func(t *testing.T) *http.Request, msg string) dpopRow {
	s, b, c := proofFail(msg)
	return dpopRow{name: name, req: req, status: s, body: b, challenge: c}
}

// tokenFailDPoP is a 401 invalid_token of a request with the DPoP scheme.
func tokenFailDPoP(name string, req func(t *testing.T) *http.Request, msg string) dpopRow {
	return dpopRow{name: name, req: req, status: 401, body: body(msg, CodeInvalidToken),
		challenge: `Bearer realm="api", DPoP error="invalid_token", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `", ` + dpopAlgs}
}

func okRow(name string, req func(t *testing.T) *http.Request) dpopRow {
	return dpopRow{name: name, req: req, status: 200, body: okBody, challenge: "-"}
}

func required(c *Config) { c.DPoP.Required = true }
func disabled(c *Config) { c.DPoP.Disabled = true }

// token-verifier.test.ts, "allowed" mode (the default).
func TestDPoPAllowedMode(t *testing.T) {
	es := esClient(t)
	plain := func(t testing.TB) string { return rs256(t, baseClaims(testIssuer)) }
	rows := []dpopRow{
		okRow("ES256 proof", func(t *testing.T) *http.Request { return validDPoP(t, es) }),
		okRow("RS256 proof", func(t *testing.T) *http.Request { return validDPoP(t, rsClient(t)) }),
		okRow("EdDSA proof", func(t *testing.T) *http.Request { return validDPoP(t, edClient(t)) }),
		okRow("lower-case scheme", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("dpop", tok, signProof(t, es, nil, proofClaims(tok)))
		}),
		okRow("plain Bearer token", func(t *testing.T) *http.Request { return dpopReq("Bearer", plain(t)) }),
		// Accepted since express-oauth2-jwt-bearer 1.9.2; refused here (see
		// TestMultipleConfirmationClaims).
		tokenFailDPoP("cnf with jkt and other members", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": map[string]any{"jkt": es.jkt, "ext": 1}})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgMultipleConfirm),
		{name: "Bearer with a DPoP proof header", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", plain(t), "some-proof") },
			status: 400, body: body(msgBearerWithProof, CodeInvalidRequest),
			challenge: `Bearer realm="api", error="invalid_request", error_description="DPoP proof requires the DPoP authentication scheme, not Bearer", DPoP ` + dpopAlgs},
		{name: "malformed Bearer header with a proof", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "", "proof.jwt")
			r.Header.Set("Authorization", "bearer ")
			return r
		}, status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: dpopBareD},
		{name: "invalid Bearer token with a proof header", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", "invalid_token", "valid.dpop.proof") },
			status: 401, body: body(msgFormatting, CodeInvalidToken),
			challenge: `Bearer realm="api", error="invalid_token", error_description="Invalid Token or Protected Header formatting", DPoP ` + dpopAlgs},
		{name: "DPoP-bound token as Bearer", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", boundToken(t, es, nil)) },
			status: 401, body: body(msgBoundAsBearer, CodeInvalidToken),
			challenge: `Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP authentication scheme, not Bearer.", DPoP ` + dpopAlgs},
		{name: "DPoP-bound token as Bearer with its proof", req: func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("Bearer", tok, signProof(t, es, nil, proofClaims(tok)))
		}, status: 401, body: body(msgBoundAsBearer, CodeInvalidToken),
			challenge: `Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP authentication scheme, not Bearer.", DPoP ` + dpopAlgs},
		{name: "DPoP scheme without a proof", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", boundToken(t, es, nil)) },
			status: 400, body: body(msgNoProof, "ERR_AUTH"), challenge: dpopBareD},
		{name: "DPoP scheme, invalid token, no proof", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", "x.y.z") },
			status: 400, body: body(msgNoProof, "ERR_AUTH"), challenge: dpopBareD},
		tokenFailDPoP("DPoP scheme, unbound token with a proof", func(t *testing.T) *http.Request {
			tok := plain(t)
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgNoJKT),
		tokenFailDPoP("DPoP scheme, invalid token with a proof", func(t *testing.T) *http.Request {
			return dpopReq("DPoP", "garbage", "valid.dpop.proof")
		}, msgFormatting),
		{name: "proof without Authorization", req: func(t *testing.T) *http.Request { return dpopReq("", "", "valid.dpop.proof") },
			status: 400, body: body(msgProofNoToken, "ERR_AUTH"), challenge: dpopBareD},
		{name: "proof without Authorization, token in query", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "", "valid.dpop.proof")
			r.URL.RawQuery = "access_token=" + boundToken(t, es, nil)
			return r
		}, status: 400, body: body(msgProofNoToken, "ERR_AUTH"), challenge: dpopBareD},
		{name: "DPoP-bound token in query, no proof", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "")
			r.URL.RawQuery = "access_token=" + boundToken(t, es, nil)
			return r
		}, status: 400, body: body(msgUseDPoPScheme, "ERR_AUTH"), challenge: dpopBareD},
		{name: "unknown scheme beside a query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("random", "some_token")
			r.URL.RawQuery = "access_token=" + plain(t)
			return r
		}, status: 401, body: body("Unauthorized", "ERR_AUTH"), challenge: dpopBareD},
		{name: "unknown scheme alone", req: func(t *testing.T) *http.Request { return dpopReq("MAC", plain(t)) },
			status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: dpopBareD},
		{name: "invalid token from query", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "")
			r.URL.RawQuery = "access_token=abc.def.ghi"
			return r
		}, status: 401, body: body(msgFormatting, CodeInvalidToken),
			challenge: `Bearer realm="api", error="invalid_token", error_description="Invalid Token or Protected Header formatting", DPoP ` + dpopAlgs},
		{name: "DPoP scheme and query token", req: func(t *testing.T) *http.Request {
			r := validDPoP(t, es)
			r.URL.RawQuery = "access_token=x"
			return r
		}, status: 400, body: body(msgMultipleMethods, CodeInvalidRequest),
			challenge: `Bearer realm="api", DPoP error="invalid_request", error_description="More than one method used for authentication", ` + dpopAlgs},
		proofRow("two DPoP header fields", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)), signProof(t, es, nil, proofClaims(tok)))
		}, msgManyProofs),
		proofRow("comma-separated proofs", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok))+", "+signProof(t, es, nil, proofClaims(tok)))
		}, msgManyProofs),
		{name: "empty DPoP header", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", boundToken(t, es, nil), "") },
			status: 400, body: body(msgNoProof, "ERR_AUTH"), challenge: dpopBareD},
	}
	runDPoPRows(t, rows)
}

// token-verifier.test.ts, "required" mode.
func TestDPoPRequiredMode(t *testing.T) {
	es := esClient(t)
	plain := func(t testing.TB) string { return rs256(t, baseClaims(testIssuer)) }
	dpopOnly := `DPoP ` + dpopAlgs
	req := func(r dpopRow) dpopRow { r.cfg = required; return r }
	rows := []dpopRow{
		req(okRow("DPoP scheme, bound token, valid proof", func(t *testing.T) *http.Request { return validDPoP(t, es) })),
		req(dpopRow{name: "Bearer, bound token, valid proof", req: func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("Bearer", tok, signProof(t, es, nil, proofClaims(tok)))
		}, status: 400, body: body(msgBearerWithProof, CodeInvalidRequest),
			challenge: `DPoP error="invalid_request", error_description="DPoP proof requires the DPoP authentication scheme, not Bearer", ` + dpopAlgs}),
		req(dpopRow{name: "Bearer with an empty token and a proof", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "", "valid.dpop.proof")
			r.Header.Set("Authorization", "Bearer ")
			return r
		}, status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "Bearer, invalid token, no proof", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", "invalid") },
			status: 400, body: body(msgUseDPoPScheme, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "Bearer, invalid token, a proof", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", "invalid", "proof.jwt") },
			status: 400, body: body(msgBearerWithProof, CodeInvalidRequest),
			challenge: `DPoP error="invalid_request", error_description="DPoP proof requires the DPoP authentication scheme, not Bearer", ` + dpopAlgs}),
		req(dpopRow{name: "DPoP scheme, bound token, no proof", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", boundToken(t, es, nil)) },
			status: 400, body: body(msgNoProof, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "Bearer, valid plain token, no proof", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", plain(t)) },
			status: 400, body: body(msgUseDPoPScheme, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "DPoP scheme, invalid token, no proof", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", "invalid") },
			status: 400, body: body(msgNoProof, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "DPoP scheme, plain token, valid proof", req: func(t *testing.T) *http.Request {
			tok := plain(t)
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, status: 401, body: body(msgNoJKT, CodeInvalidToken),
			challenge: `DPoP error="invalid_token", error_description="JWT Access Token has no jkt confirmation claim", ` + dpopAlgs}),
		req(dpopRow{name: "DPoP scheme, bound token, malformed proof", req: func(t *testing.T) *http.Request {
			return dpopReq("DPoP", boundToken(t, es, nil), "bad.jws.string")
		}, status: 400, body: body(msgProofHeader, CodeInvalidDPoPProof),
			challenge: `DPoP error="invalid_dpop_proof", error_description="JWS Protected Header is invalid", ` + dpopAlgs}),
		req(dpopRow{name: "unknown scheme with a proof", req: func(t *testing.T) *http.Request { return dpopReq("random", "token", "valid.dpop.proof") },
			status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "no Authorization, proof and query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "", "valid.dpop.proof")
			r.URL.RawQuery = "access_token=" + boundToken(t, es, nil)
			return r
		}, status: 400, body: body(msgProofNoToken, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "DPoP scheme and a query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("DPoP", "abc.def.ghi", "proof.jwt")
			r.URL.RawQuery = "access_token=abc.def.ghi"
			return r
		}, status: 400, body: body(msgMultipleMethods, CodeInvalidRequest),
			challenge: `DPoP error="invalid_request", error_description="More than one method used for authentication", ` + dpopAlgs}),
		req(dpopRow{name: "DPoP scheme without proof and a query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("DPoP", "token-only")
			r.URL.RawQuery = "access_token=abc.def.ghi"
			return r
		}, status: 400, body: body(msgMultipleMethods, CodeInvalidRequest),
			challenge: `DPoP error="invalid_request", error_description="More than one method used for authentication", ` + dpopAlgs}),
		req(dpopRow{name: "bound token in query only", req: func(t *testing.T) *http.Request {
			r := dpopReq("", "")
			r.URL.RawQuery = "access_token=" + boundToken(t, es, nil)
			return r
		}, status: 400, body: body(msgUseDPoPScheme, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "unknown scheme and a query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("RANDOM", "abc.def.hgi")
			r.URL.RawQuery = "access_token=abc.def.hgi"
			return r
		}, status: 400, body: body(msgUseDPoPScheme, "ERR_AUTH"), challenge: dpopOnly}),
		req(dpopRow{name: "DPoP scheme and a form body token", req: func(t *testing.T) *http.Request {
			r := formReq(dpopURL, "access_token=abc.def.ghi")
			r.Header.Set("Authorization", "DPoP abc.def.ghi")
			r.Header.Set("DPoP", "proof.jwt")
			return r
		}, status: 400, body: body(msgMultipleMethods, CodeInvalidRequest),
			challenge: `DPoP error="invalid_request", error_description="More than one method used for authentication", ` + dpopAlgs}),
		req(dpopRow{name: "no token at all", req: func(t *testing.T) *http.Request { return dpopReq("", "") },
			status: 401, body: body("Unauthorized", "ERR_AUTH"), challenge: dpopOnly}),
	}
	runDPoPRows(t, rows)
}

// token-verifier.test.ts, "disabled" mode: the plain RFC 6750 answers.
func TestDPoPDisabledMode(t *testing.T) {
	es := esClient(t)
	plain := func(t testing.TB) string { return rs256(t, baseClaims(testIssuer)) }
	dis := func(r dpopRow) dpopRow { r.cfg = disabled; return r }
	rows := []dpopRow{
		dis(okRow("Bearer token", func(t *testing.T) *http.Request { return dpopReq("Bearer", plain(t)) })),
		dis(dpopRow{name: "DPoP scheme", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", plain(t)) },
			status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: bareChallenge}),
		dis(dpopRow{name: "invalid Bearer token", req: func(t *testing.T) *http.Request { return dpopReq("Bearer", "invalid_token") },
			status: 401, body: body(msgFormatting, CodeInvalidToken), challenge: challenge(msgFormatting)}),
		dis(dpopRow{name: "invalid Bearer token with a proof header", req: func(t *testing.T) *http.Request {
			return dpopReq("Bearer", "invalid_token", "valid.dpop.proof")
		}, status: 401, body: body(msgFormatting, CodeInvalidToken), challenge: challenge(msgFormatting)}),
		dis(okRow("DPoP-bound token as Bearer", func(t *testing.T) *http.Request { return dpopReq("Bearer", boundToken(t, es, nil)) })),
		dis(okRow("Bearer with a proof header: ignored", func(t *testing.T) *http.Request {
			return dpopReq("Bearer", plain(t), "valid.dpop.proof")
		})),
		dis(dpopRow{name: "DPoP scheme, bound token", req: func(t *testing.T) *http.Request { return dpopReq("DPoP", boundToken(t, es, nil)) },
			status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: bareChallenge}),
		dis(dpopRow{name: "DPoP scheme with a proof", req: func(t *testing.T) *http.Request { return validDPoP(t, es) },
			status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: bareChallenge}),
		dis(dpopRow{name: "proof header only", req: func(t *testing.T) *http.Request { return dpopReq("", "", "valid.dpop.proof") },
			status: 401, body: body("Unauthorized", "ERR_AUTH"), challenge: bareChallenge}),
		dis(dpopRow{name: "header and query", req: func(t *testing.T) *http.Request {
			r := dpopReq("Bearer", plain(t))
			r.URL.RawQuery = "access_token=" + boundToken(t, es, nil)
			return r
		}, status: 400, body: body(msgMultipleMethods, CodeInvalidRequest), challenge: strings.TrimSuffix(multiCh, dpopSuffix)}),
		dis(dpopRow{name: "unknown scheme and a query token", req: func(t *testing.T) *http.Request {
			r := dpopReq("random", "some_token")
			r.URL.RawQuery = "access_token=abc.def.ghi"
			return r
		}, status: 400, body: body(msgBadHeader, "ERR_AUTH"), challenge: bareChallenge}),
	}
	runDPoPRows(t, rows)
}

// dpop-verifier.test.ts: assertDPoPRequest (cnf), verifyProof and
// verifyDPoP, in the allowed mode with the DPoP scheme.
func TestDPoPProofChecks(t *testing.T) {
	es := esClient(t)
	now := testNow.Unix()
	other := edClient(t)
	rows := []dpopRow{
		okRow("iat 300 s ago", withProof(es, nil, map[string]any{"iat": now - 300})),
		okRow("iat 30 s ahead", withProof(es, nil, map[string]any{"iat": now + 30})),
		okRow("htm in lower case", withProof(es, nil, map[string]any{"htm": "get"})),
		okRow("htu with query and fragment", withProof(es, nil, map[string]any{"htu": dpopURL + "?x=1#y"})),
		okRow("htu in upper case with the default port", withProof(es, nil, map[string]any{"htu": "HTTPS://API.EXAMPLE.COM:443/tasks"})),
		okRow("htu with dot segments and encoded unreserved characters", withProof(es, nil, map[string]any{"htu": "https://api.example.com/a/../%74asks"})),
		okRow("typ application/dpop+jwt", withProof(es, map[string]any{"typ": "application/DPoP+JWT"}, nil)),
		okRow("extra claims and header members", withProof(es, map[string]any{"x-custom": "y"}, map[string]any{"extra": true})),
		proofRow("typ wrong", withProof(es, map[string]any{"typ": "wrong"}, nil), msgProofTyp),
		proofRow("typ missing", withProof(es, map[string]any{"typ": absent}, nil), msgProofTyp),
		proofRow("jwk missing", withProof(es, map[string]any{"jwk": absent}, nil), msgProofJWKObject),
		proofRow("jwk not an object", withProof(es, map[string]any{"jwk": "not-an-object"}, nil), msgProofJWKObject),
		proofRow("jwk with the private key", withProof(es, map[string]any{"jwk": jose.JSONWebKey{Key: ecKey}}, nil), msgProofJWKPublic),
		proofRow("jwk of another key", withProof(es, map[string]any{"jwk": jose.JSONWebKey{Key: other.priv.Public()}}, nil), msgSignature),
		proofRow("alg HS256", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
				(&jose.SignerOptions{}).WithType("dpop+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			jws, err := signer.Sign(mustJSON(t, proofClaims(tok)))
			if err != nil {
				t.Fatal(err)
			}
			proof, _ := jws.CompactSerialize()
			return dpopReq("DPoP", tok, proof)
		}, msgProofAlg),
		proofRow("alg none", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			hdr := map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": jose.JSONWebKey{Key: ecKey.Public()}}
			return dpopReq("DPoP", tok, rawToken(mustJSON(t, hdr), mustJSON(t, proofClaims(tok)), nil))
		}, msgProofAlg),
		proofRow("tampered signature", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok))+"tampered")
		}, msgSignature),
		proofRow("tampered payload", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			parts := strings.Split(signProof(t, es, nil, proofClaims(tok)), ".")
			parts[1] = b64(mustJSON(t, with(proofClaims(tok), map[string]any{"htm": "GET"})))
			return dpopReq("DPoP", tok, strings.Join(parts, "."))
		}, msgSignature),
		proofRow("not a JWS", func(t *testing.T) *http.Request { return dpopReq("DPoP", boundToken(t, es, nil), "abc.def") }, msgProofCompact),
		proofRow("payload not an object", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ecKey}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
			jws, err := signer.Sign([]byte(`[1,2]`))
			if err != nil {
				t.Fatal(err)
			}
			proof, _ := jws.CompactSerialize()
			return dpopReq("DPoP", tok, proof)
		}, msgProofClaimsObject),
		proofRow("too large", func(t *testing.T) *http.Request {
			return dpopReq("DPoP", boundToken(t, es, nil), strings.Repeat("a", DefaultMaxTokenBytes+1))
		}, msgProofTooLarge),
		proofRow("iat missing", withProof(es, nil, map[string]any{"iat": absent}), msgIATMissing),
		proofRow("iat a string", withProof(es, nil, map[string]any{"iat": "now"}), msgIATNumber),
		proofRow("iat 301 s ago", withProof(es, nil, map[string]any{"iat": now - 301}), msgIATRange),
		proofRow("iat 31 s ahead", withProof(es, nil, map[string]any{"iat": now + 31}), msgIATRange),
		proofRow("exp passed", withProof(es, nil, map[string]any{"exp": now - 1}), `"exp" claim timestamp check failed`),
		proofRow("htm missing", withProof(es, nil, map[string]any{"htm": absent}), msgHTMMissing),
		proofRow("htm a number", withProof(es, nil, map[string]any{"htm": 1}), msgHTMInvalid),
		proofRow("htm mismatch", withProof(es, nil, map[string]any{"htm": "POST"}), msgHTMMismatch),
		proofRow("htu missing", withProof(es, nil, map[string]any{"htu": absent}), msgHTUMissing),
		proofRow("htu a number", withProof(es, nil, map[string]any{"htu": 1}), msgHTUInvalidClaim),
		proofRow("htu other path", withProof(es, nil, map[string]any{"htu": "https://api.example.com/other"}), msgHTUMismatch),
		proofRow("htu other host", withProof(es, nil, map[string]any{"htu": "https://evil.example.com/tasks"}), msgHTUMismatch),
		proofRow("htu http", withProof(es, nil, map[string]any{"htu": "http://api.example.com/tasks"}), msgHTUMismatch),
		proofRow("htu unparsable", withProof(es, nil, map[string]any{"htu": "::::://"}), msgHTUInvalid),
		proofRow("htu illegal host", withProof(es, nil, map[string]any{"htu": "https://ho!st.example/path"}), msgHTUInvalidHost),
		proofRow("jti missing", withProof(es, nil, map[string]any{"jti": absent}), msgJTIMissing),
		proofRow("jti a number", withProof(es, nil, map[string]any{"jti": 7}), msgJTIInvalid),
		proofRow("ath missing", withProof(es, nil, map[string]any{"ath": absent}), msgATHMissing),
		proofRow("ath a number", withProof(es, nil, map[string]any{"ath": 1}), msgATHInvalid),
		proofRow("ath of another token", withProof(es, nil, map[string]any{"ath": b64(make([]byte, 32))}), msgATHMismatch),
		tokenFailDPoP("proof by another key", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			return dpopReq("DPoP", tok, signProof(t, other, nil, proofClaims(tok)))
		}, msgJKTMismatch),
		tokenFailDPoP("cnf a string", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": "x"})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgCnfStructure),
		tokenFailDPoP("cnf an array", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": []string{"x"}})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgCnfStructure),
		tokenFailDPoP("cnf without jkt", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgNoJKT),
		tokenFailDPoP("jkt a number", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": map[string]any{"jkt": 1}})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgJKTMalformed),
		tokenFailDPoP("jkt empty", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": map[string]any{"jkt": ""}})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, msgJKTInvalid),
		// The token is verified before the proof, as in
		// express-oauth2-jwt-bearer 1.10.
		tokenFailDPoP("expired token with a valid proof", func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"exp": now - 60})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}, `"exp" claim timestamp check failed`),
	}
	runDPoPRows(t, rows)
}

// A proof is accepted once; its replay within the window is refused, also
// when the token is served from the verified-token cache.
func TestDPoPReplay(t *testing.T) {
	es := esClient(t)
	v, err := New(staticConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	tok := boundToken(t, es, nil)
	proof := signProof(t, es, nil, proofClaims(tok))
	checkResponse(t, serve(v, dpopReq("DPoP", tok, proof)), 200, okBody, "-")
	s, b, c := proofFail(msgReplayed)
	checkResponse(t, serve(v, dpopReq("DPoP", tok, proof)), s, b, c)
	// Another proof of the same key with another jti is fine.
	checkResponse(t, serve(v, dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))), 200, okBody, "-")

	// With the replay cache off, the same proof passes twice.
	cfg := staticConfig(t)
	cfg.DPoP.NoReplayCache = true
	v2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		checkResponse(t, serve(v2, dpopReq("DPoP", tok, proof)), 200, okBody, "-")
	}
}

func TestReplayCacheBounds(t *testing.T) {
	c := newReplayCache(2)
	if !c.add("k", "a", 100, 0) || !c.add("k", "b", 100, 0) {
		t.Fatal("new proofs refused")
	}
	if c.add("k", "a", 100, 0) {
		t.Fatal("replay of a accepted")
	}
	if !c.add("other-key", "a", 100, 0) {
		t.Fatal("the same jti of another key refused")
	}
	// The cache holds 2: "k"/"a", the oldest, was forgotten.
	if !c.add("k", "a", 100, 0) {
		t.Fatal("oldest entry not evicted")
	}
	if len(c.seen) > 2 || len(c.order) != 2 {
		t.Fatalf("cache grew: %d entries, ring %d", len(c.seen), len(c.order))
	}
	// An expired entry no longer blocks.
	c = newReplayCache(4)
	c.add("k", "x", 10, 0)
	if c.add("k", "x", 20, 10) {
		t.Fatal("replay at the expiry second accepted")
	}
	if !c.add("k", "x", 20, 11) {
		t.Fatal("expired entry still refused")
	}
}

// RFC 9449 §9: with nonces on, a proof without one gets 401 use_dpop_nonce
// and a DPoP-Nonce to retry with; the retry passes and gets the next nonce.
func TestDPoPNonce(t *testing.T) {
	es := esClient(t)
	nonces, err := NewHMACNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := testNow
	cfg := staticConfig(t)
	cfg.Now = func() time.Time { return now }
	cfg.DPoP.Nonce = nonces
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := boundToken(t, es, nil)
	rec := serve(v, dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok))))
	checkResponse(t, rec, 401, body(msgNonceRequired, CodeUseDPoPNonce),
		`Bearer realm="api", DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", `+dpopAlgs)
	nonce := rec.Header().Get("DPoP-Nonce")
	if nonce == "" || !nonces.Valid(nonce, now) {
		t.Fatalf("DPoP-Nonce = %q", nonce)
	}
	rec = serve(v, dpopReq("DPoP", tok, signProof(t, es, nil, with(proofClaims(tok), map[string]any{"nonce": nonce}))))
	checkResponse(t, rec, 200, okBody, "-")
	if rec.Header().Get("DPoP-Nonce") == "" {
		t.Error("no DPoP-Nonce on success")
	}
	// A forged or stale nonce is refused the same way.
	for name, n := range map[string]any{"forged": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "number": 1, "stale": nonce} {
		t.Run(name, func(t *testing.T) {
			now = testNow
			if name == "stale" {
				now = testNow.Add(2 * time.Minute)
			}
			tok := boundToken(t, es, nil)
			claims := with(proofClaims(tok), map[string]any{"nonce": n, "iat": now.Unix()})
			rec := serve(v, dpopReq("DPoP", tok, signProof(t, es, nil, claims)))
			checkResponse(t, rec, 401, body(msgNonceInvalid, CodeUseDPoPNonce),
				`Bearer realm="api", DPoP error="use_dpop_nonce", error_description="DPoP proof nonce is invalid or has expired", `+dpopAlgs)
		})
	}
	// A Bearer request gets no nonce.
	rec = serve(v, dpopReq("Bearer", rs256(t, baseClaims(testIssuer))))
	if rec.Code != 200 || rec.Header().Get("DPoP-Nonce") != "" {
		t.Errorf("Bearer: %d, DPoP-Nonce %q", rec.Code, rec.Header().Get("DPoP-Nonce"))
	}
}

func TestHMACNonces(t *testing.T) {
	n, err := NewHMACNonces(nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a := n.Nonce(testNow)
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Minute, true}, {2 * time.Minute, false}, {-time.Minute, false}} {
		if got := n.Valid(a, testNow.Add(tc.at)); got != tc.want {
			t.Errorf("Valid at %v = %v, want %v", tc.at, got, tc.want)
		}
	}
	other, _ := NewHMACNonces(nil, time.Minute)
	if other.Valid(a, testNow) {
		t.Error("nonce of another key accepted")
	}
	if _, err := NewHMACNonces([]byte("short"), time.Minute); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewHMACNonces(nil, time.Millisecond); err == nil {
		t.Error("sub-second lifetime accepted")
	}
}

// The handler sees the proof of a DPoP request, and none for Bearer.
func TestProofFromContext(t *testing.T) {
	es := esClient(t)
	v, err := New(staticConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	var got *Proof
	h := v.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = ProofFromContext(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), validDPoP(t, es))
	if got == nil || got.Thumbprint != es.jkt || got.Algorithm != "ES256" || !got.IssuedAt.Equal(testNow) || got.JTI == "" {
		t.Fatalf("proof = %+v", got)
	}
	got = nil
	h.ServeHTTP(httptest.NewRecorder(), dpopReq("Bearer", rs256(t, baseClaims(testIssuer))))
	if got != nil {
		t.Fatalf("Bearer request has proof %+v", got)
	}
}

func TestDPoPOptionsChecks(t *testing.T) {
	for _, tc := range []struct {
		opts DPoPOptions
		want string
	}{
		{DPoPOptions{Disabled: true, Required: true}, msgDPoPOptions},
		{DPoPOptions{IATOffset: -1}, `Invalid DPoP option: "iatOffset" must be a non-negative number`},
		{DPoPOptions{IATLeeway: -1}, `Invalid DPoP option: "iatLeeway" must be a non-negative number`},
	} {
		cfg := staticConfig(t)
		cfg.DPoP = tc.opts
		if _, err := New(cfg); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: err = %v, want %q", tc.opts, err, tc.want)
		}
	}
	// Custom windows apply.
	es := esClient(t)
	cfg := staticConfig(t)
	cfg.DPoP.IATOffset, cfg.DPoP.IATLeeway = time.Minute, 5*time.Second
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iat    int64
		status int
	}{{-60, 200}, {-61, 400}, {5, 200}, {6, 400}} {
		tok := boundToken(t, es, nil)
		rec := serve(v, dpopReq("DPoP", tok, signProof(t, es, nil, with(proofClaims(tok), map[string]any{"iat": testNow.Unix() + tc.iat}))))
		if rec.Code != tc.status {
			t.Errorf("iat %+d s: status %d, want %d (%s)", tc.iat, rec.Code, tc.status, rec.Body)
		}
	}
}

// A custom ErrorHandler gets the DPoP-aware challenge from the error;
// the authorization helpers' errors keep the plain form.
func TestDPoPChallengeReachesErrorHandler(t *testing.T) {
	var got []string
	cfg := staticConfig(t)
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		e := err.(*Error)
		got = append(got, e.Challenge())
		w.WriteHeader(e.Status)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	serve(v, dpopReq("Bearer", "garbage"))
	serve(v, dpopReq("Bearer", rs256(t, baseClaims(testIssuer))), Must(RequiredScopes("x")))
	want := []string{
		challenge(msgFormatting) + dpopSuffix,
		`Bearer realm="api", error="insufficient_scope", error_description="Missing 'scope' claim", scope="x"`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("challenges = %q\nwant %q", got, want)
	}
}

// FuzzDPoPProof: an arbitrary proof never panics and is never accepted,
// except one carrying the seed proof's own signed content.
func FuzzDPoPProof(f *testing.F) {
	es := esClient(f)
	tok := boundToken(f, es, nil)
	claims := proofClaims(tok)
	good := signProof(f, es, nil, claims)
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(b64([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}`)) + "." + parts[1] + "." + parts[2])
	f.Add(b64([]byte(`{"typ":"dpop+jwt","alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(b64([]byte(`{"alg":"ES256","crit":["x"],"jwk":1}`)) + "." + b64([]byte(`{"iat":"x","htm":[],"htu":{}}`)) + "." + parts[2])
	f.Add("a.b.c")
	f.Add("")
	cfg := staticConfig(f)
	cfg.DPoP.NoReplayCache = true
	v, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	r := dpopReq("DPoP", tok)
	q := &request{origin: origin{scheme: "https", host: "api.example.com"}}
	htu := q.origin.htu(r)
	var want map[string]any
	json.Unmarshal(mustJSON(f, claims), &want)
	f.Fuzz(func(t *testing.T, proof string) {
		p, e := v.dpop.verifyProof(proof, tok, http.MethodGet, htu, es.jkt, testNow)
		if e == nil {
			if p.JTI != want["jti"] || p.Thumbprint != es.jkt {
				t.Fatalf("accepted %q: %+v", proof, p)
			}
			return
		}
		switch {
		case e.Status == 400 && e.Code == CodeInvalidDPoPProof && e.Message != "":
		case e.Status == 401 && e.Code == CodeInvalidToken && e.Message == msgJKTMismatch:
		default:
			t.Fatalf("proof %q: error %+v", proof, e)
		}
	})
}

// FuzzDPoPRequest: any Authorization, DPoP header, Host and query give a
// 400 or 401 with a challenge (the DPoP form, or the plain one for an
// invalid Host), never a panic and never a pass (no fuzzed token is
// validly signed).
func FuzzDPoPRequest(f *testing.F) {
	f.Add("DPoP x.y.z", "a.b.c", "api.example.com", "")
	f.Add("Bearer x", "", "evil.com/x?", "access_token=y")
	f.Add("", "p", "[::1]:99999", "")
	f.Add("random t", "p,q", "my_service:8080", "access_token=")
	v, err := New(staticConfig(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, auth, proof, host, query string) {
		r := httptest.NewRequest(http.MethodGet, dpopURL, nil)
		r.Host, r.URL.RawQuery = host, query
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		rec := serve(v, r)
		ch := rec.Header().Get("WWW-Authenticate")
		switch {
		case rec.Code != 400 && rec.Code != 401:
			t.Fatalf("status %d for %q %q %q %q", rec.Code, auth, proof, host, query)
		case !validHost(host):
			if rec.Code != 400 || ch != `Bearer realm="api", error="invalid_request", error_description="Invalid Host header"` {
				t.Fatalf("invalid host %q: %d %q", host, rec.Code, ch)
			}
		case !strings.HasPrefix(ch, `Bearer realm="api"`) || !strings.HasSuffix(ch, dpopAlgs):
			t.Fatalf("challenge %q", ch)
		}
	})
}

// CheckProof gives other frameworks the middleware's DPoP answers.
func TestCheckProof(t *testing.T) {
	es := esClient(t)
	v, err := New(staticConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r := validDPoP(t, es)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "DPoP ")
	claims, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.CheckProof(r, claims)
	if err != nil || p == nil || p.Thumbprint != es.jkt {
		t.Fatalf("CheckProof = %+v, %v", p, err)
	}
	// The same request again is a replay.
	_, err = v.CheckProof(r, claims)
	e, ok := err.(*Error)
	if _, _, c := proofFail(msgReplayed); !ok || e.Status != 400 || e.Challenge() != c {
		t.Fatalf("replay: %#v", err)
	}
	// A plain Bearer request has no proof and no error.
	plain := rs256(t, baseClaims(testIssuer))
	pc, _ := v.Verify(ctx, plain)
	if p, err := v.CheckProof(dpopReq("Bearer", plain), pc); p != nil || err != nil {
		t.Fatalf("Bearer: %+v, %v", p, err)
	}
	// A bound token sent as Bearer, with the DPoP-aware challenge.
	if _, err := v.CheckProof(dpopReq("Bearer", tok), claims); err == nil || err.(*Error).Challenge() !=
		`Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP authentication scheme, not Bearer.", DPoP `+dpopAlgs {
		t.Fatalf("bound as Bearer: %v", err)
	}
	// Claims of another token are a programming error.
	if _, err := v.CheckProof(validDPoP(t, es), pc); err == nil || errors.As(err, new(*Error)) {
		t.Fatalf("other claims: %v", err)
	}
	// With DPoP disabled there is nothing to check.
	cfg := staticConfig(t)
	cfg.DPoP.Disabled = true
	off, _ := New(cfg)
	if p, err := off.CheckProof(validDPoP(t, es), claims); p != nil || err != nil {
		t.Fatalf("disabled: %+v, %v", p, err)
	}
}
