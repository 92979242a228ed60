package bearer

import (
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Validator checks one claim: value is the claim (for "alg" and "typ", the
// protected header parameter), nil when absent; payload and header are the
// whole token. Returning false rejects the token with
// "Unexpected '<claim>' value".
type Validator func(value any, payload, header map[string]any) bool

// Equals returns a Validator that accepts exactly want (a string, a number,
// a bool or nil): the string-valued validator of
// express-oauth2-jwt-bearer 1.10, generalised.
func Equals(want any) Validator {
	w := mustPrimitive(want)
	return func(value any, _, _ map[string]any) bool {
		v, ok := primitive(value)
		return ok && v == w
	}
}

// defaultOrder is the validator order of express-oauth2-jwt-bearer 1.10.
var defaultOrder = []string{"alg", "typ", "iss", "aud", "exp", "iat", "sub", "client_id", "jti"}

// claimCheck is one step of claim validation.
type claimCheck struct {
	name       string
	fromHeader bool
	msg        string
	fn         func(s *state, value any) bool
}

// state is what a check may look at.
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
// this configuration, each replaced by the caller's Validator of the same
// name (or dropped, when that is nil), then the caller's other Validators
// in name order.
func (v *Verifier) buildChecks(custom map[string]Validator) []claimCheck {
	tol, maxAge, strict := v.tolerance, v.maxAge, v.strict
	defaults := map[string]func(s *state, value any) bool{
		"iss": func(s *state, value any) bool { x, ok := value.(string); return ok && x == s.issuer },
		"aud": v.audienceOK,
		"exp": func(s *state, value any) bool { x, ok := value.(float64); return ok && x > s.now-tol },
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
	add := func(name string, fn func(*state, any) bool) {
		checks = append(checks, claimCheck{name: name, fromHeader: name == "alg" || name == "typ", msg: "Unexpected '" + name + "' value", fn: fn})
	}
	for _, name := range defaultOrder {
		fn := defaults[name]
		if c, ok := custom[name]; ok {
			switch {
			case name == "alg" && c != nil:
				fn = both(fn, wrapValidator(c))
			case name == "alg":
			default:
				fn = nil
				if c != nil {
					fn = wrapValidator(c)
				}
			}
		}
		if fn != nil {
			add(name, fn)
		}
	}
	var extra []string
	for name := range custom {
		if !slices.Contains(defaultOrder, name) && custom[name] != nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		add(name, wrapValidator(custom[name]))
	}
	return checks
}

// both passes a value that passes a and b.
func both(a, b func(*state, any) bool) func(*state, any) bool {
	return func(s *state, value any) bool { return a(s, value) && b(s, value) }
}

func wrapValidator(fn Validator) func(*state, any) bool {
	return func(s *state, value any) bool { return fn(value, s.payload, s.header) }
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

// mustPrimitive is primitive for a helper's argument: it panics, with the
// TypeError message of express-oauth2-jwt-bearer 1.10, on a non-primitive.
func mustPrimitive(x any) any {
	p, ok := primitive(x)
	if !ok {
		panic("bearer: 'expected' must be a string, number, boolean or null")
	}
	return p
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
