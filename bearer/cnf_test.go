package bearer

import (
	"errors"
	"net/http"
	"testing"
)

// A "cnf" claim with more than one member names more than one binding (or a
// binding and something this package does not understand). A request that
// proves only one of them must not pass: DPoP requests are refused with the
// message express-oauth2-jwt-bearer 1.10 gives on its certificate path,
// whatever the mTLS setting; the Bearer rules stay as they were.
func TestMultipleConfirmationClaims(t *testing.T) {
	testCerts()
	es := esClient(t)
	both := func() map[string]any { return map[string]any{"jkt": es.jkt, x5tS256: clientCert.thumbprint()} }
	withExt := func() map[string]any { return map[string]any{"jkt": es.jkt, "ext": "DPoP"} }
	keycloak := func() map[string]any { return map[string]any{"jkt": es.jkt, "kc-jkt-type": "DPoP"} }
	// dpop is a DPoP request whose token carries cnf, with a valid proof.
	dpop := func(cnf map[string]any) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			tok := boundToken(t, es, map[string]any{"cnf": cnf})
			return dpopReq("DPoP", tok, signProof(t, es, nil, proofClaims(tok)))
		}
	}
	bearer := func(cnf map[string]any) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			return dpopReq("Bearer", boundToken(t, es, map[string]any{"cnf": cnf}))
		}
	}
	mtlsOn := func(c *Config) { c.MTLS.GetCertificate = certificate(clientCert) }
	cfgs := func(fs ...func(*Config)) func(*Config) {
		return func(c *Config) {
			for _, f := range fs {
				f(c)
			}
		}
	}
	desc := `error_description="` + msgMultipleConfirm + `"`
	onDPoP := `Bearer realm="api", DPoP error="invalid_token", ` + desc + `, ` + dpopAlgs
	onBearer := `Bearer realm="api", error="invalid_token", ` + desc
	refused := func(name string, cfg func(*Config), req func(t *testing.T) *http.Request, challenge string) dpopRow {
		return dpopRow{name: name, cfg: cfg, req: req, status: 401, body: body(msgMultipleConfirm, CodeInvalidToken), challenge: challenge}
	}
	rows := []dpopRow{
		refused("jkt and x5t#S256, DPoP scheme, mTLS off", nil, dpop(both()), onDPoP),
		refused("jkt and x5t#S256, DPoP scheme, mTLS on with the bound certificate", mtlsOn, dpop(both()), onDPoP),
		refused("jkt and x5t#S256, DPoP required, mTLS on", cfgs(required, mtlsOn), dpop(both()),
			`DPoP error="invalid_token", `+desc+`, `+dpopAlgs),
		refused("jkt and another member, DPoP scheme", nil, dpop(withExt()), onDPoP),
		refused("jkt and another member, DPoP scheme, mTLS on", mtlsOn, dpop(withExt()), onDPoP),
		// Keycloak's member describing the jkt is no second binding.
		{name: "jkt and Keycloak's kc-jkt-type, DPoP scheme", req: dpop(keycloak()), status: 200, body: okBody, challenge: "-"},
		// A jkt-bound token sent as Bearer fails first on the scheme rule,
		// as in express-oauth2-jwt-bearer 1.10.
		{name: "jkt and x5t#S256, Bearer scheme, mTLS on", cfg: mtlsOn, req: bearer(both()),
			status: 401, body: body(msgBoundAsBearer, CodeInvalidToken), challenge: challenge(msgBoundAsBearer) + dpopSuffix},
		refused("x5t#S256 and another member, Bearer scheme, mTLS on", mtlsOn,
			bearer(map[string]any{x5tS256: clientCert.thumbprint(), "ext": 1}), onBearer+dpopSuffix),
		refused("jkt and x5t#S256, DPoP disabled, mTLS on", cfgs(disabled, mtlsOn), bearer(both()), onBearer),
		// With both checks off, "cnf" is not read at all, as in the Node
		// library (a bound token is accepted as a Bearer token).
		{name: "jkt and x5t#S256, DPoP disabled, mTLS off", cfg: disabled, req: bearer(both()), status: 200, body: okBody, challenge: "-"},
	}
	runDPoPRows(t, rows)

	// CheckProof, the same rules for other frameworks.
	v, err := New(staticConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	r := dpop(both())(t)
	c, err := v.Verify(r.Context(), r.Header.Get("Authorization")[len("DPoP "):])
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := v.CheckProof(r, c); !errors.As(err, &e) || e.Status != 401 || e.Message != msgMultipleConfirm || e.Challenge() != onDPoP {
		t.Errorf("CheckProof = %v, want 401 %q with %q", err, msgMultipleConfirm, onDPoP)
	}
}
