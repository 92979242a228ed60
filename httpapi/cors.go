package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// CORS answers of the API.
const (
	corsAllowMethods = "GET, POST, PUT, PATCH, DELETE"
	// DPoP carries a proof of possession (RFC 9449) beside a DPoP token.
	corsAllowHeaders = "Authorization, Confirm, Content-Type, DPoP, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"
	// corsExposeHeaders are the response headers a browser script may read.
	corsExposeHeaders = "ETag, Location, Link, X-Request-Id, Retry-After, RateLimit, RateLimit-Policy, WWW-Authenticate, DPoP-Nonce, Idempotent-Replayed"
	// corsMaxAge is how long a browser may cache a preflight answer, in
	// seconds (browsers cap it: Chromium at 2 hours).
	corsMaxAge = 7200
)

// cors is the CORS policy: the origins allowed, or any.
type cors struct {
	any     bool
	origins []string
}

// newCORS checks the configured origins: "*" alone, or origins of the form
// scheme://host[:port] with no path, query or trailing slash.
func newCORS(origins []string) (*cors, error) {
	if slices.Contains(origins, "*") {
		if len(origins) > 1 {
			return nil, fmt.Errorf(`httpapi: CORSOrigins: "*" must be the only origin`)
		}
		return &cors{any: true}, nil
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.String() != o {
			return nil, fmt.Errorf("httpapi: CORSOrigins: %q is not an origin (scheme://host[:port], as a browser sends it)", o)
		}
	}
	return &cors{origins: slices.Clone(origins)}, nil
}

// allowed returns the Access-Control-Allow-Origin value for origin, or ""
// when the origin is not allowed.
func (c *cors) allowed(origin string) string {
	switch {
	case origin == "":
		return ""
	case c.any:
		return "*"
	case slices.Contains(c.origins, origin):
		return origin
	}
	return ""
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// apply sets the CORS headers of the answer to r and reports whether r was
// a preflight from an allowed origin, which the caller answers 204 and does
// not pass on. A request from an origin not allowed gets no CORS header and
// proceeds (the browser enforces the policy).
func (c *cors) apply(h http.Header, r *http.Request) (preflight bool) {
	if !c.any {
		h.Add("Vary", "Origin")
	}
	allow := c.allowed(r.Header.Get("Origin"))
	if allow == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if !isPreflight(r) {
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	return true
}
