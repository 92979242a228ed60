package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/taskapi/taskapi/devissuer"
)

// selfSigned returns a client certificate's DER bytes.
func selfSigned(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestServeCertificateBoundTokens(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	cert, other := selfSigned(t, "client"), selfSigned(t, "other")
	thumb := sha256.Sum256(cert)
	bound, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|mtls",
		Extra: map[string]any{"cnf": map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(thumb[:])}}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|plain"})
	if err != nil {
		t.Fatal(err)
	}
	bases := map[bool]string{}
	for _, required := range []bool{false, true} {
		env := map[string]string{
			"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api",
			// The test client plays the TLS-terminating proxy.
			"TRUSTED_PROXIES": "127.0.0.1", "MTLS_CERT_HEADER": "X-Client-Cert",
		}
		if required {
			env["MTLS_REQUIRED"] = "true"
			env["DATABASE_URL"] = "sqlite:required.db"
		}
		_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
		bases[required] = "http://" + stderr.waitFor(t, listeningRE, done)[1]
	}
	tests := []struct {
		name     string
		required bool
		token    string
		cert     []byte
		status   int
		msg      string
	}{
		{"bound token with its certificate", false, bound, cert, 200, ""},
		{"bound token without a certificate", false, bound, nil, 400, "A client certificate is required for this certificate-bound access token"},
		{"bound token with another certificate", false, bound, other, 401, "JWT Access Token confirmation mismatch"},
		{"plain token", false, plain, nil, 200, ""},
		{"MTLS_REQUIRED: plain token", true, plain, cert, 401, "JWT Access Token has no x5t#S256 confirmation claim"},
		{"MTLS_REQUIRED: bound token with its certificate", true, bound, cert, 200, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", bases[tt.required]+"/tasks", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tt.token)
		if tt.cert != nil {
			req.Header.Set("X-Client-Cert", base64.StdEncoding.EncodeToString(tt.cert))
		}
		a := do(t, req)
		if a.status != tt.status || (tt.msg != "" && a.body["error"] != tt.msg) {
			t.Errorf("%s: %d %v, want %d %q", tt.name, a.status, a.body, tt.status, tt.msg)
		}
	}
}
