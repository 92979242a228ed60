package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxResolvedIssuers bounds the key sets kept for issuers that
// IssuersOptions.Resolve returns.
const DefaultMaxResolvedIssuers = 100

// IssuersOptions accepts tokens from several issuers (the "mcd" option of
// express-oauth2-jwt-bearer 1.10). Set URLs and/or Configs for a fixed
// list, or Resolve to decide per request. It excludes IssuerBaseURL,
// Issuer, JWKSURI, Secret, PublicKey and TokenSigningAlg, which are set per
// issuer instead.
//
// The token's "iss" is read without verifying the token, normalised (scheme
// and host in lower case, default port removed, one trailing "/" removed, a
// missing scheme read as https) and matched against the normalised
// configured issuers before any key is fetched: a token from any other
// issuer is refused with "Token issuer is not allowed" and costs no network
// request. Each issuer has its own discovery and key set cache, with all the
// guarantees of the single-issuer mode; when the issuer is discovered, the
// metadata's "issuer" must match the token's (after normalisation).
type IssuersOptions struct {
	// URLs lists issuer URLs; each one's keys are found by discovery.
	URLs []string
	// Configs lists issuers with their own settings. It may be combined
	// with URLs.
	Configs []IssuerConfig
	// Resolve, called for every request, returns the issuers accepted for
	// it. It excludes URLs and Configs. An error that is an *Error is
	// answered as is; any other error is answered 503
	// temporarily_unavailable (its text is not shown to the client).
	Resolve func(ctx context.Context, req IssuerRequest) ([]IssuerConfig, error)
	// MaxResolved bounds how many issuers' key sets returned by Resolve are
	// kept (least recently used first out; DefaultMaxResolvedIssuers).
	MaxResolved int
	// AllowInsecureHTTP accepts http:// issuers. Use it for development
	// only: the discovery and key set fetches are then unauthenticated.
	// Config.AllowInsecureHTTP is the same setting for both modes.
	AllowInsecureHTTP bool
}

// IssuerConfig is one accepted issuer. With only Issuer set, its keys are
// found by discovery from Issuer.
type IssuerConfig struct {
	// Issuer is the issuer URL ("iss"), matched after normalisation.
	// Required.
	Issuer string
	// IssuerBaseURL, when set, is where discovery starts instead of Issuer
	// (a "/.well-known/" URL is fetched as is).
	IssuerBaseURL string
	// JWKSURI is the issuer's key set; no discovery is made.
	JWKSURI string
	// Secret verifies HS256/HS384/HS512 tokens; it needs TokenSigningAlg.
	Secret string
	// PublicKey is a static key (PEM, JWK or JWKS); no network is used.
	PublicKey []byte
	// Keys is the caller's key set for this issuer (see Config.Keys); no
	// network is used. It excludes IssuerBaseURL, JWKSURI, Secret and
	// PublicKey, and is for IssuersOptions.Configs only: a Resolve
	// function's issuers are cached by their settings, which a KeySet
	// cannot be compared by.
	Keys KeySet
	// TokenSigningAlg pins the issuer's "alg".
	TokenSigningAlg string
}

// IssuerURLs returns the configurations of plain issuer URLs, for a Resolve
// function that only names issuers.
func IssuerURLs(urls ...string) []IssuerConfig {
	out := make([]IssuerConfig, len(urls))
	for i, u := range urls {
		out[i].Issuer = u
	}
	return out
}

// IssuerRequest is what IssuersOptions.Resolve is told about a request.
type IssuerRequest struct {
	// Issuer is the token's "iss" as sent, not yet verified: use it to look
	// an issuer up, never to trust it.
	Issuer string
	// Normalized is Issuer after normalisation, the form that is matched.
	Normalized string
	// Request is the HTTP request, or nil when Verify was called directly
	// (see WithRequest).
	Request *http.Request
}

type requestKey struct{}

