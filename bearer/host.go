package bearer

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Host and request-URL messages, those of express-oauth2-jwt-bearer 1.10.
const (
	msgInvalidHost       = "Invalid Host header"
	msgInvalidProto      = "Invalid X-Forwarded-Proto header"
	msgInvalidURL        = "Invalid request URL"
	msgPathDoubleSlash   = `Invalid request URL: Path must not start with "//"`
	msgPathAbsoluteURL   = "Invalid request URL: Path must not contain an absolute URL"
	msgHTUInvalid        = "Invalid htu claim URL"
	msgHTUInvalidHost    = "Invalid htu claim URL: Host contains illegal characters or format"
	maxHostBytes         = 255 + len("[]:65535")
	forwardedHostHeader  = "X-Forwarded-Host"
	forwardedProtoHeader = "X-Forwarded-Proto"
)

// origin is the scheme and host a request was sent to, as the client saw
// it: the DPoP proof's "htu" is compared with it.
type origin struct {
	scheme string // "http" or "https"
	host   string // validated, as received
	prefix string // a trusted proxy's X-Forwarded-Prefix, or ""
}

// requestOrigin returns the scheme and host of r. The host is the Host
// header and the scheme https when r came over TLS; when r comes from one
// of the trusted proxies (its RemoteAddr is inside a TrustedProxies
// prefix), the host and proto of the first element of its RFC 7239
// Forwarded header replace them, or without that header the first
// X-Forwarded-Host and X-Forwarded-Proto values, and its
// X-Forwarded-Prefix is put before the path. A host that is empty, carries a path, query,
// fragment, user info or "://", or has a bad port, is a 400 invalid_request
// "Invalid Host header", whatever the mode: it is checked on every request,
// as express-oauth2-jwt-bearer 1.10 does, because it becomes part of the
// URL a proof is checked against.
func (v *Verifier) requestOrigin(r *http.Request) (origin, *Error) {
	o := origin{scheme: "http", host: r.Host}
	if r.TLS != nil {
		o.scheme = "https"
	}
	if len(v.trustedProxies) > 0 && v.fromTrustedProxy(r) {
		fp := r.Header.Get(forwardedProtoHeader)
		if fwd := r.Header.Values(forwardedHeader); len(fwd) > 0 {
			el, err := firstForwarded(fwd)
			if err != nil {
				return origin{}, InvalidRequest(msgInvalidForwarded)
			}
			if el.host != "" {
				o.host = el.host
			}
			fp = el.proto
		} else if fh := firstValue(r.Header.Get(forwardedHostHeader)); r.Header.Get(forwardedHostHeader) != "" {
			o.host = fh
		}
		var e *Error
		if o.prefix, e = forwardedPrefix(r); e != nil {
			return origin{}, e
		}
		if fp != "" {
			switch p := strings.ToLower(firstValue(fp)); p {
			case "http", "https":
				o.scheme = p
			default:
				return origin{}, InvalidRequest(msgInvalidProto)
			}
		}
	}
	if !validHost(o.host) {
		return origin{}, InvalidRequest(msgInvalidHost)
	}
	return o, nil
}

// firstValue returns the first element of a comma-separated header value,
// without surrounding spaces.
func firstValue(s string) string {
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// fromTrustedProxy reports whether r's peer address is inside one of the
// TrustedProxies prefixes.
func (v *Verifier) fromTrustedProxy(r *http.Request) bool {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a
	} else {
		return false
	}
	addr = addr.Unmap()
	for _, p := range v.trustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// validHost reports whether h is a host and optional port and nothing
// else: a registered name of RFC 3986 unreserved characters (letters,
// digits, "-", ".", "_", "~"; a trailing dot is fine) or a bracketed IPv6
// literal, then an optional port of 0-65535. This is the grammar of
// express-oauth2-jwt-bearer 1.10.
func validHost(h string) bool {
	if h == "" || len(h) > maxHostBytes {
		return false
	}
	name, port := h, ""
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		port = h[end+1:]
		inner := h[1:end]
		if inner == "" {
			return false
		}
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if !(isHex(c) || c == ':' || c == '.') {
				return false
			}
		}
	} else {
		if i := strings.IndexByte(h, ':'); i >= 0 {
			name, port = h[:i], h[i:]
		}
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !isUnreserved(name[i]) {
				return false
			}
		}
	}
	if port == "" {
		return true
	}
	if port[0] != ':' || len(port) < 2 || len(port) > 6 {
		return false
	}
	n := 0
	for i := 1; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// checkPath refuses request paths that express-oauth2-jwt-bearer 1.10
