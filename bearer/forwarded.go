package bearer

import (
	"errors"
	"net/http"
	"strings"
)

// Headers of a trusted proxy beside X-Forwarded-Host and -Proto.
const (
	forwardedHeader       = "Forwarded"
	forwardedPrefixHeader = "X-Forwarded-Prefix"
	msgInvalidForwarded   = "Invalid Forwarded header"
	msgInvalidPrefix      = "Invalid X-Forwarded-Prefix header"
	maxPrefixBytes        = 1024
)

// forwardedElement is what this package reads of the first element of an
// RFC 7239 Forwarded header: the host and the protocol the client used.
type forwardedElement struct{ host, proto string }

var errForwarded = errors.New(msgInvalidForwarded)

// firstForwarded parses the first forwarded-element of the Forwarded
// field values (RFC 7239 §4): pairs of a token, "=" and a token or a
// quoted-string, separated by ";", up to the first ",". Parameter names
// are case-insensitive and may occur once. The first element is the one
// the proxy nearest to the client wrote: the request as the client sent
// it.
func firstForwarded(values []string) (forwardedElement, error) {
	s := strings.Join(values, ",")
	var el forwardedElement
	seen := map[string]bool{}
	for i := 0; ; {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) || s[i] == ',' {
			return el, nil
		}
		if s[i] == ';' {
			i++
			continue
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" || i == len(s) || s[i] != '=' || seen[name] {
			return forwardedElement{}, errForwarded
		}
		seen[name] = true
		i++
		var value string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			for i++; ; i++ {
				if i == len(s) {
					return forwardedElement{}, errForwarded
				}
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i++
					c = s[i]
				} else if c == '"' {
					i++
					break
				}
				b.WriteByte(c)
			}
			value = b.String()
		} else {
			start = i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			value = s[start:i]
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] != ';' && s[i] != ',' {
			return forwardedElement{}, errForwarded
		}
		switch name {
		case "host":
			el.host = value
		case "proto":
			el.proto = value
		}
	}
}

// isTokenChar reports whether c may be part of an RFC 7230 token.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isSeparator(c)
}

// forwardedPrefix returns the path prefix a trusted proxy removed before
// passing the request on (X-Forwarded-Prefix, its first value), without
// a trailing "/", or "" when there is none. A prefix that is not an
// absolute path of RFC 3986 characters, starts with "//", or has a query,
// a fragment or a dot segment is an error: it becomes part of the URL a
// DPoP proof must name.
func forwardedPrefix(r *http.Request) (string, *Error) {
	raw := r.Header.Get(forwardedPrefixHeader)
	if raw == "" {
		return "", nil
	}
	p := strings.TrimRight(firstValue(raw), "/")
	if p == "" {
		return "", nil
	}
	if p[0] != '/' || strings.HasPrefix(p, "//") || len(p) > maxPrefixBytes {
		return "", InvalidRequest(msgInvalidPrefix)
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return "", InvalidRequest(msgInvalidPrefix)
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(isUnreserved(c) || c == '/' || c == '%' || strings.IndexByte("!$&'()*+,;=:@", c) >= 0) {
			return "", InvalidRequest(msgInvalidPrefix)
		}
	}
	return p, nil
}
