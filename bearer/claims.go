package bearer

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Claims is a verified access token: its protected header, its payload
// (the JWT claims set) and the token itself. A Claims may be shared between
// requests (the verified-token cache hands out the same value): treat it,
// and the maps in it, as read-only.
type Claims struct {
	Header  map[string]any
	Payload map[string]any
	Token   string
	// raw is the decoded payload as signed (nil when c was not made by
	// verification), for Decode.
	raw []byte
}

// Subject returns the "sub" claim, or "" when it is missing or not a string.
func (c *Claims) Subject() string { return c.String("sub") }

// Issuer returns the "iss" claim, or "" when it is missing or not a string.
func (c *Claims) Issuer() string { return c.String("iss") }

// String returns claim name as a string, or "" when it is missing or not a
// string.
func (c *Claims) String(name string) string {
	s, _ := c.Payload[name].(string)
	return s
}

// Audience returns the "aud" claim as a list (a single string becomes a
// list of one).
func (c *Claims) Audience() []string { return stringList(c.Payload["aud"], false) }

// Scopes returns the "scope" claim as a list: a string split on U+0020
// SPACE alone (RFC 6749 §3.3, RFC 8693 §4.2; other white space is part of a
// scope) or, as some providers send it, an array of strings.
func (c *Claims) Scopes() []string { return stringList(c.Payload["scope"], true) }

// Permissions returns the "permissions" claim of Auth0 RBAC as a list.
func (c *Claims) Permissions() []string { return stringList(c.Payload["permissions"], true) }

// HasScope reports whether the "scope" claim holds scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes(), scope) }

// HasPermission reports whether the "permissions" claim holds permission.
func (c *Claims) HasPermission(permission string) bool {
	return slices.Contains(c.Permissions(), permission)
}

// ClientID returns the "client_id" claim (RFC 9068), or else Auth0's
// "azp", or "".
func (c *Claims) ClientID() string {
	if id := c.String("client_id"); id != "" {
		return id
	}
	return c.String("azp")
}

// Algorithm returns the protected header's "alg".
func (c *Claims) Algorithm() string { s, _ := c.Header["alg"].(string); return s }

// KeyID returns the protected header's "kid", or "".
func (c *Claims) KeyID() string { s, _ := c.Header["kid"].(string); return s }

// NotBefore returns the "nbf" claim as a time, or the zero time.
func (c *Claims) NotBefore() time.Time { return c.Time("nbf") }

// Expiry returns the "exp" claim as a time, or the zero time when it is
// missing or not a number.
func (c *Claims) Expiry() time.Time { return c.Time("exp") }

// IssuedAt returns the "iat" claim as a time, or the zero time.
func (c *Claims) IssuedAt() time.Time { return c.Time("iat") }

// Time returns a NumericDate claim (seconds since the epoch, possibly
// fractional) as a time, or the zero time when it is missing or not a
// number.
func (c *Claims) Time(name string) time.Time {
	f, ok := c.Payload[name].(float64)
	if !ok {
		return time.Time{}
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// stringList reads a claim that is a string or an array of strings. With
// split, a string is split as splitScopes does; otherwise it is a list of
// one. Non-string array members are skipped.
func stringList(v any, split bool) []string {
	switch v := v.(type) {
	case string:
		if split {
			return splitScopes(v)
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// splitScopes splits a scope string on U+0020 SPACE alone, as RFC 6749
// §3.3 and express-oauth2-jwt-bearer 1.10 do: a TAB or a no-break space
// joins two scopes into one that matches neither. The empty parts of
// repeated, leading or trailing spaces are dropped.
func splitScopes(s string) []string {
	out := make([]string, 0, strings.Count(s, " ")+1)
	for part := range strings.SplitSeq(s, " ") {
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

type claimsKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the verified claims the middleware put in ctx, and
// whether there were any (there are none when authentication is optional
// and the request carried no token).
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Decode decodes the verified payload into v, a pointer to the caller's
// struct (or any type encoding/json fills), as go-oidc's IDToken.Claims
// does: the JSON as it was signed, so that large integers keep their
// precision, without a second signature check. Claims built by this
// package's callers (or copied by Profile.Normalize) are decoded from
// Payload.
func (c *Claims) Decode(v any) error {
	raw := c.raw
	if raw == nil {
		var err error
		if raw, err = json.Marshal(c.Payload); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

// DecodeClaims returns the verified payload of c decoded into a T, as
// Claims.Decode does:
//
//	type myClaims struct {
//		Tenant string   `json:"https://example.com/tenant"`
//		Roles  []string `json:"roles"`
//	}
//	mine, err := bearer.DecodeClaims[myClaims](claims)
func DecodeClaims[T any](c *Claims) (T, error) {
	var v T
	err := c.Decode(&v)
	return v, err
}
