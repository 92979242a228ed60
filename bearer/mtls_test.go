package bearer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The mTLS suite mirrors the mTLS cases of express-oauth2-jwt-bearer 1.10
// in index.test.ts (10) and mtls-verifier.test.ts (17), then checks the
// certificate sources: a real TLS connection with client certificates and a
// trusted proxy's header.

// testCert is a self-signed client certificate and its key.
type testCert struct {
	der  []byte
	cert *x509.Certificate
	tls  tls.Certificate
}

var (
	certsOnce             sync.Once
	clientCert, otherCert *testCert
)

func newTestCert(cn string) *testCert {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &testCert{der: der, cert: cert, tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}
}

func testCerts() {
	certsOnce.Do(func() {
		clientCert, otherCert = newTestCert("client"), newTestCert("other")
	})
}

func (c *testCert) pem() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der}))
}

// thumbprint is RFC 8705's x5t#S256 of c.
func (c *testCert) thumbprint() string {
	sum := sha256.Sum256(c.der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// boundReq is a Bearer request whose token carries cnf (absent: no cnf).
func boundReq(t *testing.T, cnf any) *http.Request {
	return bearerReq(rs256(t, with(baseClaims(testIssuer), map[string]any{"cnf": cnf})))
}

func x5t(s string) map[string]any { return map[string]any{"x5t#S256": s} }

// certificate returns a GetCertificate that always answers c (nil: none).
func certificate(c *testCert) func(*http.Request) (*x509.Certificate, error) {
	return func(*http.Request) (*x509.Certificate, error) {
		if c == nil {
			return nil, nil
		}
		return c.cert, nil
	}
}

func failingCertificate(*http.Request) (*x509.Certificate, error) {
	return nil, errors.New("bad proxy header")
}

// mtlsVerifier is the static-key verifier with o, DPoP as the default of
// express-oauth2-jwt-bearer 1.10 unless bearerOnly.
func mtlsVerifier(t *testing.T, o MTLSOptions, bearerOnly bool, more ...func(*Config)) *Verifier {
	t.Helper()
	testKeys(t)
	cfg := Config{
		Audience:       []string{testAudience},
		Issuer:         testIssuer,
		PublicKey:      jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256")),
		Now:            fixedNow,
		MTLS:           o,
		DPoP:           DPoPOptions{Disabled: bearerOnly},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	}
	for _, f := range more {
		f(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// mtlsRow is one request and its expected answer. The challenge is given
// without the DPoP suffix, which rows with DPoP enabled add.
type mtlsRow struct {
	name       string
	opts       MTLSOptions
	bearerOnly bool
	optional   bool
	req        func(t *testing.T) *http.Request
	status     int
	body       string
	challenge  string
}

func runMTLSRows(t *testing.T, rows []mtlsRow) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			v := mtlsVerifier(t, tc.opts, tc.bearerOnly, func(c *Config) { c.AuthOptional = tc.optional })
			rec := serve(v, tc.req(t))
			want := tc.challenge
			if want != "-" && !tc.bearerOnly {
				want += dpopSuffix
			}
			checkResponse(t, rec, tc.status, tc.body, want)
		})
	}
}

func mtlsOK(name string, o MTLSOptions, req func(t *testing.T) *http.Request) mtlsRow {
	return mtlsRow{name: name, opts: o, req: req, status: 200, body: okBody, challenge: "-"}
}

func mtlsFail(name string, o MTLSOptions, req func(t *testing.T) *http.Request, status int, msg, code string) mtlsRow {
	ch := `Bearer realm="api"`
	if code != "" {
		ch += `, error="` + code + `", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `"`
	}
	bodyCode := code
	if bodyCode == "" {
		bodyCode = "ERR_AUTH"
	}
	return mtlsRow{name: name, opts: o, req: req, status: status, body: body(msg, bodyCode), challenge: ch}
}

// The express index.test.ts "mTLS (RFC 8705) certificate-bound tokens" of
// express-oauth2-jwt-bearer 1.10, row by row.
func TestMTLSNodeExpress(t *testing.T) {
	testCerts()
	bound := func(t *testing.T) *http.Request { return boundReq(t, x5t(clientCert.thumbprint())) }
	wrong := func(t *testing.T) *http.Request { return boundReq(t, x5t("not-the-real-thumbprint")) }
	plain := func(t *testing.T) *http.Request { return boundReq(t, absent) }
	withCert := MTLSOptions{GetCertificate: certificate(clientCert)}
	rows := []mtlsRow{
		mtlsOK("cert-bound token passes unchecked when mTLS is not configured", MTLSOptions{}, bound),
		// The Node library's "explicitly disabled while getCertificate is
		// set" has no Go form (a certificate source enables mTLS): with no
		// source and Enabled false, a wrong binding is not checked.
		mtlsOK("binding not checked when mTLS is off", MTLSOptions{}, wrong),
		mtlsOK("presented certificate matches", withCert, bound),
		mtlsFail("certificate does not match", withCert, wrong, 401, msgCertMismatch, CodeInvalidToken),
		mtlsFail("no certificate presented", MTLSOptions{GetCertificate: certificate(nil)}, bound, 400, msgCertRequired, CodeInvalidRequest),
		mtlsOK("plain bearer token unaffected", withCert, plain),
		mtlsFail("plain bearer token refused when required", MTLSOptions{Required: true, GetCertificate: certificate(clientCert)}, plain, 401, msgNoX5tConfirm, CodeInvalidToken),
		mtlsOK("certificate from a proxy header through GetCertificate", MTLSOptions{GetCertificate: func(r *http.Request) (*x509.Certificate, error) {
			p, err := url.PathUnescape(r.Header.Get("Client-Certificate"))
			if err != nil {
				return nil, err
			}
			b, _ := pem.Decode([]byte(p))
			if b == nil {
				return nil, errors.New("no PEM")
			}
			return x509.ParseCertificate(b.Bytes)
		}}, func(t *testing.T) *http.Request {
			r := bound(t)
			r.Header.Set("Client-Certificate", url.PathEscape(clientCert.pem()))
			return r
		}),
		mtlsOK("GetCertificate failing does not stop a plain token", MTLSOptions{GetCertificate: failingCertificate}, plain),
		mtlsFail("GetCertificate failing is no certificate for a bound token", MTLSOptions{GetCertificate: failingCertificate}, bound, 400, msgCertRequired, CodeInvalidRequest),
	}
	// The Node library's last case, "ignores an error thrown by
	// getCertificate when authRequired is false", answers 200 with no
	// claims: here an invalid request is refused even when authentication
	// is optional.
	optional := mtlsFail("GetCertificate failing with optional authentication (a deliberate difference)", MTLSOptions{GetCertificate: failingCertificate}, bound, 400, msgCertRequired, CodeInvalidRequest)
	optional.optional = true
	rows = append(rows, optional)
	runMTLSRows(t, rows)
	for i := range rows {
		rows[i].bearerOnly = true
		rows[i].name += " (DPoP disabled)"
	}
	runMTLSRows(t, rows)
}

// The mtls-verifier.test.ts of express-oauth2-jwt-bearer 1.10, through the
// middleware (DPoP disabled, so that a "jkt" member reaches the certificate
// check).
func TestMTLSNodeVerifier(t *testing.T) {
	testCerts()
	req := func(cnf any) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return boundReq(t, cnf) }
	}
	fixed := func(c *testCert) MTLSOptions { return MTLSOptions{GetCertificate: certificate(c)} }
	required := func(c *testCert) MTLSOptions { return MTLSOptions{Required: true, GetCertificate: certificate(c)} }
	header := MTLSOptions{CertificateHeader: "X-Client-Cert"}
	fromProxy := func(value string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := boundReq(t, x5t(clientCert.thumbprint()))
			r.RemoteAddr = "192.0.2.10:4321"
			r.Header.Set("X-Client-Cert", value)
			return r
		}
	}
	rows := []mtlsRow{
		// calculateCertificateThumbprint
		mtlsOK("thumbprint of a PEM certificate", header, fromProxy(clientCert.pem())),
		mtlsOK("thumbprint of DER bytes (base64)", header, fromProxy(base64.StdEncoding.EncodeToString(clientCert.der))),
		mtlsOK("thumbprint of DER bytes (base64url, unpadded)", header, fromProxy(base64.RawURLEncoding.EncodeToString(clientCert.der))),
		mtlsFail("a non-PEM string", header, fromProxy("not a cert"), 400, msgCertNotPEM, ""),
		mtlsFail("an empty certificate", header, fromProxy(pemBegin+"\n"+pemEnd), 400, msgCertEmpty, ""),
		// assertCertificateConfirmation
		mtlsOK("valid cnf claim", fixed(clientCert), req(x5t(clientCert.thumbprint()))),
		mtlsFail("cnf missing (required)", required(clientCert), req(absent), 401, msgNoX5tConfirm, CodeInvalidToken),
		mtlsFail("cnf not an object (required)", required(clientCert), req("nope"), 401, msgX5tCnfShape, CodeInvalidToken),
		mtlsOK("cnf not an object is not bound (not required)", fixed(clientCert), req("nope")),
		mtlsFail("more than one confirmation method", fixed(clientCert), req(map[string]any{"x5t#S256": clientCert.thumbprint(), "jkt": "abc"}), 401, msgMultipleConfirm, CodeInvalidToken),
		mtlsFail("x5t#S256 absent (required)", required(clientCert), req(map[string]any{"jkt": "abc"}), 401, msgNoX5tConfirm, CodeInvalidToken),
		mtlsFail("x5t#S256 not a string", fixed(clientCert), req(map[string]any{"x5t#S256": 123}), 401, msgX5tMalformed, CodeInvalidToken),
		mtlsFail("x5t#S256 empty", fixed(clientCert), req(x5t("")), 401, msgX5tEmpty, CodeInvalidToken),
		// verifyMtls
		mtlsOK("certificate matches the binding", fixed(clientCert), req(x5t(clientCert.thumbprint()))),
		mtlsFail("no certificate presented", fixed(nil), req(x5t(clientCert.thumbprint())), 400, msgCertRequired, CodeInvalidRequest),
		mtlsFail("thumbprint of another certificate", fixed(clientCert), req(x5t(otherCert.thumbprint())), 401, msgCertMismatch, CodeInvalidToken),
		mtlsFail("no cnf claim (required)", required(clientCert), req(map[string]any{}), 401, msgNoX5tConfirm, CodeInvalidToken),
	}
	for i := range rows {
		rows[i].bearerOnly = true
	}
	runMTLSRows(t, rows)
}

