package devissuer

import (
	"net"
	"net/url"
	"slices"
	"testing"
)

// FuzzRedirectAllowed: whatever the string, an accepted redirect URI is a
// registered one, or http on a loopback host with the registered path,
// no user info, query or fragment; so no code is ever sent elsewhere.
func FuzzRedirectAllowed(f *testing.F) {
	for _, s := range []string{"http://localhost:5000/app/callback", "http://127.0.0.1:8765/callback", "http://[::1]:1/callback",
		"http://127.0.0.1:8765/callback?x=1", "http://evil.example:80/callback", "http://127.0.0.1.evil.example:80/callback",
		"http://u@127.0.0.1:80/callback", "http://127.0.0.1:80/callback#f", "http://[::1%25eth0]:80/callback", "https://127.0.0.1:1/callback"} {
		f.Add(s)
	}
	c := &Client{ID: "x", RedirectURIs: []string{"http://localhost:5000/app/callback"}, LoopbackRedirectPath: "/callback"}
	f.Fuzz(func(t *testing.T, uri string) {
		if !c.redirectAllowed(uri) || slices.Contains(c.RedirectURIs, uri) {
			return
		}
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", uri, err)
		}
		ip := net.ParseIP(u.Hostname())
		loopback := u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
		if u.Scheme != "http" || !loopback || u.Path != "/callback" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() == "" {
			t.Fatalf("accepted %q: scheme %q host %q path %q", uri, u.Scheme, u.Host, u.Path)
		}
	})
}
