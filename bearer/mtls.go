package bearer

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// MTLSOptions checks certificate-bound access tokens (RFC 8705): a token
// whose "cnf" claim carries "x5t#S256" is accepted only from the client
// whose TLS certificate has that SHA-256 thumbprint (base64url of the hash
// of the DER certificate).
//
// The client certificate is, in this order: what GetCertificate returns,
// when it is set; the CertificateHeader of a request from one of
// Config.TrustedProxies, when it is set (a TLS-terminating proxy forwards
// the certificate there, and the connection's own certificate would be the
// proxy's); the first certificate of the request's TLS connection
// otherwise. The server must ask for client certificates
// (tls.Config.ClientAuth RequestClientCert or stronger): the binding, not
// a chain, is what authenticates the client here.
type MTLSOptions struct {
	// Enabled checks the binding of tokens that carry cnf "x5t#S256"; other
	// tokens pass unchanged. It is implied by GetCertificate and by
	// CertificateHeader.
	Enabled bool
	// Required refuses tokens that are not certificate-bound. It needs
	// mTLS to be enabled.
	Required bool
	// CertificateHeader names the header in which a trusted proxy forwards
	// the client certificate: URL-encoded PEM (nginx's
	// $ssl_client_escaped_cert, Envoy, AWS ALB), plain PEM, or base64 DER
	// (standard or URL alphabet, padded or not). It is read only from
	// requests whose RemoteAddr is inside Config.TrustedProxies, and
	// ignored from any other address.
	CertificateHeader string
	// GetCertificate returns the client certificate of r, or nil when
	// there is none. An error counts as no certificate, as in
	// express-oauth2-jwt-bearer 1.10.
	GetCertificate func(r *http.Request) (*x509.Certificate, error)
}

// mTLS messages, those of express-oauth2-jwt-bearer 1.10.
const (
	msgCertRequired     = "A client certificate is required for this certificate-bound access token"
	msgCertMismatch     = "JWT Access Token confirmation mismatch"
	msgNoX5tConfirm     = "JWT Access Token has no x5t#S256 confirmation claim"
	msgX5tCnfShape      = `Invalid "cnf" confirmation claim structure`
	msgMultipleConfirm  = "Multiple confirmation claims are not supported"
	msgX5tMalformed     = `Malformed "x5t#S256" confirmation claim`
	msgX5tEmpty         = `Invalid "x5t#S256" confirmation claim`
	msgCertNotPEM       = "Client certificate is not valid PEM"
	msgCertEmpty        = "Client certificate is empty"
	msgMTLSRequiredOnly = `Invalid mTLS configuration: "required" can only be set to true when "enabled" is also true`
)

// maxCertificateHeaderBytes bounds a forwarded certificate.
const maxCertificateHeaderBytes = 16 << 10

// x5tS256 is the confirmation method of RFC 8705 §3.1.
const x5tS256 = "x5t#S256"

// enabled reports whether mTLS is on, explicitly or through a certificate
// source.
func (o *MTLSOptions) enabled() bool {
	return o.Enabled || o.GetCertificate != nil || o.CertificateHeader != ""
}