// WithRequest returns ctx carrying r, so that an IssuersOptions.Resolve
// function called from Verify sees the request. The middleware does this
// itself.
func WithRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// Multi-issuer messages, those of express-oauth2-jwt-bearer 1.10.
const (
	msgMissingIss        = "Token missing required 'iss' claim"
	msgIssuerNotAllowed  = "Token issuer is not allowed"
	msgMetadataIssuer    = "Discovery metadata issuer does not match token issuer"
	msgNoIssuers         = "No issuers configured for token validation"
	msgIssuerUserinfo    = "Invalid issuer URL: URLs must not contain userinfo (username:password)"
	msgIssuerQuery       = "Invalid issuer URL: URLs must not contain query parameters"
	msgIssuerFragment    = "Invalid issuer URL: URLs must not contain fragments"
	msgIssuerHTTP        = "HTTP issuer URL detected. Use HTTPS for security (AllowInsecureHTTP allows it for development)."
	msgIssuerUnparseable = "Invalid issuer URL"
	msgResolverFailed    = "Unable to resolve the token issuer"

	msgMultiBase      = "You must not provide both 'mcd' and 'issuerBaseURL'"
	msgMultiIssuer    = "You must not provide both 'mcd' and 'issuer'. Use 'mcd' for multi-issuer mode."
	msgMultiJWKS      = "You must not provide both 'mcd' and 'jwksUri'. Use 'mcd' for multi-issuer mode."
	msgMultiSecret    = `Cannot use top-level "secret" with mcd mode. Specify secrets per-issuer in the issuer configuration: { issuer: "...", secret: "...", alg: "HS256" }`
	msgMultiPublicKey = `Cannot use top-level "publicKey" with mcd mode. Specify publicKey per-issuer in the issuer configuration: { issuer: "...", publicKey: "..." }`
	msgMultiAlg       = "Cannot use top-level 'tokenSigningAlg' with mcd mode. Specify TokenSigningAlg per issuer"
	msgMultiRequired  = "Invalid MCD configuration: 'issuers' is required"
	msgMultiBoth      = "Issuers: Resolve excludes URLs and Configs"
)

// configured reports whether multi-issuer mode is asked for.
func (o *IssuersOptions) configured() bool {
	return o.URLs != nil || o.Configs != nil || o.Resolve != nil
}

// checkIssuers validates the multi-issuer options against the rest of c.
func (c *Config) checkIssuers() error {
	o := &c.Issuers
	if msg := firstBroken(
		rule{c.IssuerBaseURL != "", msgMultiBase},
		rule{c.Issuer != "", msgMultiIssuer},
		rule{c.JWKSURI != "", msgMultiJWKS},
		rule{c.Secret != "", msgMultiSecret},
		rule{len(c.PublicKey) > 0, msgMultiPublicKey},
		rule{c.TokenSigningAlg != "", msgMultiAlg},
		rule{c.DiscoveryIssuer != "", "DiscoveryIssuer is for single-issuer mode: with Issuers, each issuer's metadata must announce that issuer"},
		rule{o.Resolve != nil && (o.URLs != nil || o.Configs != nil), msgMultiBoth},
		rule{o.Resolve == nil && len(o.URLs) == 0 && len(o.Configs) == 0, msgMultiRequired},
		rule{o.MaxResolved < 0, "Issuers: MaxResolved must not be negative"},
	); msg != "" {
		return errors.New(msg)
	}
	seen := map[string]bool{}
	for _, ic := range o.all() {
		n, err := ic.check(c.allowInsecureHTTP())
		if err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("Configuration error: Issuer '%s' is configured more than once", ic.Issuer)
		}
		seen[n] = true
	}
	return nil
}

// all returns the static issuers: URLs, then Configs.
func (o *IssuersOptions) all() []IssuerConfig {
	return append(IssuerURLs(o.URLs...), o.Configs...)
}

