package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// routedIdP is a provider on loopback that a client reaches under any host
// name: its discovery document announces issuer and jwksURI.
func routedIdP(t *testing.T, issuer, jwksURI string) *http.Client {
	t.Helper()
	testKeys(t)
	keys := jwksJSON(t, jwk(&rsaKey.PublicKey, "kid", "RS256"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": jwksURI})
		case "/jwks.json":
			w.Write(keys)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// Plain-http issuer and key set URLs are refused unless they are on
// loopback: anyone on the path could otherwise serve their own keys.
func TestInsecureHTTPRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"issuerBaseURL", Config{IssuerBaseURL: "http://idp.example.com/"}},
		{"jwksUri", Config{Issuer: testIssuer, JWKSURI: "http://idp.example.com/jwks.json"}},
		{"issuerBaseURL with a secret", Config{IssuerBaseURL: "http://idp.example.com/", Secret: "a-32-byte-secret-for-hs256-tests", TokenSigningAlg: "HS256"}},
		{"private address", Config{IssuerBaseURL: "http://10.0.0.1/"}},
		{"unspecified address", Config{IssuerBaseURL: "http://0.0.0.0:8080/"}},
		{"IPv6 not loopback", Config{IssuerBaseURL: "http://[::2]:8080/"}},
		{"localhost look-alike", Config{IssuerBaseURL: "http://localhost.example.com/"}},
		{"loopback look-alike", Config{IssuerBaseURL: "http://127.0.0.1.nip.io/"}},
		{"localhost with a trailing dot", Config{IssuerBaseURL: "http://localhost./"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Audience = []string{testAudience}
			v, err := New(tc.cfg)
			if err == nil {
				v.Close()
				t.Fatal("New accepted a plain-http URL off loopback")
			}
			if !strings.Contains(err.Error(), "AllowInsecureHTTP") {
				t.Errorf("New error = %q, want it to name AllowInsecureHTTP", err)
			}
		})
	}
	for _, u := range []string{"http://127.0.0.1:8080/", "http://127.9.9.9/", "http://[::1]:8080/", "http://localhost:3000/", "http://LocalHost/tenant", "https://idp.example.com/"} {
		for name, cfg := range map[string]Config{
			"issuerBaseURL": {IssuerBaseURL: u},
			"jwksUri":       {Issuer: testIssuer, JWKSURI: u},
		} {
			cfg.Audience = []string{testAudience}
			v, err := New(cfg)
			if err != nil {
				t.Errorf("%s %s: New: %v", name, u, err)
				continue
			}
			v.Close()
		}
	}

	// A jwks_uri discovered over https or on loopback must follow the same
	// rule: the document would otherwise send the key set fetch off
	// loopback in plain http.
	client := routedIdP(t, "http://127.0.0.1/", "http://keys.example.com/jwks.json")
	v, err := New(Config{Audience: []string{testAudience}, IssuerBaseURL: "http://127.0.0.1/", HTTPClient: client, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var e *Error
	if err := v.Warm(context.Background()); !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "AllowInsecureHTTP") {
		t.Errorf("Warm = %v, want a 503 naming AllowInsecureHTTP", err)
	}
	s, b, c := unavailable("Failed to fetch authorization server metadata")
	checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims("http://127.0.0.1/")))), s, b, c)
}

// AllowInsecureHTTP (or its older name in IssuersOptions) accepts plain
// http anywhere, in both modes.
func TestAllowInsecureHTTP(t *testing.T) {
	const idp = "http://idp.example.com"
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
	}{
		{"Config.AllowInsecureHTTP", func(c *Config) { c.AllowInsecureHTTP = true }},
		{"IssuersOptions.AllowInsecureHTTP", func(c *Config) { c.Issuers.AllowInsecureHTTP = true }},
		{"several issuers, Config.AllowInsecureHTTP", func(c *Config) {
			c.AllowInsecureHTTP, c.IssuerBaseURL, c.Issuers.URLs = true, "", []string{idp + "/"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Audience: []string{testAudience}, IssuerBaseURL: idp, Now: fixedNow,
				HTTPClient: routedIdP(t, idp+"/", "http://keys.example.com/jwks.json")}
			tc.mod(&cfg)
			v, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			checkResponse(t, serve(v, bearerReq(rs256(t, baseClaims(idp+"/")))), 200, okBody, "-")
		})
	}
	// Several issuers: http stays refused without it, even on loopback,
	// as before.
	if _, err := New(Config{Audience: []string{testAudience}, Issuers: IssuersOptions{URLs: []string{"http://127.0.0.1:8080/"}}}); err == nil {
		t.Error("New accepted an http issuer in Issuers without AllowInsecureHTTP")
	}
}