// refuses before any verification: a path not starting with "/", starting
// with "//", or starting with what looks like an absolute URL
// ("/https://...").
func checkPath(r *http.Request) *Error {
	p := r.URL.EscapedPath()
	switch {
	case p == "":
		return nil
	case p[0] != '/':
		if r.Method == http.MethodOptions && p == "*" {
			return nil
		}
		return InvalidRequest(msgInvalidURL)
	case strings.HasPrefix(p, "//"):
		return InvalidRequest(msgPathDoubleSlash)
	case protocolInPath(p):
		return InvalidRequest(msgPathAbsoluteURL)
	}
	return nil
}

// protocolInPath reports whether p is "/" followed by a URL scheme and
// "://".
func protocolInPath(p string) bool {
	i := 1
	for ; i < len(p); i++ {
		c := p[i]
		isAlpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 1 && !isAlpha {
			return false
		}
		if !(isAlpha || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
	}
	return i > 1 && strings.HasPrefix(p[i:], "://")
}

// htu returns the normalised URL of r at o, for comparison with a proof's
// "htu" claim.
func (o origin) htu(r *http.Request) string {
	s, _ := normalizeURL(o.scheme, o.host, o.prefix+r.URL.EscapedPath())
	return s
}

// normalizeURL returns scheme://host/path in the form both sides of the
// "htu" comparison are brought to: scheme and host in lower case, the
// scheme's default port removed, IPv6 literals in their canonical form,
// percent-encodings of unreserved characters decoded and all others in
// upper-case hex, dot segments removed, an empty path as "/". ok is false
// when host is not a valid host.
func normalizeURL(scheme, host, escapedPath string) (string, bool) {
	if !validHost(host) {
		return "", false
	}
	scheme = strings.ToLower(scheme)
	name, port := host, ""
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		port = host[end+1:]
		a, err := netip.ParseAddr(host[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		name = "[" + a.String() + "]"
	} else {
		if i := strings.IndexByte(host, ':'); i >= 0 {
			name, port = host[:i], host[i:]
		}
		name = strings.ToLower(name)
	}
	if port != "" {
		p := strings.TrimLeft(port[1:], "0")
		if p == "" {
			p = "0"
		}
		port = ":" + p
		if scheme == "https" && port == ":443" || scheme == "http" && port == ":80" {
			port = ""
		}
	}
	path := removeDotSegments(normalizePercent(escapedPath))
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	return scheme + "://" + name + port + path, true
}

// normalizeHTU brings a proof's "htu" to the form of the request URL (see
// normalizeURL): http or https, a valid host, user info, query and
// fragment dropped.
func normalizeHTU(raw string) (string, *Error) {
	u, err := parseAbsoluteURL(raw)
	if err != nil {
		return "", invalidProof(msgHTUInvalid)
	}
	s, ok := normalizeURL(u.scheme, u.host, u.path)
	if !ok {
		return "", invalidProof(msgHTUInvalidHost)
	}
	return s, nil
}

// absoluteURL is the parts of an http or https URL that "htu" keeps.
type absoluteURL struct{ scheme, host, path string }

// parseAbsoluteURL parses an absolute http or https URL with a host.
func parseAbsoluteURL(raw string) (absoluteURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return absoluteURL{}, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Host == "" {
		return absoluteURL{}, errors.New("not an absolute http(s) URL")
	}
	return absoluteURL{scheme: u.Scheme, host: u.Host, path: u.EscapedPath()}, nil
}

// normalizePercent decodes percent-encoded unreserved characters and
// writes the other percent-encodings in upper-case hex.
func normalizePercent(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(s[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// removeDotSegments applies RFC 3986 §5.2.4 to an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	if len(out) == 1 && out[0] == "" {
		return "/"
	}
	return strings.Join(out, "/")
}