// A trusted proxy's certificate header, in the forms proxies send it, and
// the same header from any other address.
func TestMTLSProxyHeader(t *testing.T) {
	testCerts()
	header := MTLSOptions{CertificateHeader: "x-client-cert"}
	from := func(addr string, values ...string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := boundReq(t, x5t(clientCert.thumbprint()))
			r.RemoteAddr = addr
			for _, v := range values {
				r.Header.Add("X-Client-Cert", v)
			}
			return r
		}
	}
	const proxy = "192.0.2.10:4321"
	p := clientCert.pem()
	rows := []mtlsRow{
		mtlsOK("URL-encoded PEM (nginx $ssl_client_escaped_cert)", header, from(proxy, url.PathEscape(p))),
		mtlsOK("query-encoded PEM", header, from(proxy, url.QueryEscape(p))),
		mtlsOK("PEM with spaces for line breaks", header, from(proxy, strings.ReplaceAll(strings.TrimSpace(p), "\n", " "))),
		mtlsOK("IPv4-mapped proxy address", header, from("[::ffff:192.0.2.10]:4321", url.PathEscape(p))),
		mtlsFail("another certificate", header, func(t *testing.T) *http.Request {
			r := from(proxy, url.PathEscape(otherCert.pem()))(t)
			return r
		}, 401, msgCertMismatch, CodeInvalidToken),
		mtlsFail("header from an untrusted address is ignored", header, from("198.51.100.7:4321", url.PathEscape(p)), 400, msgCertRequired, CodeInvalidRequest),
		mtlsFail("no header", header, from(proxy), 400, msgCertRequired, CodeInvalidRequest),
		mtlsFail("two headers", header, from(proxy, url.PathEscape(p), url.PathEscape(p)), 400, "Only one X-Client-Cert header is allowed", ""),
		mtlsFail("bad percent-encoding", header, from(proxy, "%zz"), 400, msgCertNotPEM, ""),
		mtlsFail("PEM without its end", header, from(proxy, pemBegin+"\nMIIB"), 400, msgCertNotPEM, ""),
		mtlsFail("base64 of something else", header, from(proxy, base64.StdEncoding.EncodeToString([]byte("hello world"))), 400, msgCertNotPEM, ""),
		mtlsFail("PEM armour around something else", header, from(proxy, pemBegin+"\naGVsbG8gd29ybGQ=\n"+pemEnd), 400, "Client certificate is not a valid X.509 certificate", ""),
		mtlsFail("oversized header", header, from(proxy, strings.Repeat("A", maxCertificateHeaderBytes+1)), 400, "Client certificate header is too large", ""),
	}
	runMTLSRows(t, rows)
}

