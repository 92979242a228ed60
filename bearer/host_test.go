package bearer

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// resolve-host.test.ts of express-oauth2-jwt-bearer 1.10, row by row: the
// host a request names, from the Host header or, only from a trusted proxy,
// X-Forwarded-Host; every refusal is 400 invalid_request "Invalid Host
// header". The Node library's "trust proxy fn" is TrustedProxies here:
// "trusted" rows come from 10.0.0.2 inside 10.0.0.0/8, "untrusted" ones
// from 192.0.2.1 or without any TrustedProxies.
func TestResolveHost(t *testing.T) {
	const (
		trusted   = "10.0.0.2:4000"
		untrusted = "192.0.2.1:4000"
		invalid   = "!"
	)
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name     string
		host     string
		xfh      []string // nil: no header
		remote   string
		noTrust  bool // no TrustedProxies at all
		want     string
		wantProx string // scheme from X-Forwarded-Proto, if set
	}{
		{name: "Host when X-Forwarded-Host is missing", host: "internal:3000", remote: trusted, want: "internal:3000"},
		{name: "Host when the proxy is not trusted", host: "internal:3000", xfh: []string{"api.example.com"}, remote: untrusted, want: "internal:3000"},
		{name: "X-Forwarded-Host from a trusted proxy", host: "internal:3000", xfh: []string{"api.example.com"}, remote: trusted, want: "api.example.com"},
		{name: "first value of a multi-value X-Forwarded-Host", host: "internal:3000", xfh: []string{"api.example.com, cdn.example.com"}, remote: trusted, want: "api.example.com"},
		{name: "spaces before the comma trimmed", host: "internal:3000", xfh: []string{"api.example.com   , another.example.com"}, remote: trusted, want: "api.example.com"},
		{name: "empty X-Forwarded-Host: Host", host: "internal:3000", xfh: []string{""}, remote: trusted, want: "internal:3000"},
		{name: "no trusted proxies configured", host: "internal:3000", xfh: []string{"api.example.com"}, remote: trusted, noTrust: true, want: "internal:3000"},
		{name: "peer inside a trusted prefix", host: "internal:3000", xfh: []string{"api.example.com"}, remote: "10.0.0.2:1", want: "api.example.com"},
		{name: "peer outside the trusted prefixes", host: "internal:3000", xfh: []string{"api.example.com"}, remote: "127.0.0.1:1", want: "internal:3000"},
		{name: "IPv6 Host", host: "[::1]:3000", remote: trusted, want: "[::1]:3000"},
		{name: "IPv6 X-Forwarded-Host", host: "[::1]:3000", xfh: []string{"[2001:db8::1]"}, remote: trusted, want: "[2001:db8::1]"},
		{name: "multi-value IPv6 X-Forwarded-Host trimmed", host: "internal:3000", xfh: []string{"[2001:db8::1]  , other.example.com"}, remote: trusted, want: "[2001:db8::1]"},
		{name: "Host missing, multi-value X-Forwarded-Host, trusted", xfh: []string{"a.example.com, b.example.com"}, remote: trusted, want: "a.example.com"},
		{name: "peer address unknown: untrusted", host: "internal:3000", xfh: []string{"pub.example.com"}, remote: "", want: "internal:3000"},
		{name: "IPv4-mapped IPv6 peer inside the prefix", host: "internal:3000", xfh: []string{"api.example.com"}, remote: "[::ffff:10.0.0.2]:1", want: "api.example.com"},
		// Unit: host validation.
		{name: "UT-1 plain host", host: "resource.com", remote: trusted, want: "resource.com"},
		{name: "UT-2 host with port", host: "resource.com:8443", remote: trusted, want: "resource.com:8443"},
		{name: "UT-3 IPv6 literal", host: "[::1]:3000", remote: trusted, want: "[::1]:3000"},
		{name: "UT-4 injected path and query", host: "resource.com/intendedPath?", remote: trusted, want: invalid},
		{name: "UT-5 injected fragment", host: "resource.com/intendedPath#", remote: trusted, want: invalid},
		{name: "UT-6 double slash", host: "resource.com//evil", remote: trusted, want: invalid},
		{name: "UT-7 scheme in Host", host: "https://resource.com", remote: trusted, want: invalid},
		{name: "UT-8 trusted X-Forwarded-Host with an injection", host: "internal:3000", xfh: []string{"resource.com/x?"}, remote: trusted, want: invalid},
		{name: "UT-9 first value validated", host: "internal:3000", xfh: []string{"a.com, b.com"}, remote: trusted, want: "a.com"},
		{name: "UT-EMPTY leading comma", host: "internal:3000", xfh: []string{", b.com"}, remote: trusted, want: invalid},
		{name: "UT-MSG structural character", host: "resource.com/evil?", remote: trusted, want: invalid},
		{name: "UT-MSG missing host", remote: trusted, want: invalid},
		{name: "EC-1 trailing dot", host: "resource.com.", remote: trusted, want: "resource.com."},
		{name: "EC-2 user info", host: "user:pass@resource.com", remote: trusted, want: invalid},
		{name: "EC-3 non-numeric port", host: "resource.com:notaport", remote: trusted, want: invalid},
		{name: "EC-4 underscore", host: "my_service:8080", remote: trusted, want: "my_service:8080"},
		{name: "EC-5 tilde", host: "ho~st", remote: trusted, want: "ho~st"},
		{name: "EC-6 port 65535", host: "resource.com:65535", remote: trusted, want: "resource.com:65535"},
		{name: "EC-7 port above 65535", host: "resource.com:99999", remote: trusted, want: invalid},
		{name: "MIG-1 Host and X-Forwarded-Host missing", remote: trusted, want: invalid},
		{name: "MIG-2 Host missing, untrusted X-Forwarded-Host", xfh: []string{"api.example.com"}, remote: trusted, noTrust: true, want: invalid},
		{name: "MIG-4 empty Host", host: "", remote: trusted, want: invalid},
		// MIG-5 differs: Go's HTTP server trims header values, so a
		// trailing space never reaches the handler; the value is trimmed.
		{name: "MIG-5 trailing spaces trimmed", host: "internal:3000", xfh: []string{"edge.example.com   "}, remote: trusted, want: "edge.example.com"},
		{name: "MIG-6 whitespace-only first value", host: "internal:3000", xfh: []string{"   , b.example.com"}, remote: trusted, want: invalid},
		// Beyond the rows of express-oauth2-jwt-bearer 1.10.
		{name: "port with 6 digits", host: "resource.com:000080", remote: trusted, want: invalid},
		{name: "empty port", host: "resource.com:", remote: trusted, want: invalid},
		{name: "unclosed IPv6 literal", host: "[::1", remote: trusted, want: invalid},
		{name: "IPv6 literal with a zone", host: "[fe80::1%25eth0]", remote: trusted, want: invalid},
		{name: "space in host", host: "a b", remote: trusted, want: invalid},
		{name: "oversized host", host: strings.Repeat("a", 300), remote: trusted, want: invalid},
		{name: "trusted X-Forwarded-Proto", host: "internal:3000", xfh: []string{"api.example.com"}, remote: trusted, want: "api.example.com", wantProx: "https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{}
			if !tc.noTrust {
				v.trustedProxies = proxies
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Host, r.RemoteAddr = tc.host, tc.remote
			if tc.xfh != nil {
				r.Header["X-Forwarded-Host"] = tc.xfh
			}
			if tc.wantProx != "" {
				r.Header.Set("X-Forwarded-Proto", "HTTPS, http")
			}
			o, e := v.requestOrigin(r)
			if tc.want == invalid {
				if e == nil || e.Status != 400 || e.Code != CodeInvalidRequest || e.Message != msgInvalidHost {
					t.Fatalf("origin %+v, error %+v; want Invalid Host header", o, e)
				}
				return
			}
			if e != nil || o.host != tc.want {
				t.Fatalf("origin %+v, error %v; want host %q", o, e, tc.want)
			}
			wantScheme := "http"
			if tc.wantProx != "" {
				wantScheme = tc.wantProx
			}
			if o.scheme != wantScheme {
				t.Fatalf("scheme %q, want %q", o.scheme, wantScheme)
			}
		})
	}
}

