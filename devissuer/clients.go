package devissuer

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Client is an application registered with the issuer's authorization
// code flow. Only registered clients can obtain tokens through the
// authorization endpoint, and only at their registered redirect URIs, so
// that no other page can have tokens minted for it.
type Client struct {
	// ID is the client_id the application sends.
	ID string
	// RedirectURIs are the exact redirect URIs accepted, e.g.
	// http://localhost:5000/app/callback. Their origins are the origins
	// whose scripts may call the token endpoint (CORS).
	RedirectURIs []string
	// LoopbackRedirectPath, when set, also accepts http://127.0.0.1:PORT,
	// http://[::1]:PORT and http://localhost:PORT with this path and any
	// port: the redirect of a native application such as `taskapi login`
	// (RFC 8252 §7.3). Such redirects are not CORS origins.
	LoopbackRedirectPath string
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser back to after signing out.
	PostLogoutRedirectURIs []string
	// TokenTTL is the lifetime of the access tokens issued to the client
	// (DefaultTTL when zero).
	TokenTTL time.Duration
}

// WithClient registers a client for the authorization code flow. Without
// any, the issuer has no authorization, token or end-session endpoint.
func WithClient(c Client) Option {
	return func(i *Issuer) { i.clients = append(i.clients, c) }
}

// WithDefaultSubject sets the user the sign-in page proposes (default
// "dev|demo-user").
func WithDefaultSubject(sub string) Option { return func(i *Issuer) { i.defaultSubject = sub } }

// client returns the registered client of id, or nil.
func (i *Issuer) client(id string) *Client {
	for k := range i.clients {
		if i.clients[k].ID == id && id != "" {
			return &i.clients[k]
		}
	}
	return nil
}

// redirectAllowed reports whether uri is one of c's redirect URIs.
func (c *Client) redirectAllowed(uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if c.LoopbackRedirectPath == "" {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.Path != c.LoopbackRedirectPath {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && !strings.Contains(u.Host, "%")
}

// origins returns the origins of the registered redirect URIs of every
// client: the pages allowed to call the token endpoint from a script.
func (i *Issuer) origins() []string {
	var out []string
	for _, c := range i.clients {
		for _, r := range c.RedirectURIs {
			if o := originOf(r); o != "" && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// originOf returns scheme://host[:port] of an absolute URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