// Certificates of a real TLS connection (the server asks for them).
func TestMTLSConnection(t *testing.T) {
	testCerts()
	v := mtlsVerifier(t, MTLSOptions{Enabled: true, CertificateHeader: "X-Client-Cert"}, false)
	srv := httptest.NewUnstartedServer(v.Authenticate(okHandler))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	client := func(c *testCert) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if c != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{c.tls}
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	for _, tc := range []struct {
		name   string
		cert   *testCert
		cnf    any
		header string // a forged certificate header (127.0.0.1 is no trusted proxy)
		status int
		body   string
	}{
		{"bound to the connection's certificate", clientCert, x5t(clientCert.thumbprint()), "", 200, okBody},
		{"bound to another certificate", otherCert, x5t(clientCert.thumbprint()), "", 401, body(msgCertMismatch, CodeInvalidToken)},
		{"no client certificate", nil, x5t(clientCert.thumbprint()), "", 400, body(msgCertRequired, CodeInvalidRequest)},
		{"plain token without a certificate", nil, absent, "", 200, okBody},
		{"forged header from an untrusted peer is ignored", otherCert, x5t(clientCert.thumbprint()), url.PathEscape(clientCert.pem()), 401, body(msgCertMismatch, CodeInvalidToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/tasks", nil)
			req.Header.Set("Authorization", "Bearer "+rs256(t, with(baseClaims(testIssuer), map[string]any{"cnf": tc.cnf})))
			if tc.header != "" {
				req.Header.Set("X-Client-Cert", tc.header)
			}
			resp, err := client(tc.cert).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != tc.body {
				t.Errorf("answer = %d %s, want %d %s", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}

func TestMTLSOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    MTLSOptions
		want string
	}{
		{"required without enabled", MTLSOptions{Required: true}, msgMTLSRequiredOnly},
		{"required and enabled", MTLSOptions{Required: true, Enabled: true}, ""},
		{"required, enabled by a resolver", MTLSOptions{Required: true, GetCertificate: failingCertificate}, ""},
		{"required, enabled by a header", MTLSOptions{Required: true, CertificateHeader: "X-Client-Cert"}, ""},
		{"bad header name", MTLSOptions{CertificateHeader: "X Client Cert"}, "MTLS: CertificateHeader is not a valid header name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer, Secret: "a-32-byte-secret-for-hs256-tests", TokenSigningAlg: "HS256", MTLS: tc.o})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Errorf("New error = %v, want %q", err, tc.want)
			}
		})
	}
}

// A DPoP request is left to the DPoP checks, as in
// express-oauth2-jwt-bearer 1.10: its token is not checked against the
// client certificate.
func TestMTLSAfterDPoP(t *testing.T) {
	testCerts()
	v := mtlsVerifier(t, MTLSOptions{Required: true, GetCertificate: certificate(nil)}, false)
	// A jkt-bound token sent as Bearer fails on the DPoP rule, not on the
	// missing certificate.
	rec := serve(v, boundReq(t, map[string]any{"jkt": "abc"}))
	checkResponse(t, rec, 401, body(msgBoundAsBearer, CodeInvalidToken), challenge(msgBoundAsBearer)+dpopSuffix)
}

// CheckCertificate is the middleware's check for other frameworks.
func TestCheckCertificate(t *testing.T) {
	testCerts()
	v := mtlsVerifier(t, MTLSOptions{Enabled: true}, true)
	c := &Claims{Payload: map[string]any{"cnf": x5t(clientCert.thumbprint())}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{clientCert.cert}}
	if err := v.CheckCertificate(r, c); err != nil {
		t.Errorf("matching certificate: %v", err)
	}
	r.TLS.PeerCertificates = []*x509.Certificate{otherCert.cert}
	var e *Error
	if err := v.CheckCertificate(r, c); !errors.As(err, &e) || e.Message != msgCertMismatch {
		t.Errorf("other certificate: %v", err)
	}
	off := mtlsVerifier(t, MTLSOptions{}, true)
	if err := off.CheckCertificate(r, c); err != nil {
		t.Errorf("mTLS off: %v", err)
	}
}

// A forwarded certificate never panics the parser, and what it accepts is
// an X.509 certificate.
func FuzzParseForwardedCertificate(f *testing.F) {
	testCerts()
	for _, s := range []string{clientCert.pem(), url.PathEscape(clientCert.pem()), base64.StdEncoding.EncodeToString(clientCert.der),
		pemBegin + "\n" + pemEnd, "%zz", "not a cert", pemBegin + " AAAA " + pemEnd} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		der, e := parseForwardedCertificate(v)
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Code != "" {
				t.Fatalf("error %d %q, want 400 with no code", e.Status, e.Code)
			}
			return
		}
		if _, err := x509.ParseCertificate(der); err != nil {
			t.Fatalf("accepted %q, not a certificate: %v", v, err)
		}
	})
}