// Through the middleware: an invalid Host is refused before the verifier,
// without the DPoP challenge, in every mode (even optional authentication).
func TestInvalidHostThroughMiddleware(t *testing.T) {
	tok := rs256(t, baseClaims(testIssuer))
	hostFail := `Bearer realm="api", error="invalid_request", error_description="Invalid Host header"`
	rows := []dpopRow{
		{name: "Bearer, injected Host", req: func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.Host = "evil.com/x?"
			return r
		}, status: 400, body: body(msgInvalidHost, CodeInvalidRequest), challenge: hostFail},
		{name: "optional auth, no token, injected Host", cfg: func(c *Config) { c.AuthOptional = true }, req: func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/tasks", nil)
			r.Host = "resource.com#"
			return r
		}, status: 400, body: body(msgInvalidHost, CodeInvalidRequest), challenge: hostFail},
		{name: "DPoP disabled, injected Host", cfg: disabled, req: func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.Host = "user@resource.com"
			return r
		}, status: 400, body: body(msgInvalidHost, CodeInvalidRequest), challenge: hostFail},
		{name: "untrusted X-Forwarded-Proto value from a trusted proxy", cfg: func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}, req: func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.Header.Set("X-Forwarded-Proto", "gopher")
			return r
		}, status: 400, body: body(msgInvalidProto, CodeInvalidRequest),
			challenge: `Bearer realm="api", error="invalid_request", error_description="Invalid X-Forwarded-Proto header"`},
		{name: "path starting with //", req: func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.URL.Path = "//evil.example.com/steal"
			return r
		}, status: 400, body: body(msgPathDoubleSlash, CodeInvalidRequest),
			challenge: `Bearer realm="api", error="invalid_request", error_description="Invalid request URL: Path must not start with '//'"` + dpopSuffix},
		{name: "path with an absolute URL", req: func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.URL.Path = "/https://evil.example.com/steal"
			return r
		}, status: 400, body: body(msgPathAbsoluteURL, CodeInvalidRequest),
			challenge: `Bearer realm="api", error="invalid_request", error_description="Invalid request URL: Path must not contain an absolute URL"` + dpopSuffix},
		okRow("valid Host with underscore", func(t *testing.T) *http.Request {
			r := bearerReq(tok)
			r.Host = "my_service:8080"
			return r
		}),
	}
	runDPoPRows(t, rows)
}