// check validates one issuer as express-oauth2-jwt-bearer 1.10 does at
// startup and returns its normalised issuer.
func (ic *IssuerConfig) check(allowHTTP bool) (string, error) {
	n, err := normalizeIssuer(ic.Issuer, allowHTTP)
	if err != nil {
		return "", fmt.Errorf("%s: %q", err.Error(), ic.Issuer)
	}
	if e := ic.consistency(); e != "" {
		return "", fmt.Errorf("Configuration error: Issuer '%s' %s", ic.Issuer, e)
	}
	if ic.TokenSigningAlg != "" && !slices.Contains(asymmetricAlgs, ic.TokenSigningAlg) && !slices.Contains(symmetricAlgs, ic.TokenSigningAlg) {
		return "", fmt.Errorf("Configuration error: Issuer '%s' specifies unsupported algorithm '%s'", ic.Issuer, ic.TokenSigningAlg)
	}
	for _, raw := range []struct{ name, u string }{{"IssuerBaseURL", ic.IssuerBaseURL}, {"JWKSURI", ic.JWKSURI}} {
		if raw.u == "" {
			continue
		}
		if err := checkFetchURL(raw.u, allowHTTP); err != nil {
			return "", fmt.Errorf("Configuration error: Issuer '%s' %s: %w", ic.Issuer, raw.name, err)
		}
	}
	return n, nil
}

// consistency returns what is wrong with the combination of an issuer's
// settings (in the words of express-oauth2-jwt-bearer 1.10), or "".
func (ic *IssuerConfig) consistency() string {
	hasSecret, hasKey := ic.Secret != "", len(ic.PublicKey) > 0
	alg := ic.TokenSigningAlg
	switch {
	case ic.Keys != nil && (hasKey || hasSecret || ic.JWKSURI != "" || ic.IssuerBaseURL != ""):
		return "provides 'Keys' and another key source ('publicKey', 'secret', 'jwksUri' or 'issuerBaseURL'). Use one of them."
	case hasKey && ic.JWKSURI != "":
		return "provides both 'publicKey' and 'jwksUri'. These are mutually exclusive."
	case hasKey && hasSecret:
		return "provides both 'publicKey' and 'secret'. Use 'publicKey' for asymmetric and 'secret' for symmetric verification."
	case hasSecret && (ic.JWKSURI != "" || ic.IssuerBaseURL != ""):
		return "provides a secret and a key source ('jwksUri' or 'issuerBaseURL'). Use one of them."
	case alg != "" && slices.Contains(symmetricAlgs, alg) && !hasSecret:
		return "specifies symmetric algorithm '" + alg + "' but no secret provided. Either provide a secret or use an asymmetric algorithm (" + asymmetricList + ")."
	case hasSecret && alg != "" && slices.Contains(asymmetricAlgs, alg):
		return "provides a secret but specifies asymmetric algorithm '" + alg + "'. Symmetric algorithms are: " + symmetricList + "."
	case hasSecret && alg == "":
		return "provides a secret but no 'alg' specified. Specify one of: " + symmetricList + "."
	case hasSecret && len(ic.Secret) < MinSecretBytes(alg):
		// Not the length itself: with Resolve, the message is answered
		// to clients.
		return fmt.Sprintf("provides a secret shorter than the %d bytes %s needs (RFC 7518 §3.2).", MinSecretBytes(alg), alg)
	}
	return ""
}

// checkFetchURL checks a discovery or key set URL: absolute, http(s),
// http only when allowed.
func checkFetchURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute https URL")
	}
	if u.Scheme == "http" && !allowHTTP {
		return errors.New(msgIssuerHTTP)
	}
	return nil
}

// normalizeIssuer returns the form in which issuers are compared, as
// express-oauth2-jwt-bearer 1.10 computes it: a missing scheme is https,
// scheme and host are lower case, the default port is dropped, and so is
// one trailing "/" of the path. Userinfo, a query or a fragment is an
// error, and so is http unless allowHTTP.
func normalizeIssuer(raw string, allowHTTP bool) (string, error) {
	s := raw
	if l := strings.ToLower(s); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New(msgIssuerUnparseable)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "http" && !allowHTTP:
		return "", errors.New(msgIssuerHTTP)
	case u.User != nil:
		return "", errors.New(msgIssuerUserinfo)
	case u.RawQuery != "":
		return "", errors.New(msgIssuerQuery)
	case u.Fragment != "":
		return "", errors.New(msgIssuerFragment)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New(msgIssuerUnparseable)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return "", errors.New(msgIssuerUnparseable)
		}
		if !(scheme == "https" && n == 443) && !(scheme == "http" && n == 80) {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(n, 10))
		}
	}
	if p := u.EscapedPath(); p != "" && p != "/" {
		b.WriteString(strings.TrimSuffix(p, "/"))
	}
	return b.String(), nil
}
