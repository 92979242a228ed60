package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskapi/taskapi/devissuer"
)

// newCert returns a self-signed certificate for 127.0.0.1 (a server's,
// or a client's), its PEM files' contents and the tls.Certificate.
func newCert(t *testing.T, name string) (certPEM, keyPEM []byte, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// writeCert writes a server certificate's files as a renewal does: the
// key, then the certificate.
func writeCert(t *testing.T, certPEM, keyPEM []byte) {
	t.Helper()
	if err := os.WriteFile("server.key", keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("server.crt", certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

// servedName returns the common name of the certificate addr serves.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// waitServed waits until addr serves the certificate named name.
func waitServed(t *testing.T, addr, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // an upper bound, not a timing assumption
	for servedName(t, addr) != name {
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q after 20s, want %q", servedName(t, addr), name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeTLS checks serve's own TLS: HTTPS with TLS_CERT_FILE and
// TLS_KEY_FILE, client certificates of the connection checked against
// certificate-bound tokens, and the certificate reloaded when its files
// change and on SIGHUP.
func TestServeTLS(t *testing.T) {
	t.Chdir(t.TempDir())
	poll := tlsPollInterval
	tlsPollInterval = 20 * time.Millisecond
	t.Cleanup(func() { tlsPollInterval = poll })

	iss := devissuer.NewTestServer(t)
	certPEM, keyPEM, _ := newCert(t, "first")
	writeCert(t, certPEM, keyPEM)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api",
		"TLS_CERT_FILE": "server.crt", "TLS_KEY_FILE": "server.key"}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	addr := stderr.waitFor(t, listeningRE, done)[1]
	if !strings.Contains(stderr.String(), `"tls":true`) {
		t.Errorf("the listening line does not say TLS:\n%s", stderr.String())
	}

	_, _, clientCert := newCert(t, "client")
	_, _, otherCert := newCert(t, "other")
	thumb := sha256.Sum256(clientCert.Certificate[0])
	bound, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|tls",
		Extra: map[string]any{"cnf": map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(thumb[:])}}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|plain"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tests := []struct {
		name   string
		token  string
		cert   *tls.Certificate
		status int
		msg    string
	}{
		{"plain token, no client certificate", plain, nil, 200, ""},
		{"bound token with its certificate", bound, &clientCert, 200, ""},
		{"bound token without a certificate", bound, nil, 400, "A client certificate is required for this certificate-bound access token"},
		{"bound token with another certificate", bound, &otherCert, 401, "JWT Access Token confirmation mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots}
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			req, _ := http.NewRequest("GET", "https://"+addr+"/tasks", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var m map[string]any
			json.Unmarshal(body, &m)
			if res.StatusCode != tt.status || (tt.msg != "" && m["error"] != tt.msg) {
				t.Errorf("%d %s, want %d %q", res.StatusCode, body, tt.status, tt.msg)
			}
			if res.Header.Get("Strict-Transport-Security") == "" {
				t.Error("no Strict-Transport-Security over TLS")
			}
		})
	}

	// A renewal rewrites the files: the new certificate is served without
	// a restart.
	certPEM, keyPEM, _ = newCert(t, "renewed")
	writeCert(t, certPEM, keyPEM)
	waitServed(t, addr, "renewed")

	// A half-written renewal (a key that does not match) keeps the
	// certificate served until then.
	otherPEM, _, _ := newCert(t, "mismatched")
	if err := os.WriteFile("server.crt", otherPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, reloadFailedRE, done)
	if got := servedName(t, addr); got != "renewed" {
		t.Errorf("after a failed reload: serving %q, want the previous certificate", got)
	}

}

// reloadFailedRE matches the log line of a failed reload.
var reloadFailedRE = regexp.MustCompile(`could not reload the TLS certificate`)

// TestServeTLSReloadsOnSIGHUP: SIGHUP loads the files at once, whatever
// the poll interval.
func TestServeTLSReloadsOnSIGHUP(t *testing.T) {
	t.Chdir(t.TempDir())
	poll := tlsPollInterval
	tlsPollInterval = time.Hour
	t.Cleanup(func() { tlsPollInterval = poll })
	iss := devissuer.NewTestServer(t)
	certPEM, keyPEM, _ := newCert(t, "before SIGHUP")
	writeCert(t, certPEM, keyPEM)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api",
		"TLS_CERT_FILE": "server.crt", "TLS_KEY_FILE": "server.key"}
	_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	// serve listens for SIGHUP before it logs "listening".
	addr := stderr.waitFor(t, listeningRE, done)[1]
	certPEM, keyPEM, _ = newCert(t, "after SIGHUP")
	writeCert(t, certPEM, keyPEM)
	if got := servedName(t, addr); got != "before SIGHUP" {
		t.Fatalf("serving %q before the signal", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitServed(t, addr, "after SIGHUP")
}

func TestServeTLSConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	certPEM, keyPEM, _ := newCert(t, "server")
	writeCert(t, certPEM, keyPEM)
	_, otherKey, _ := newCert(t, "other")
	os.WriteFile("other.key", otherKey, 0o600)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"certificate without key", map[string]string{"TLS_CERT_FILE": "server.crt"}, "TLS_CERT_FILE is set but TLS_KEY_FILE is not"},
		{"key without certificate", map[string]string{"TLS_KEY_FILE": "server.key"}, "TLS_KEY_FILE is set but TLS_CERT_FILE is not"},
		{"missing file", map[string]string{"TLS_CERT_FILE": "nope.crt", "TLS_KEY_FILE": "server.key"}, "TLS_CERT_FILE=nope.crt"},
		{"key of another certificate", map[string]string{"TLS_CERT_FILE": "server.crt", "TLS_KEY_FILE": "other.key"}, "private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["ISSUER_BASE_URL"], tt.env["AUDIENCE"] = iss.URL(), "task-manager-api"
			r := runCmd(t, tt.env, "serve", "-addr", "127.0.0.1:0")
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", r.err, tt.want)
			}
		})
	}
	// MTLS_REQUIRED works with TLS alone: the connection gives the
	// certificate.
	c, err := loadConfig(mapEnv(map[string]string{"TLS_CERT_FILE": "server.crt", "TLS_KEY_FILE": "server.key", "MTLS_REQUIRED": "true"}))
	if err != nil || !c.Bearer.MTLS.Enabled || !c.Bearer.MTLS.Required {
		t.Errorf("MTLS_REQUIRED with TLS: %+v, %v", c.Bearer.MTLS, err)
	}
}
