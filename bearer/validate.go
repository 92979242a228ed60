package bearer

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Validator checks one claim of a token whose signature is verified: value
// is the claim (for "alg" and "typ", the protected header parameter), nil
// when absent; c is the whole token. ctx is the request's (Verify's), so a
// Validator may look something up (a revocation list, a tenant table).
//
// A nil error accepts the claim. ErrUnexpectedValue refuses it with the
// message of express-oauth2-jwt-bearer 1.10, "Unexpected '<claim>' value";
// an *Error is answered as it is (a 403, or a 503 when the lookup failed);
// any other error refuses the token with 401 invalid_token and the error's
// own text as the message the client sees.
//
// Validators run on every request, a verified-token cache hit included
// (the cache saves the signature check, not the Validators), in the order
// of the default checks they replace, then the others in name order.
type Validator func(ctx context.Context, value any, c *Claims) error

// ErrUnexpectedValue, returned by a Validator, refuses the token with
// "Unexpected '<claim>' value", as a false validator of
// express-oauth2-jwt-bearer 1.10 does.
var ErrUnexpectedValue = errors.New("unexpected claim value")

// Primitive is the type of a JSON value a claim can be compared with.
type Primitive interface {
	string | bool | int | int64 | float64
}

// Equals returns a Validator that accepts exactly want: the string-valued
// validator of express-oauth2-jwt-bearer 1.10, for any JSON primitive.
// Numbers compare as JSON numbers (2 equals 2.0).
func Equals[T Primitive](want T) Validator {
	w, _ := primitive(want)
	return func(_ context.Context, value any, _ *Claims) error {
		if v, ok := primitive(value); ok && v == w {
			return nil
		}
		return ErrUnexpectedValue
	}
}

// Matches returns a Validator that accepts the values for which ok returns
// true: the function validator of express-oauth2-jwt-bearer 1.10.
func Matches(ok func(value any) bool) Validator {
	return func(_ context.Context, value any, _ *Claims) error {
		if ok(value) {
			return nil
		}
		return ErrUnexpectedValue
	}
}

// defaultOrder is the validator order of express-oauth2-jwt-bearer 1.10.
var defaultOrder = []string{"alg", "typ", "iss", "aud", "exp", "iat", "sub", "client_id", "jti"}

// claimCheck is one step of claim validation: the default check (fn),
// the caller's Validator (custom), or both for "alg".
type claimCheck struct {
	name       string
	fromHeader bool
	msg        string
	fn         func(s *state, value any) bool
	custom     Validator
}

// state is what a default check may look at.
type state struct {
	header, payload map[string]any
	now             float64 // seconds since the epoch, floored as in express-oauth2-jwt-bearer 1.10
	issuer          string
	// algs are the discovered id_token_signing_alg_values_supported (nil
	// without discovery).
	algs []string
	// pinned is the verifying issuer's TokenSigningAlg, or "".
	pinned string
}

