package bearer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Profile adapts verification and authorization to where an identity
// provider puts the audience, the scopes and the client of an access token.
// The zero Profile is the behaviour of express-oauth2-jwt-bearer 1.10:
// "aud" holds the audience and "scope" the scopes.
//
// Provider shapes it covers:
//
//	Auth0       aud array (API + userinfo URL), scope string, permissions array: zero Profile
//	Okta        scp array, cid:                                       ScopeClaims scope,scp
//	Entra ID    scp string (delegated), roles array (application):    ScopeClaims scope,scp,roles
//	Keycloak    scope string, realm_access.roles, azp:                ScopeClaims scope,realm_access.roles
//	Cognito     no aud; client_id, scope "<api>/<scope>":             AudienceClaim client_id, ScopePrefix <api>/
type Profile struct {
	// AudienceClaim names the claim checked against Config.Audience instead
	// of "aud" (a string or an array of strings), e.g. "client_id" for
	// Amazon Cognito access tokens, which carry no "aud". "" means "aud".
	AudienceClaim string
	// ScopeClaims lists the claims whose values count as scopes: strings
	// (split on spaces) or arrays of strings. A dotted name reaches into
	// nested objects ("realm_access.roles"). Empty means "scope" alone.
	ScopeClaims []string
	// ScopePrefix is removed from the front of every scope that has it:
	// Amazon Cognito names a resource server's scopes
	// "<identifier>/<scope>", e.g. "task-manager-api/read:tasks".
	ScopePrefix string
	// ClientIDs, when not empty, lists the client applications whose tokens
	// are accepted: the token's "client_id", else "azp", else "appid"
	// (Entra ID v1), else "cid" (Okta) must be one of them; otherwise 401
	// "Unexpected 'client_id' value".
	ClientIDs []string
}

// Environment variables ProfileFromEnv reads.
const (
	EnvAudienceClaim    = "AUDIENCE_CLAIM"
	EnvScopeClaims      = "SCOPE_CLAIMS"
	EnvScopePrefix      = "SCOPE_PREFIX"
	EnvAllowedClientIDs = "ALLOWED_CLIENT_IDS"
)

// maxClaimName bounds a configured claim name.
const maxClaimName = 128

