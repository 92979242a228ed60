package keyset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	oidcSuffix  = "/.well-known/openid-configuration"
	oauthPrefix = "/.well-known/oauth-authorization-server"
)

// discoveryURLs returns the metadata URLs to try, in order, for an issuer
// base URL (already validated). A URL whose path contains "/.well-known/"
// is used as is (query included). Otherwise, as
// express-oauth2-jwt-bearer 1.10 does:
//  1. OpenID Connect: the path with "/.well-known/openid-configuration"
//     appended (no doubled slash when the path ends with "/");
//  2. RFC 8414: "/.well-known/oauth-authorization-server" inserted before
//     the path. A terminating "/" of the path is removed first, as RFC 8414
//     §3.1 requires (the Node library keeps it).
//
// The base URL's query and fragment are dropped for both, as the Node
// library does (issuer identifiers have none).
func discoveryURLs(base *url.URL) []string {
	if strings.Contains(base.Path, "/.well-known/") {
		return []string{base.String()}
	}
	u := *base
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	path := u.EscapedPath()
	oidc, oauth := u, u
	oidc.Path, oidc.RawPath = "", ""
	oauth.Path, oauth.RawPath = "", ""
	oidcURL := oidc.String() + strings.TrimSuffix(path, "/") + oidcSuffix
	oauthURL := oauth.String() + oauthPrefix + strings.TrimSuffix(path, "/")
	return []string{oidcURL, oauthURL}
}

// errTooLarge is the cause when a response body exceeds Config.MaxBytes.
var errTooLarge = errors.New("response body exceeds the size limit")

// statusError is the cause when a response is not 200 OK.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("Failed to fetch %s, responded with %d", e.url, e.code)
}

// get fetches rawURL within Config.Timeout and returns the body of a 200
// response, at most Config.MaxBytes long, and how long it may be used:
// its Cache-Control max-age within [MinHeaderMaxAge, MaxHeaderMaxAge], or
// Config.MaxAge without one.
func (s *Set) get(ctx context.Context, rawURL string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json;q=0.9")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		return nil, 0, &statusError{url: rawURL, code: resp.StatusCode}
	}
	if resp.ContentLength > s.cfg.MaxBytes {
		return nil, 0, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(body)) > s.cfg.MaxBytes {
		return nil, 0, errTooLarge
	}
	return body, s.maxAge(resp.Header), nil
}

// isTimeout reports whether err is a fetch that ran out of time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// discover fetches the provider metadata: the first candidate URL that
// answers 200 with a JSON object holding a string "issuer" wins. Every
// failure is reported as "Failed to fetch authorization server metadata",
// the message of express-oauth2-jwt-bearer 1.10 (also for a configured
// ".well-known" URL, where the Node library surfaces the raw error), with
// the causes joined in Err.
func (s *Set) discover(ctx context.Context) (*Metadata, *Error) {
	var errs []error
	for _, u := range s.discovery {
		m, err := s.fetchMetadata(ctx, u)
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return nil, &Error{Message: msgDiscovery, Unavailable: true, Err: errors.Join(errs...)}
}

// fetchMetadata fetches and checks one metadata document.
func (s *Set) fetchMetadata(ctx context.Context, rawURL string) (*Metadata, error) {
	body, ttl, err := s.get(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Issuer      *string  `json:"issuer"`
		JWKSURI     *string  `json:"jwks_uri"`
		SigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("invalid authorization server metadata: %w", err)
	}
	if doc.Issuer == nil || *doc.Issuer == "" {
		return nil, errors.New("'issuer' not found in authorization server metadata")
	}
	if s.cfg.CheckIssuer != nil {
		if err := s.cfg.CheckIssuer(*doc.Issuer); err != nil {
			return nil, err
		}
	}
	m := &Metadata{Issuer: *doc.Issuer, JWKSURI: s.cfg.JWKSURI, SigningAlgs: doc.SigningAlgs, ttl: ttl}
	if m.JWKSURI == "" {
		if doc.JWKSURI == nil || *doc.JWKSURI == "" {
			return nil, errors.New("'jwks_uri' not found in authorization server metadata")
		}
		if err := checkURL(*doc.JWKSURI, s.cfg.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("'jwks_uri' in authorization server metadata: %w", err)
		}
		m.JWKSURI = *doc.JWKSURI
	}
	return m, nil
}

// fetchJWKS fetches and parses the key set at rawURL.
func (s *Set) fetchJWKS(ctx context.Context, rawURL string) ([]*Key, time.Duration, *Error) {
	body, ttl, err := s.get(ctx, rawURL)
	switch {
	case err == nil:
	case isTimeout(err):
		return nil, 0, &Error{Message: msgTimeout, Unavailable: true, Err: err}
	case errors.As(err, new(*statusError)):
		return nil, 0, &Error{Message: msgJWKSStatus, Unavailable: true, Err: err}
	case errors.Is(err, errTooLarge):
		return nil, 0, &Error{Message: msgJWKSTooLarge, Unavailable: true, Err: err}
	default:
		return nil, 0, &Error{Message: msgJWKSFetch, Unavailable: true, Err: err}
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, &Error{Message: err.Error(), Unavailable: true}
	}
	return keys, ttl, nil
}

// ErrInsecureHTTP is the cause when a plain-http URL is not on loopback
// and Config.AllowInsecureHTTP is off.
var ErrInsecureHTTP = errors.New("plain http is accepted only on loopback (127.0.0.0/8, ::1, localhost) without AllowInsecureHTTP")

// checkURL accepts an absolute http or https URL with a host; plain http
// only on loopback, unless allowHTTP.
func checkURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.Scheme == "http" && !allowHTTP && !Loopback(u.Hostname()) {
		return fmt.Errorf("%q: %w", raw, ErrInsecureHTTP)
	}
	return nil
}

// Loopback reports whether host (a URL's host name, without port or
// brackets) is "localhost" or an address of 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// Bounds of a Cache-Control max-age: a provider may shorten or lengthen
// the cache within them (as go-jwt-middleware v3 honours it, within its
// own bounds), never refetch on every request nor keep a set for days.
const (
	MinHeaderMaxAge = time.Minute
	MaxHeaderMaxAge = 24 * time.Hour
)

// maxAge returns how long a response with header h may be used: its
// Cache-Control max-age (no-store and no-cache count as 0) clamped to
// [MinHeaderMaxAge, MaxHeaderMaxAge], or Config.MaxAge without one or
// with a malformed one.
func (s *Set) maxAge(h http.Header) time.Duration {
	secs := int64(-1)
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache":
				secs = 0
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err != nil || n < 0 {
					return s.cfg.MaxAge
				}
				if secs != 0 {
					secs = n
				}
			}
		}
	}
	if secs < 0 {
		return s.cfg.MaxAge
	}
	return min(max(time.Duration(min(secs, int64(MaxHeaderMaxAge/time.Second)))*time.Second, MinHeaderMaxAge), MaxHeaderMaxAge)
}