// buildChecks returns the claim checks in the order of
// express-oauth2-jwt-bearer 1.10: the default ones that do something for
// this configuration (less those its Skip fields name), each replaced by
// the caller's Validator of the same name, then the caller's other
// Validators in name order.
func (v *Verifier) buildChecks(cfg *Config) []claimCheck {
	tol, maxAge, strict := v.tolerance, v.maxAge, v.strict
	defaults := map[string]func(s *state, value any) bool{}
	if !cfg.SkipIssuerCheck {
		defaults["iss"] = func(s *state, value any) bool { x, ok := value.(string); return ok && x == s.issuer }
	}
	if !cfg.SkipAudienceCheck {
		defaults["aud"] = v.audienceOK
	}
	if !cfg.AllowNoExpiry {
		defaults["exp"] = func(s *state, value any) bool { x, ok := value.(float64); return ok && x > s.now-tol }
	}
	if maxAge > 0 {
		defaults["iat"] = func(s *state, value any) bool {
			x, ok := value.(float64)
			return ok && x < s.now+tol && x > s.now-tol-maxAge
		}
	} else if strict {
		defaults["iat"] = func(s *state, value any) bool { _, ok := value.(float64); return ok }
	}
	if strict {
		defaults["typ"] = func(s *state, value any) bool {
			x, ok := value.(string)
			return ok && (strings.EqualFold(x, "at+jwt") || strings.EqualFold(x, "application/at+jwt"))
		}
		isString := func(s *state, value any) bool { _, ok := value.(string); return ok }
		defaults["sub"], defaults["client_id"], defaults["jti"] = isString, isString, isString
	}
	// The default "alg" check (the discovered algorithms, TokenSigningAlg)
	// always runs: an "alg" Validator is asked too, so that it can only
	// narrow what is accepted. The allow-list is enforced before the
	// signature is checked.
	defaults["alg"] = func(s *state, value any) bool {
		alg, _ := value.(string)
		return (s.algs == nil || slices.Contains(s.algs, alg)) && (s.pinned == "" || alg == s.pinned)
	}
	var checks []claimCheck
	add := func(name string, fn func(*state, any) bool, custom Validator) {
		checks = append(checks, claimCheck{name: name, fromHeader: name == "alg" || name == "typ",
			msg: "Unexpected '" + name + "' value", fn: fn, custom: custom})
	}
	for _, name := range defaultOrder {
		fn, custom := defaults[name], cfg.Validators[name]
		if custom != nil && name != "alg" {
			fn = nil // the caller's Validator replaces the default check
		}
		if fn != nil || custom != nil {
			add(name, fn, custom)
		}
	}
	var extra []string
	for name := range cfg.Validators {
		if !slices.Contains(defaultOrder, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		add(name, nil, cfg.Validators[name])
	}
	return checks
}

// runChecks applies the claim checks to c; with customOnly (a cache hit,
// whose default checks passed when it was verified), only the caller's
// Validators.
func (v *Verifier) runChecks(ctx context.Context, s *state, c *Claims, customOnly bool) *Error {
	for i := range v.checks {
		ch := &v.checks[i]
		if customOnly && ch.custom == nil {
			continue
		}
		var val any
		if ch.fromHeader {
			val = c.Header[ch.name]
		} else {
			val = c.Payload[ch.name]
		}
		if !customOnly && ch.fn != nil && !ch.fn(s, val) {
			return InvalidToken(ch.msg)
		}
		if ch.custom != nil {
			if err := ch.custom(ctx, val, c); err != nil {
				return validatorError(ch.msg, err)
			}
		}
	}
	return nil
}

// validatorError turns a Validator's error into the answer: msg for
// ErrUnexpectedValue, an *Error as is, else 401 invalid_token with the
// error's text.
func validatorError(msg string, err error) *Error {
	var e *Error
	switch {
	case errors.Is(err, ErrUnexpectedValue):
		return InvalidToken(msg)
	case errors.As(err, &e):
		return e
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: err.Error(), Err: err}
}

// audienceOK reports whether aud (a string or an array) names one of the
// configured audiences.
func (v *Verifier) audienceOK(_ *state, aud any) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(v.audience, a)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && slices.Contains(v.audience, s) {
				return true
			}
		}
	}
	return false
}

// timeChecks applies jose's checks, which come before the validators:
// numeric "iat" when present, then "nbf" and "exp" when present, their
// type and their time with the tolerance.
func (v *Verifier) timeChecks(p map[string]any, now float64) *Error {
	for _, c := range []struct {
		name    string
		outside func(x float64) bool // the time check; nil: the type alone
	}{
		{"iat", nil},
		{"nbf", func(x float64) bool { return x > now+v.tolerance }},
		{"exp", func(x float64) bool { return x <= now-v.tolerance }},
	} {
		raw, ok := p[c.name]
		if !ok {
			continue
		}
		x, num := raw.(float64)
		if !num {
			return InvalidToken(`"` + c.name + `" claim must be a number`)
		}
		if c.outside != nil && c.outside(x) {
			return InvalidToken(`"` + c.name + `" claim timestamp check failed`)
		}
	}
	return nil
}

// primitive normalises a JSON primitive for comparison: every Go number
// becomes a float64, like a decoded JSON number.
func primitive(x any) (any, bool) {
	switch x.(type) {
	case nil, string, bool, float64:
		return x, true
	case float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return reflect.ValueOf(x).Convert(reflect.TypeFor[float64]()).Interface(), true
	}
	return nil, false
}