// ProfileFromEnv reads a Profile from AUDIENCE_CLAIM, SCOPE_CLAIMS,
// SCOPE_PREFIX and ALLOWED_CLIENT_IDS (lists separated by commas or spaces). Unset
// variables keep the defaults; an invalid value is an error naming its
// variable.
func ProfileFromEnv(getenv func(string) string) (Profile, error) {
	p := Profile{
		AudienceClaim: strings.TrimSpace(getenv(EnvAudienceClaim)),
		ScopeClaims:   splitList(getenv(EnvScopeClaims)),
		ScopePrefix:   strings.TrimSpace(getenv(EnvScopePrefix)),
		ClientIDs:     splitList(getenv(EnvAllowedClientIDs)),
	}
	var errs []error
	if p.AudienceClaim != "" && !validClaimName(p.AudienceClaim, false) {
		errs = append(errs, fmt.Errorf("%s=%q: want a claim name such as aud or client_id", EnvAudienceClaim, clip(p.AudienceClaim)))
	}
	for _, c := range p.ScopeClaims {
		if !validClaimName(c, true) {
			errs = append(errs, fmt.Errorf("%s: %q is not a claim name (want e.g. scope,scp or realm_access.roles)", EnvScopeClaims, clip(c)))
			break
		}
	}
	if strings.ContainsAny(p.ScopePrefix, " \t,\"") || len(p.ScopePrefix) > maxClaimName {
		errs = append(errs, fmt.Errorf("%s=%q: want a prefix without spaces, commas or quotes, e.g. task-manager-api/", EnvScopePrefix, clip(p.ScopePrefix)))
	}
	if err := p.check(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

// check reports contradictory settings.
func (p Profile) check() error {
	if p.AudienceClaim == "client_id" && len(p.ClientIDs) > 0 {
		return fmt.Errorf("%s=client_id already restricts the client: list the accepted client ids in AUDIENCE and leave %s unset", EnvAudienceClaim, EnvAllowedClientIDs)
	}
	return nil
}

// Apply adds the profile's checks to cfg.Validators (a copy: the caller's
// map is not changed): the audience check on AudienceClaim in place of
// "aud", and the ClientIDs check on "client_id". It fails when cfg already
// has a Validator for one of those claims.
func (p Profile) Apply(cfg *Config) error {
	if err := p.check(); err != nil {
		return err
	}
	add := map[string]Validator{}
	skipAudience := false
	if claim := p.AudienceClaim; claim != "" && claim != "aud" {
		want := slices.Clone(cfg.Audience)
		skipAudience = true
		add[claim] = Matches(func(value any) bool {
			return slices.ContainsFunc(stringList(value, false), func(s string) bool { return slices.Contains(want, s) })
		})
	}
	if len(p.ClientIDs) > 0 {
		want := slices.Clone(p.ClientIDs)
		add["client_id"] = func(_ context.Context, _ any, c *Claims) error {
			if slices.Contains(want, clientOf(c.Payload)) {
				return nil
			}
			return ErrUnexpectedValue
		}
	}
	if len(add) == 0 {
		return nil
	}
	for name := range add {
		if _, ok := cfg.Validators[name]; ok {
			return fmt.Errorf("bearer: Profile and Config.Validators both check %q", name)
		}
	}
	if skipAudience && cfg.Validators["aud"] != nil {
		return fmt.Errorf("bearer: Profile and Config.Validators both check %q", "aud")
	}
	v := maps.Clone(cfg.Validators)
	if v == nil {
		v = make(map[string]Validator, len(add))
	}
	maps.Copy(v, add)
	cfg.Validators = v
	cfg.SkipAudienceCheck = cfg.SkipAudienceCheck || skipAudience
	return nil
}

// Scopes returns the scopes of c: the union of the ScopeClaims (or of
// "scope" alone), in order, without duplicates, ScopePrefix removed.
func (p Profile) Scopes(c *Claims) []string {
	if p.defaultScopes() {
		return c.Scopes()
	}
	names := p.ScopeClaims
	if len(names) == 0 {
		names = []string{"scope"}
	}
	var out []string
	for _, name := range names {
		for _, s := range stringList(lookupClaim(c.Payload, name), true) {
			s = strings.TrimPrefix(s, p.ScopePrefix)
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// MapScopes returns next behind a handler that, placed after
// Verifier.Authenticate, makes the scopes found in
// ScopeClaims (ScopePrefix removed) visible as the "scope" claim of the request's Claims (a
// copy: the verified Claims are shared), so that RequiredScopes and every
// reader of Claims.Scopes sees them. A token with none of the claims gets
// no "scope" claim. With the default ScopeClaims it returns next itself.
func (p Profile) MapScopes(next http.Handler) http.Handler {
	if p.defaultScopes() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if ok {
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p.Normalize(c))))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Normalize returns a copy of c whose "scope" claim is the space-separated
// Scopes(c), or c itself with the default ScopeClaims.
func (p Profile) Normalize(c *Claims) *Claims {
	if p.defaultScopes() {
		return c
	}
	payload := maps.Clone(c.Payload)
	if scopes := p.Scopes(c); len(scopes) > 0 {
		payload["scope"] = strings.Join(scopes, " ")
	} else {
		delete(payload, "scope")
	}
	return &Claims{Header: c.Header, Payload: payload, Token: c.Token}
}

func (p Profile) defaultScopes() bool {
	return p.ScopePrefix == "" && (len(p.ScopeClaims) == 0 || (len(p.ScopeClaims) == 1 && p.ScopeClaims[0] == "scope"))
}

// clientOf returns the client a token was issued to, from the claim each
// provider uses: "client_id" (RFC 9068, Cognito, Auth0 M2M), "azp" (Auth0,
// Keycloak, Entra ID v2), "appid" (Entra ID v1) or "cid" (Okta).
func clientOf(payload map[string]any) string {
	for _, name := range []string{"client_id", "azp", "appid", "cid"} {
		if s, ok := payload[name].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// lookupClaim returns the claim at a dotted path, or nil. A claim whose
// name itself contains dots is found first.
func lookupClaim(payload map[string]any, path string) any {
	if v, ok := payload[path]; ok {
		return v
	}
	var cur any = payload
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

// validClaimName reports whether s is a plausible claim name: printable
// ASCII without quotes, spaces or commas; dots only where dotted is set.
func validClaimName(s string, dotted bool) bool {
	if s == "" || len(s) > maxClaimName || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= ' ' || b >= 0x7f || b == '"' || b == '\'' || b == '\\' || b == ',' || (b == '.' && !dotted) {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
