package bearer

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkIntrospectionCacheHit compares, in one run, a Verify answered
// from the introspection cache (an opaque token) with a Verify answered
// from the verified-token cache (the Auth0-shaped JWT of auth0Token):
//
//	go test -run '^$' -bench IntrospectionCacheHit -benchmem -count 3 ./bearer/
func BenchmarkIntrospectionCacheHit(b *testing.B) {
	ctx := context.Background()
	jwtToken := auth0Token(b)
	f := &fakeIntrospection{}
	f.Server = newBenchIntrospection(b, f)
	f.setAnswer(func(w http.ResponseWriter, tok string) {
		activeAnswer(map[string]any{"iss": auth0Issuer, "aud": "task-manager-api"})(w, tok)
	})
	v, err := New(Config{
		Audience:  []string{"task-manager-api"},
		Issuer:    auth0Issuer,
		PublicKey: jwksJSON(b, jwk(&rsaKey.PublicKey, "QzE2RjQ5MUQ3NkY0NTc0QzA0Rjc2MUI2", "RS256")),
		Now:       fixedNow,
		Introspection: IntrospectionOptions{Mode: JWTAndIntrospection, Endpoint: f.URL + "/introspect",
			ClientID: introClientID, ClientSecret: introSecret},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for _, tok := range []string{jwtToken, opaqueToken} {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct{ name, token string }{{"jwt", jwtToken}, {"introspection", opaqueToken}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, c.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := f.calls.Load(); n != 1 {
		b.Fatalf("%d introspections: the benchmark did not measure cache hits", n)
	}
}
