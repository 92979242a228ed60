package bearer

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestClaimsAccessors(t *testing.T) {
	testKeys(t)
	cfg, _ := modes[0].setup(t)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := rs256(t, with(baseClaims(testIssuer), map[string]any{
		"sub": "google-oauth2|42", "scope": "openid read:tasks", "permissions": []string{"write:tasks"},
		"azp": "client-1", "nbf": testNow.Unix() - 5, "aud": []string{testAudience, "https://x/userinfo"},
	}))
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Subject", c.Subject(), "google-oauth2|42"},
		{"Issuer", c.Issuer(), testIssuer},
		{"Scopes", slices.Equal(c.Scopes(), []string{"openid", "read:tasks"}), true},
		{"Permissions", slices.Equal(c.Permissions(), []string{"write:tasks"}), true},
		{"Audience", slices.Equal(c.Audience(), []string{testAudience, "https://x/userinfo"}), true},
		{"HasScope", c.HasScope("read:tasks") && !c.HasScope("write:tasks"), true},
		{"HasPermission", c.HasPermission("write:tasks") && !c.HasPermission("read:tasks"), true},
		{"ClientID", c.ClientID(), "client-1"},
		{"Algorithm", c.Algorithm(), "RS256"},
		{"KeyID", c.KeyID(), "kid"},
		{"Expiry", c.Expiry(), testNow.Add(24 * time.Hour)},
		{"IssuedAt", c.IssuedAt(), testNow},
		{"NotBefore", c.NotBefore(), testNow.Add(-5 * time.Second)},
		{"Token", c.Token, tok},
		{"missing time", c.Time("nope").IsZero(), true},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	ctx := NewContext(context.Background(), c)
	if got, ok := FromContext(ctx); !ok || got != c {
		t.Error("FromContext lost the claims")
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Error("FromContext found claims in an empty context")
	}
}
