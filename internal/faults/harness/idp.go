package harness

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/taskapi/taskapi/devissuer"
)

// IdP is a development identity provider on 127.0.0.1 whose behaviour a
// test controls: its signing key can rotate, and its discovery and JWKS
// answers can fail (503) or be slow. Tokens come from devissuer issuers,
// one per key, all with the IdP's URL as issuer.
type IdP struct {
	srv *http.Server
	url string

	mu        sync.Mutex
	published []*devissuer.Issuer // keys in the JWKS, oldest first
	current   *devissuer.Issuer   // signs new tokens
	failing   bool
	delay     time.Duration
	fetches   int // JWKS requests answered
}

// StartIdP starts an identity provider with one fresh RSA key on a free
// port of 127.0.0.1. The caller must Close it.
func StartIdP() (*IdP, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &IdP{url: "http://" + l.Addr().String()}
	iss, err := p.newIssuer()
	if err != nil {
		l.Close()
		return nil, err
	}
	p.published = []*devissuer.Issuer{iss}
	p.current = iss
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 5 * time.Second}
	go p.srv.Serve(l)
	return p, nil
}

func (p *IdP) newIssuer() (*devissuer.Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, devissuer.KeyBits)
	if err != nil {
		return nil, err
	}
	return devissuer.New(key, devissuer.WithURL(p.url), devissuer.WithAudience(Audience)), nil
}

// URL returns the IdP's base URL, the service's ISSUER_BASE_URL.
func (p *IdP) URL() string { return p.url }

func (p *IdP) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	failing, delay := p.failing, p.delay
	iss := p.published[0]
	var set jose.JSONWebKeySet
	for _, i := range p.published {
		set.Keys = append(set.Keys, i.JWKS().Keys...)
	}
	if r.URL.Path == devissuer.JWKSPath {
		p.fetches++
	}
	p.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if failing {
		http.Error(w, "identity provider down (test)", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == devissuer.JWKSPath {
		b, err := json.Marshal(set)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	iss.Handler().ServeHTTP(w, r)
}

// Token mints an access token for sub with every scope, signed with the
// current key.
func (p *IdP) Token(sub string) (string, error) {
	p.mu.Lock()
	iss := p.current
	p.mu.Unlock()
	return iss.Token(devissuer.TokenRequest{Subject: sub, Scope: Scopes})
}

// Rotate publishes a new key beside the old ones and signs new tokens with
// it, as a provider rotates: the new key is in the JWKS before any token
// uses it.
func (p *IdP) Rotate() error {
	iss, err := p.newIssuer()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, iss)
	p.current = iss
	return nil
}

// SetFailing makes every discovery and JWKS request fail with 503 (on) or
// succeed again (off).
func (p *IdP) SetFailing(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = on
}

// SetDelay delays every answer by d (0: none).
func (p *IdP) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// JWKSFetches returns how many JWKS requests the IdP has received.
func (p *IdP) JWKSFetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

// Close stops the IdP, cutting open requests.
func (p *IdP) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return p.srv.Close()
}