// check validates the options.
func (o *MTLSOptions) check() error {
	if o.Required && !o.enabled() {
		return errors.New(msgMTLSRequiredOnly)
	}
	if o.CertificateHeader != "" && !validHeaderName(o.CertificateHeader) {
		return errors.New("MTLS: CertificateHeader is not a valid header name")
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// mtlsConfig is the Verifier's copy of MTLSOptions.
type mtlsConfig struct {
	enabled, required bool
	header            string // canonical; "" when unset
	get               func(*http.Request) (*x509.Certificate, error)
}

func newMTLSConfig(cfg Config) mtlsConfig {
	o := cfg.MTLS
	m := mtlsConfig{enabled: o.enabled(), required: o.Required, get: o.GetCertificate}
	if o.CertificateHeader != "" {
		m.header = textproto.CanonicalMIMEHeaderKey(o.CertificateHeader)
	}
	return m
}

// CheckCertificate checks the certificate binding of a verified token on
// the request that presented it, the way the middleware does after Verify
// (for requests that the DPoP checks do not handle). It returns nil when
// mTLS is off, or when the token is not certificate-bound and binding is
// not required. Otherwise the errors are those of
// express-oauth2-jwt-bearer 1.10: 401 invalid_token for an unbound token in
// Required mode or a malformed "cnf", 400 invalid_request "A client
// certificate is required for this certificate-bound access token" without
// a certificate, 400 with no error code for an unreadable forwarded
// certificate, and 401 invalid_token "JWT Access Token confirmation
// mismatch" for another certificate.
func (v *Verifier) CheckCertificate(r *http.Request, c *Claims) error {
	if e := v.checkCertificate(r, c); e != nil {
		return e
	}
	return nil
}

func (v *Verifier) checkCertificate(r *http.Request, c *Claims) *Error {
	m := &v.mtls
	if !m.enabled {
		return nil
	}
	cnf, isObject := c.Payload["cnf"].(map[string]any)
	if _, bound := cnf[x5tS256]; !m.required && !(isObject && bound) {
		return nil
	}
	want, e := certificateConfirmation(c.Payload)
	if e != nil {
		return e
	}
	der, e := v.clientCertificate(r)
	if e != nil {
		return e
	}
	if der == nil {
		return InvalidRequest(msgCertRequired)
	}
	if len(der) == 0 {
		return noInfo(msgCertEmpty)
	}
	sum := sha256.Sum256(der)
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return InvalidToken(msgCertMismatch)
	}
	return nil
}

// certificateConfirmation returns the token's cnf "x5t#S256", with the
// checks of the claim's shape that express-oauth2-jwt-bearer 1.10 makes.
func certificateConfirmation(payload map[string]any) (string, *Error) {
	raw, present := payload["cnf"]
	if !present || raw == nil {
		return "", InvalidToken(msgNoX5tConfirm)
	}
	cnf, ok := raw.(map[string]any)
	if !ok {
		return "", InvalidToken(msgX5tCnfShape)
	}
	if len(cnf) > 1 {
		return "", InvalidToken(msgMultipleConfirm)
	}
	t, present := cnf[x5tS256]
	if !present {
		return "", InvalidToken(msgNoX5tConfirm)
	}
	s, ok := t.(string)
	if !ok {
		return "", InvalidToken(msgX5tMalformed)
	}
	if s == "" {
		return "", InvalidToken(msgX5tEmpty)
	}
	return s, nil
}

// clientCertificate returns the DER client certificate of r: nil when
// there is none, an error when a forwarded one cannot be read.
func (v *Verifier) clientCertificate(r *http.Request) ([]byte, *Error) {
	m := &v.mtls
	if m.get != nil {
		cert, err := m.get(r)
		if err != nil || cert == nil {
			return nil, nil
		}
		return cert.Raw, nil
	}
	if m.header != "" && v.fromTrustedProxy(r) {
		values := r.Header[m.header]
		if len(values) == 0 || values[0] == "" {
			return nil, nil
		}
		if len(values) > 1 {
			return nil, noInfo("Only one " + m.header + " header is allowed")
		}
		return parseForwardedCertificate(values[0])
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return r.TLS.PeerCertificates[0].Raw, nil
	}
	return nil, nil
}

// PEM armour of one certificate.
const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
)

// parseForwardedCertificate reads a certificate forwarded by a proxy:
// URL-encoded or plain PEM (line breaks may have become spaces), or base64
// DER. It must parse as an X.509 certificate.
func parseForwardedCertificate(v string) ([]byte, *Error) {
	if len(v) > maxCertificateHeaderBytes {
		return nil, noInfo("Client certificate header is too large")
	}
	v = strings.TrimSpace(v)
	if strings.Contains(v, "%") {
		u, err := url.PathUnescape(v)
		if err != nil {
			return nil, noInfo(msgCertNotPEM)
		}
		// A query-style encoder turns the armour's spaces into "+".
		u = strings.Replace(u, "-----BEGIN+CERTIFICATE-----", pemBegin, 1)
		v = strings.TrimSpace(strings.Replace(u, "-----END+CERTIFICATE-----", pemEnd, 1))
	}
	if !strings.HasPrefix(v, "-----") {
		// base64 DER, or anything else: the message of
		// express-oauth2-jwt-bearer 1.10.
		der, err := decodeBase64(v)
		if err != nil || len(der) == 0 {
			return nil, noInfo(msgCertNotPEM)
		}
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, noInfo(msgCertNotPEM)
		}
		return der, nil
	}
	rest, ok := strings.CutPrefix(v, pemBegin)
	if !ok {
		return nil, noInfo(msgCertNotPEM)
	}
	end := strings.Index(rest, pemEnd)
	if end < 0 {
		return nil, noInfo(msgCertNotPEM)
	}
	body := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, rest[:end])
	if body == "" {
		return nil, noInfo(msgCertEmpty)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, noInfo(msgCertNotPEM)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, noInfo("Client certificate is not a valid X.509 certificate")
	}
	return der, nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.Strict().DecodeString(s)
}

// certificateCheck is the middleware's certificate check: as in
// express-oauth2-jwt-bearer 1.10, a request that the DPoP checks handle
// (DPoP required, the DPoP scheme, a DPoP proof or a cnf "jkt" token) is
// not checked again here.
func (v *Verifier) certificateCheck(r *http.Request, q *request, c *Claims) *Error {
	if !v.mtls.enabled {
		return nil
	}
	if d := v.dpop; d != nil {
		if d.required || q.scheme == "dpop" || q.hasProof || boundJKT(c) {
			return nil
		}
	}
	return v.checkCertificate(r, c)
}
