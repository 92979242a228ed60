package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// tlsPollInterval is how often serve looks at TLS_CERT_FILE and
// TLS_KEY_FILE for a change; tests shorten it.
var tlsPollInterval = 10 * time.Second

// tlsFiles are the certificate and key files of serve (TLS_CERT_FILE,
// TLS_KEY_FILE); empty: plain HTTP.
type tlsFiles struct {
	Cert, Key string
}

// on reports whether serve terminates TLS itself.
func (f tlsFiles) on() bool { return f.Cert != "" }

// parseTLSKeyFile reads TLS_KEY_FILE, which needs TLS_CERT_FILE (read
// before it) and the other way round.
func parseTLSKeyFile(c *config, _, s string) error {
	c.TLS.Key = strings.TrimSpace(s)
	switch {
	case c.TLS.Cert != "" && c.TLS.Key == "":
		return errors.New("TLS_CERT_FILE is set but TLS_KEY_FILE is not: name the file of the certificate's private key (PEM)")
	case c.TLS.Cert == "" && c.TLS.Key != "":
		return errors.New("TLS_KEY_FILE is set but TLS_CERT_FILE is not: name the file of the certificate chain (PEM)")
	case c.TLS.on():
		// Client certificates of the connection reach the check of
		// certificate-bound tokens (RFC 8705).
		c.Bearer.MTLS.Enabled = true
	}
	return nil
}

// certReloader serves the certificate of a tlsFiles and loads it again
// when the files change or on SIGHUP, so that a renewed certificate (by
// certbot, cert-manager…) is served without a restart. A failed load keeps
// the certificate served until then.
type certReloader struct {
	files tlsFiles
	log   *slog.Logger
	cert  atomic.Pointer[tls.Certificate]
	stamp string // of the files loaded; see fileStamp
}

// newCertReloader loads the certificate of files, reporting an unusable
// pair with the variables to fix.
func newCertReloader(files tlsFiles, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{files: files, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(files.Key); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("TLS_KEY_FILE is readable by other users: chmod 600 it", "file", files.Key, "mode", fi.Mode().Perm().String())
	}
	return r, nil
}

// load reads the certificate and key files.
func (r *certReloader) load() error {
	stamp := fileStamp(r.files.Cert, r.files.Key)
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return fmt.Errorf("TLS_CERT_FILE=%s, TLS_KEY_FILE=%s: %w", r.files.Cert, r.files.Key, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("TLS_CERT_FILE=%s: %w", r.files.Cert, err)
		}
	}
	r.cert.Store(&cert)
	r.stamp = stamp
	args := []any{"cert_file", r.files.Cert, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339)}
	if time.Now().After(leaf.NotAfter) {
		r.log.Warn("the TLS certificate has expired: clients will refuse it", args...)
	} else {
		r.log.Info("loaded the TLS certificate", args...)
	}
	return nil
}

// GetCertificate is the tls.Config hook: the certificate loaded last.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// watch loads the certificate again on SIGHUP, and when the files' sizes
// or modification times change (looked at every tlsPollInterval), until
// ctx ends.
func (r *certReloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		tick := time.NewTicker(tlsPollInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload("SIGHUP")
			case <-tick.C:
				if fileStamp(r.files.Cert, r.files.Key) != r.stamp {
					r.reload("the files changed")
				}
			}
		}
	}()
}

// reload loads the files again, keeping the served certificate when that
// fails (a renewal caught half-written is loaded at the next change).
func (r *certReloader) reload(why string) {
	if err := r.load(); err != nil {
		r.log.Error("could not reload the TLS certificate; still serving the previous one", "reason", why, "err", err)
		// Try again at the next change only.
		r.stamp = fileStamp(r.files.Cert, r.files.Key)
	}
}

// fileStamp identifies the contents of files by their sizes and
// modification times (through symbolic links, as a Kubernetes secret
// volume swaps them).
func fileStamp(files ...string) string {
	var b strings.Builder
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d:%d;", fi.Size(), fi.ModTime().UnixNano())
		} else {
			b.WriteString("missing;")
		}
	}
	return b.String()
}

// serverTLSConfig is the TLS configuration of serve: TLS 1.2 or later,
// the reloaded certificate, and client certificates asked for but not
// required nor verified against a CA: the certificate a client presents
// (whose key it proved to hold in the handshake) is what a
// certificate-bound token's cnf["x5t#S256"] names (RFC 8705 §3), and a
// token that is not bound passes without one.
func serverTLSConfig(r *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		ClientAuth:     tls.RequestClientCert,
	}
}
