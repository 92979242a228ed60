package bearer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzExtract: any header, query and body give a token, nothing, or a 400;
// never a panic; and the handler always gets the body unchanged.
func FuzzExtract(f *testing.F) {
	f.Add("Bearer abc", "", "", "")
	f.Add("bearer  a b", "access_token=x", "application/x-www-form-urlencoded", "access_token=y")
	f.Add("", "access_token=&access_token=", "application/x-www-form-urlencoded; charset=UTF-8", "a=%zz&access_token=1")
	f.Add("Basic x", "", "application/json", `{"access_token":"x"}`)
	f.Add("", "a=1;b", "multipart/form-data; boundary=x", "--x--")
	f.Fuzz(func(t *testing.T, header, query, ctype, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.RawQuery = query
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		tok, found, err := TokenFromRequest(r, 64)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		switch {
		case err != nil:
			if found || tok != "" || e.Status != http.StatusBadRequest {
				t.Fatalf("error %+v with token %q found %v", e, tok, found)
			}
			if e.Code != "" && e.Code != CodeInvalidRequest {
				t.Fatalf("code %q", e.Code)
			}
		case !found && tok != "":
			t.Fatalf("token %q not found", tok)
		case found && strings.HasPrefix(header, "Bearer ") && !strings.Contains(header[7:], " ") && len(header) > 7 && tok != header[7:]:
			t.Fatalf("header token %q, got %q", header[7:], tok)
		}
		if found && err == nil {
			if q, _ := url.ParseQuery(query); q.Has("access_token") && header != "" {
				t.Fatalf("header and query both accepted: %q %q", header, query)
			}
		}
		got, _ := io.ReadAll(r.Body)
		if string(got) != body {
			t.Fatalf("body changed: %q -> %q", body, got)
		}
	})
}

// FuzzVerify: no token but the one good seed is ever accepted, and no
// input panics; failures are 401 invalid_token.
func FuzzVerify(f *testing.F) {
	testKeys(f)
	good := rs256(f, baseClaims(testIssuer))
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + b64([]byte(`{"iss":1,"exp":"x","aud":[[]],"nbf":{}}`)) + "." + parts[2])
	f.Add(b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(b64([]byte(`{"alg":"RS256","crit":["x"],"kid":{}}`)) + "." + parts[1] + "." + parts[2])
	f.Add("...")
	f.Add("a.b.c")
	v, err := New(Config{Audience: []string{testAudience}, Issuer: testIssuer,
		PublicKey: jwksJSON(f, jwk(&rsaKey.PublicKey, "kid", "RS256"), jwk(&ecKey.PublicKey, "eckid", "ES256"), jwk(edKey.Public(), "edkid", "EdDSA")),
		Now:       fixedNow})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err == nil {
			if token != good {
				t.Fatalf("accepted %q", token)
			}
			if c.Subject() != "me" {
				t.Fatalf("claims %+v", c)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != CodeInvalidToken || e.Message == "" {
			t.Fatalf("error %#v", err)
		}
	})
}
