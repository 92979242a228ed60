package bearer

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// issuerCandidate is one issuer a discovery document may announce, and the
// Config field it comes from.
type issuerCandidate struct{ normalized, raw, field string }

// discoveryIssuers returns the issuers the discovery document of
// IssuerBaseURL may announce in single-issuer mode, normalised as
// express-oauth2-jwt-bearer 1.10 normalises issuers: the one IssuerBaseURL
// names, Issuer and DiscoveryIssuer, those that are set.
func (c *Config) discoveryIssuers() ([]issuerCandidate, error) {
	if c.IssuerBaseURL == "" {
		if c.DiscoveryIssuer != "" {
			return nil, errors.New("DiscoveryIssuer needs an IssuerBaseURL")
		}
		return nil, nil
	}
	var out []issuerCandidate
	add := func(raw, field string) bool {
		n, err := normalizeIssuer(raw, true)
		if err == nil {
			out = append(out, issuerCandidate{n, raw, field})
		}
		return err == nil
	}
	if base, ok := baseIssuer(c.IssuerBaseURL); ok {
		add(base, "IssuerBaseURL")
	}
	if c.Issuer != "" {
		add(c.Issuer, "Issuer") // an Issuer that is not a URL names no document
	}
	if c.DiscoveryIssuer != "" && !add(c.DiscoveryIssuer, "DiscoveryIssuer") {
		return nil, fmt.Errorf("DiscoveryIssuer %q is not an issuer URL", c.DiscoveryIssuer)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("'issuerBaseURL' %q does not say which issuer its metadata describes: set Issuer or DiscoveryIssuer", c.IssuerBaseURL)
	}
	return out, nil
}

// baseIssuer returns the issuer a discovery base URL names: the URL itself
// without query and fragment or, for a well-known URL, the issuer it was
// built from (OpenID Connect Discovery §4, RFC 8414 §3.1). ok is false for
// another well-known URL.
func baseIssuer(raw string) (issuer string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	p := u.EscapedPath()
	if strings.Contains(p, "/.well-known/") {
		if rest, found := strings.CutSuffix(p, oidcWellKnown); found {
			p = rest
		} else if rest, found := strings.CutPrefix(p, oauthWellKnown); found && (rest == "" || rest[0] == '/') {
			p = rest
		} else {
			return "", false
		}
	}
	return u.Scheme + "://" + u.Host + p, true
}

// Well-known metadata paths.
const (
	oidcWellKnown  = "/.well-known/openid-configuration"
	oauthWellKnown = "/.well-known/oauth-authorization-server"
)

// issuerCheck returns the check of a discovery document's issuer for
// single-issuer mode (keyset.Config.CheckIssuer), or nil without discovery.
func (c *Config) issuerCheck() (func(string) error, error) {
	want, err := c.discoveryIssuers()
	if err != nil || want == nil {
		return nil, err
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = fmt.Sprintf("%q (%s)", w.raw, w.field)
	}
	expected := strings.Join(names, " or ")
	return func(got string) error {
		n, err := normalizeIssuer(got, true)
		if err == nil && slices.ContainsFunc(want, func(w issuerCandidate) bool { return w.normalized == n }) {
			return nil
		}
		return fmt.Errorf("'issuer' %q in authorization server metadata does not match %s", got, expected)
	}, nil
}
