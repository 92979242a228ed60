package bearer

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Messages of the compact serialisation, jose's (as
// express-oauth2-jwt-bearer 1.10 reports them).
const (
	msgCompact       = "Invalid Compact JWS"
	msgClaimsObject  = "JWT Claims Set must be a top-level JSON object"
	msgUnencoded     = "JWTs MUST NOT use unencoded payload"
	msgCritArray     = `"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present`
	msgB64NotBoolean = `The "b64" (base64url-encode payload) Header Parameter must be a boolean`
	msgB64Missing    = `Extension Header Parameter "b64" is missing`
)

// b64url decodes segments: unpadded, canonical base64url (RFC 7515 §2).
var b64url = base64.RawURLEncoding.Strict()

// compactJWS is a compact JWS (RFC 7515 §7.1) taken apart without trusting
// it: its protected header decoded, everything else still as it came. The
// signature is checked over the raw signing input before the payload is
// decoded, as jose does, so that a changed payload is a signature failure
// whatever the change.
type compactJWS struct {
	header map[string]any
	// signingInput is "header.payload" exactly as received: the bytes the
	// signature covers.
	signingInput string
	payload      string
	signature    string
	// fiveSegments: the token has the five segments of a JWE. Its header
	// is read (the Node library reads it before refusing the token), but
	// it is not a JWS: "Invalid Compact JWS".
	fiveSegments bool
	// lenientHeader: the header segment is not canonical base64url and was
	// read as jose reads it (lenientBase64). Such a header was changed
	// after signing, so the signature fails as in the Node library; should
	// it verify anyway, the token is refused (stricter than the Node
	// library, which accepts it).
	lenientHeader bool
}

// splitCompact splits token on its dots and decodes the protected header,
// which must be a JSON object. A token of other than three or five
// segments, or whose header does not decode, is refused with jose's
// decodeProtectedHeader message, "Invalid Token or Protected Header
// formatting".
func splitCompact(token string) (*compactJWS, *Error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 && len(parts) != 5 {
		return nil, InvalidToken(msgFormatting)
	}
	header, canonical := decodeHeader(parts[0])
	obj, ok := header.(map[string]any)
	if !ok {
		return nil, InvalidToken(msgFormatting)
	}
	j := &compactJWS{header: obj, fiveSegments: len(parts) == 5, lenientHeader: !canonical}
	if !j.fiveSegments {
		j.signingInput = token[:len(parts[0])+1+len(parts[1])]
		j.payload, j.signature = parts[1], parts[2]
	}
	return j, nil
}

// decodeHeader decodes a protected header segment into a JSON value: as
// canonical base64url when it is, else as jose decodes (lenientBase64),
// with canonical false. value is nil when the segment is empty or not
// JSON either way.
func decodeHeader(segment string) (value any, canonical bool) {
	raw, err := b64url.DecodeString(segment)
	canonical = err == nil
	if !canonical {
		raw = lenientBase64(segment)
	}
	if len(raw) == 0 || json.Unmarshal(raw, &value) != nil {
		return nil, canonical
	}
	return value, canonical
}

// lenientBase64 decodes s as Node.js's Buffer.from(s, "base64") does, which
// jose uses: both alphabets, characters outside them skipped, decoding
// stopped at the first "=", spare trailing bits dropped. It only ever reads
// a header that will fail its signature check, to report what the Node
// library reports.
func lenientBase64(s string) []byte {
	out := make([]byte, 0, len(s)*3/4)
	var acc uint32
	n := 0
decode:
	for i := 0; i < len(s); i++ {
		var v byte
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == '+' || c == '-':
			v = 62
		case c == '/' || c == '_':
			v = 63
		case c == '=':
			break decode
		default:
			continue
		}
		acc = acc<<6 | uint32(v)
		if n++; n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// verifySignature checks the signature over the raw signing input with a
// golang-jwt SigningMethod. A signature segment that does not decode is a
// signature that does not verify.
func (j *compactJWS) verifySignature(method jwt.SigningMethod, key any) bool {
	sig, err := b64url.DecodeString(j.signature)
	return err == nil && method.Verify(j.signingInput, sig, key) == nil
}

// claims decodes the payload, once the signature is checked: a JSON object
// or jose's "JWT Claims Set must be a top-level JSON object".
// raw is the decoded JSON, which Claims.Decode reads again.
func (j *compactJWS) claims() (payload map[string]any, raw []byte, e *Error) {
	raw, err := b64url.DecodeString(j.payload)
	if err != nil || len(raw) == 0 || json.Unmarshal(raw, &payload) != nil || payload == nil {
		return nil, nil, InvalidToken(msgClaimsObject)
	}
	return payload, raw, nil
}

// critCheck applies jose's rules for "crit" (RFC 7515 §4.1.11): an array of
// non-empty strings naming only "b64", the one extension jose knows, which
// must then be present and a boolean. It returns the failure's message, or
// "". unencoded reports b64 false, a JWS with an unencoded payload (RFC
// 7797), which a JWT must not be; jose says so after the signature check.
func critCheck(header map[string]any) (unencoded bool, msg string) {
	raw, ok := header["crit"]
	if !ok {
		return false, ""
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return false, msgCritArray
	}
	for _, x := range list {
		if s, ok := x.(string); !ok || s == "" {
			return false, msgCritArray
		}
	}
	for _, x := range list {
		if name := x.(string); name != "b64" {
			return false, `Extension Header Parameter "` + echo(name) + `" is not recognized`
		}
		if _, present := header["b64"]; !present {
			return false, msgB64Missing
		}
	}
	b64, isBool := header["b64"].(bool)
	if !isBool {
		return false, msgB64NotBoolean
	}
	return !b64, ""
}