// The proof's htu names the URL the client used: behind a trusted proxy
// that is X-Forwarded-Proto://X-Forwarded-Host/path; from anyone else,
// those headers are ignored (the htu-bypass fix of
// express-oauth2-jwt-bearer 1.10).
func TestDPoPBehindProxy(t *testing.T) {
	es := esClient(t)
	proxied := func(remote string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			tok := boundToken(t, es, nil)
			r := httptest.NewRequest(http.MethodGet, "http://internal:3000/tasks", nil)
			r.RemoteAddr = remote
			r.Header.Set("X-Forwarded-Host", "api.example.com")
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("Authorization", "DPoP "+tok)
			r.Header.Set("DPoP", signProof(t, es, nil, proofClaims(tok)))
			return r
		}
	}
	trust := func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }
	s, b, c := proofFail(msgHTUMismatch)
	rows := []dpopRow{
		{name: "trusted proxy", cfg: trust, req: proxied("10.1.2.3:5555"), status: 200, body: okBody, challenge: "-"},
		{name: "untrusted peer", cfg: trust, req: proxied("203.0.113.9:5555"), status: s, body: b, challenge: c},
		{name: "no trusted proxies", req: proxied("10.1.2.3:5555"), status: s, body: b, challenge: c},
	}
	runDPoPRows(t, rows)
}

