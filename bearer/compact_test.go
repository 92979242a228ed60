package bearer

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestSplitCompact(t *testing.T) {
	h := b64url.EncodeToString([]byte(`{"alg":"RS256"}`))
	p := b64url.EncodeToString([]byte(`{"sub":"a"}`))
	for _, tc := range []struct {
		name, token string
		err         string // "" when it splits
		five        bool
		lenient     bool
	}{
		{"three segments", h + "." + p + ".sig", "", false, false},
		{"five segments", h + "." + p + ".a.b.c", "", true, false},
		{"one segment", h, msgFormatting, false, false},
		{"two segments", h + "." + p, msgFormatting, false, false},
		{"four segments", h + "." + p + ".a.b", msgFormatting, false, false},
		{"empty header", "." + p + ".sig", msgFormatting, false, false},
		{"header an array", b64url.EncodeToString([]byte(`[1]`)) + "." + p + ".s", msgFormatting, false, false},
		{"header not JSON", b64url.EncodeToString([]byte(`{"alg"`)) + "." + p + ".s", msgFormatting, false, false},
		{"header padded, read as jose reads it", h + "==." + p + ".s", "", false, true},
		{"header with a stray character", h[:4] + "!" + h[4:] + "." + p + ".s", "", false, true},
		{"payload not decodable: split anyway", h + ".!!!.s", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, e := splitCompact(tc.token)
			if tc.err != "" {
				if e == nil || e.Message != tc.err {
					t.Fatalf("error = %v, want %q", e, tc.err)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			if j.header["alg"] != "RS256" || j.fiveSegments != tc.five || j.lenientHeader != tc.lenient {
				t.Fatalf("got %+v", j)
			}
			if !tc.five && j.signingInput+"."+j.signature != tc.token {
				t.Errorf("signing input %q and signature %q do not make the token", j.signingInput, j.signature)
			}
		})
	}
}

// TestVerifyBeforeDecode: a payload segment that is not base64url at all
// is a signature failure, since the signature covers the raw bytes; the
// payload is decoded only once the signature verified.
func TestVerifyBeforeDecode(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h := b64url.EncodeToString([]byte(`{"alg":"HS256"}`))
	for _, payload := range []string{"!!!", "e30", "W10"} { // garbage, {}, []
		sig, _ := jwt.SigningMethodHS256.Sign(h+"."+payload, key)
		good := h + "." + payload + "." + b64url.EncodeToString(sig)
		j, e := splitCompact(good)
		if e != nil || !j.verifySignature(jwt.SigningMethodHS256, key) {
			t.Fatalf("%s: signature over the raw input does not verify", payload)
		}
		_, _, e = j.claims()
		if (payload == "e30") != (e == nil) {
			t.Errorf("%s: claims error = %v", payload, e)
		}
		tampered, _ := splitCompact(h + "." + payload + "x." + b64url.EncodeToString(sig))
		if tampered.verifySignature(jwt.SigningMethodHS256, key) {
			t.Errorf("%s: tampered payload verified", payload)
		}
	}
}

// TestLenientBase64: what Node.js 20's Buffer.from(s, "base64") gives.
func TestLenientBase64(t *testing.T) {
	for in, want := range map[string]string{
		"eyJ9":       `{"}`,
		"ey J9":      `{"}`,
		"eyJ9==":     `{"}`,
		"ey=J9":      "{",
		"-_":         "\xfb",
		"+/":         "\xfb",
		"QUJD!":      "ABC",
		"QUI":        "AB",
		"QQ":         "A",
		"Q":          "",
		"":           "",
		"\x00\xffQQ": "A",
	} {
		if got := string(lenientBase64(in)); got != want {
			t.Errorf("lenientBase64(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLenientBase64: on canonical input it agrees with the strict decoder
// (both alphabets), and it never panics on any other.
func FuzzLenientBase64(f *testing.F) {
	f.Add([]byte("hello"), "")
	f.Add([]byte{0xfb, 0xff}, "!=")
	f.Fuzz(func(t *testing.T, data []byte, noise string) {
		enc := base64.RawURLEncoding.EncodeToString(data)
		if got := lenientBase64(enc); !bytes.Equal(got, data) {
			t.Fatalf("base64url %q decoded to %x, want %x", enc, got, data)
		}
		std := base64.RawStdEncoding.EncodeToString(data)
		if got := lenientBase64(std); !bytes.Equal(got, data) {
			t.Fatalf("base64 %q decoded to %x, want %x", std, got, data)
		}
		lenientBase64(enc + noise)
	})
}

// FuzzSplitCompact: any string splits or is refused with jose's
// formatting message, never panics, and a split token's signing input and
// signature are exactly its own bytes.
func FuzzSplitCompact(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiJ9==.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		j, e := splitCompact(token)
		if e != nil {
			if e.Message != msgFormatting {
				t.Fatalf("error %q", e.Message)
			}
			return
		}
		if j.header == nil {
			t.Fatal("split with no header")
		}
		if !j.fiveSegments && j.signingInput+"."+j.signature != token {
			t.Fatalf("parts of %q do not make it", token)
		}
		if !j.fiveSegments && !strings.HasPrefix(token, j.signingInput+".") {
			t.Fatal("signing input is not the token's prefix")
		}
		j.claims()
		critCheck(j.header)
	})
}