// dpop-verifier.test.ts normalizeUrl, row by row where Go can mirror it.
func TestNormalizeHTU(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://api.example.com/resource?x=1#frag", "https://api.example.com/resource"},
		{"https://api.example.com/resource/", "https://api.example.com/resource/"},
		{"https://api.example.com:8443/resource", "https://api.example.com:8443/resource"},
		{"https://user:pass@api.example.com/resource", "https://api.example.com/resource"},
		{"http://localhost:3000/api?x=1#y", "http://localhost:3000/api"},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"},
		{"https://bad_host.example/path", "https://bad_host.example/path"},
		{"https://api.example.com/path", "https://api.example.com/path"},
		{"HTTPS://API.EXAMPLE.COM/path", "https://api.example.com/path"},
		{"https://api.example.com:443/path", "https://api.example.com/path"},
		{"https://api.example.com/path%2fto%2fresource", "https://api.example.com/path%2Fto%2Fresource"},
		{"https://api.example.com/%7Euser/path%2Fwith%2Fslash", "https://api.example.com/~user/path%2Fwith%2Fslash"},
		{"https://api.example.com/path/../resource/./file.txt", "https://api.example.com/resource/file.txt"},
		{"https://user:pass@API.example.com:8443/a/b/../c/./d?x#y", "https://api.example.com:8443/a/c/d"},
		{"http://[::1]/path?x=1#y", "http://[::1]/path"},
		{"https://xn--bcher-kva.de/path", "https://xn--bcher-kva.de/path"},
		{"https://example.com./x", "https://example.com./x"},
		{"http://[2001:db8::1]:8080/alpha?x=1#y", "http://[2001:db8::1]:8080/alpha"},
		{"http://[2001:DB8:0::1]:3000/path", "http://[2001:db8::1]:3000/path"},
		{"https://api.example.com//double/slash?x=1#y", "https://api.example.com//double/slash"},
		{"https://api.example.com/https://evil.example.com/x", "https://api.example.com/https://evil.example.com/x"},
		{"http://api.example.com:80/path?x=1#y", "http://api.example.com/path"},
		{"https://api.example.com/price/%e2%82%ac", "https://api.example.com/price/%E2%82%AC"},
		{"https://api.example.com/a/%2e%2e/b", "https://api.example.com/b"},
		{"https://api.example.com", "https://api.example.com/"},
		{"https://api.example.com/..", "https://api.example.com/"},
	}
	for _, tc := range cases {
		got, e := normalizeHTU(tc.in)
		if e != nil || got != tc.want {
			t.Errorf("normalizeHTU(%q) = %q, %v; want %q", tc.in, got, e, tc.want)
		}
	}
	for in, msg := range map[string]string{
		"::::://":                             msgHTUInvalid,
		":://foo.bar?x=1":                     msgHTUInvalid,
		"ftp://api.example.com/x":             msgHTUInvalid,
		"https:opaque":                        msgHTUInvalid,
		"https://ho!st.example/path":          msgHTUInvalidHost,
		"https://api.example.com:999999/path": msgHTUInvalidHost,
		"http://[2001:db8::1/path":            msgHTUInvalid,
		"http://[1.2.3.4]/path":               msgHTUInvalid,
	} {
		if got, e := normalizeHTU(in); e == nil || e.Message != msg || e.Code != CodeInvalidDPoPProof {
			t.Errorf("normalizeHTU(%q) = %q, %+v; want %q", in, got, e, msg)
		}
	}
}

// The request side of htu: the origin and the escaped request path,
// normalised the same way.
func TestRequestHTU(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"https://API.example.com:443/a/./b/../c?q=1", "https://api.example.com/a/c"},
		{"http://example.com:8080/%7euser", "http://example.com:8080/~user"},
		{"https://example.com", "https://example.com/"},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		o, e := (&Verifier{}).requestOrigin(r)
		if e != nil {
			t.Fatal(e)
		}
		if got := o.htu(r); got != tc.want {
			t.Errorf("%s: htu %q, want %q", tc.target, got, tc.want)
		}
	}
}
