package interop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

// Fixtures of interop/provider/server.js for Token Introspection.
const (
	opaqueResource = "urn:task-manager-api-opaque"
	rsClient       = "taskapi-rs" // authenticates with client_secret_post
	rsSecret       = "taskapi-rs-secret"
)

// opaqueToken gets an opaque access token for the API.
func (p *provider) opaqueToken(t *testing.T) string {
	t.Helper()
	tok := p.clientCredentials(t, m2mClient, m2mSecret, url.Values{"scope": {"read:tasks write:tasks"}, "resource": {opaqueResource}})
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("the provider issued a JWT, not an opaque token: %.40s…", tok)
	}
	return tok
}

// introspectingVerifier verifies JWTs and introspects other tokens at p,
// found by discovery, as client id with secret.
func introspectingVerifier(t *testing.T, p *provider, id, secret, method string, bound time.Duration) *bearer.Verifier {
	t.Helper()
	v, err := bearer.New(bearer.Config{
		IssuerBaseURL: p.Issuer,
		Audience:      []string{apiAudience},
		Timeout:       2 * time.Second,
		Introspection: bearer.IntrospectionOptions{Mode: bearer.JWTAndIntrospection, ClientID: id, ClientSecret: secret,
			AuthMethod: method, CacheMaxAge: bound},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// TestIntrospectionOpaqueTokens verifies oidc-provider's opaque access
// tokens at its introspection endpoint, with both client authentication
// methods, beside its JWTs, and through the service.
func TestIntrospectionOpaqueTokens(t *testing.T) {
	p := sharedProvider(t)
	if ep, _ := p.metadata(t)["introspection_endpoint"].(string); ep == "" {
		t.Fatal("the provider announces no introspection_endpoint")
	}
	ctx := context.Background()
	opaque := p.opaqueToken(t)
	jwtToken := p.clientCredentials(t, m2mClient, m2mSecret, url.Values{"scope": {"read:tasks"}, "resource": {apiResource}})
	for _, c := range []struct{ id, secret, method string }{
		{otherClient, otherSecret, bearer.ClientSecretBasic},
		{rsClient, rsSecret, bearer.ClientSecretPost},
	} {
		t.Run(c.method, func(t *testing.T) {
			v := introspectingVerifier(t, p, c.id, c.secret, c.method, 0)
			if err := v.Warm(ctx); err != nil {
				t.Fatalf("Warm: %v", err)
			}
			claims, err := v.Verify(ctx, opaque)
			if err != nil {
				t.Fatalf("opaque token refused: %v", err)
			}
			if claims.Issuer() != p.Issuer || claims.ClientID() != m2mClient || claims.Subject() != m2mClient ||
				!claims.HasScope("write:tasks") || claims.Expiry().IsZero() {
				t.Errorf("claims = %v", claims.Payload)
			}
			if _, err := v.Verify(ctx, jwtToken); err != nil {
				t.Errorf("JWT beside introspection: %v", err)
			}
			if _, err := v.Verify(ctx, "not-a-token-the-provider-issued"); !isStatus(err, http.StatusUnauthorized, "Token is not active") {
				t.Errorf("unknown opaque token: %v", err)
			}
		})
	}
	t.Run("service", func(t *testing.T) {
		svc := startService(t, p.Issuer, bearer.Config{Introspection: bearer.IntrospectionOptions{
			Mode: bearer.JWTAndIntrospection, ClientID: otherClient, ClientSecret: otherSecret}}, bearer.Profile{}, true)
		created := svc.do(t, http.MethodPost, "/tasks", opaque, `{"name":"From an opaque token","due_date":"2099-01-01"}`)
		if created.Status != http.StatusCreated {
			t.Fatalf("POST /tasks: %d %s", created.Status, created.Raw)
		}
		if me := svc.do(t, http.MethodGet, "/me", opaque, ""); me.Status != http.StatusOK || me.Body["sub"] != m2mClient {
			t.Errorf("GET /me: %d %s", me.Status, me.Raw)
		}
		// delete:tasks was not asked for: the scope check applies as to a JWT.
		if del := svc.do(t, http.MethodDelete, "/tasks/"+taskID(t, created), opaque, ""); del.Status != http.StatusForbidden {
			t.Errorf("DELETE without delete:tasks: %d %s", del.Status, del.Raw)
		}
	})
}

// TestIntrospectionRevokedAfterCacheBound revokes an opaque token at the
// provider: it is accepted until the cache bound, refused right after.
func TestIntrospectionRevokedAfterCacheBound(t *testing.T) {
	p := sharedProvider(t)
	ctx := context.Background()
	const bound = 2 * time.Second
	v := introspectingVerifier(t, p, otherClient, otherSecret, "", bound)
	tok := p.opaqueToken(t)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	accepted := time.Now()
	revoke(t, p, tok)
	if _, err := v.Verify(ctx, tok); err != nil && time.Since(accepted) < bound {
		t.Errorf("within the cache bound: %v", err)
	}
	time.Sleep(bound - time.Since(accepted) + 50*time.Millisecond)
	if _, err := v.Verify(ctx, tok); !isStatus(err, http.StatusUnauthorized, "Token is not active") {
		t.Fatalf("revoked token after the cache bound: %v", err)
	}
}

// TestIntrospectionFailures: wrong client credentials are a clear error
// from Warm and Ready, and a stopped provider is a 503.
func TestIntrospectionFailures(t *testing.T) {
	ctx := context.Background()
	p := startProvider(t, 0)
	tok := p.opaqueToken(t)
	wrong := introspectingVerifier(t, p, otherClient, "not-"+otherSecret, "", 0)
	err := wrong.Warm(ctx)
	if err == nil || !strings.Contains(err.Error(), "refused the client credentials") || strings.Contains(err.Error(), "not-"+otherSecret) {
		t.Fatalf("Warm with a wrong secret: %v", err)
	}
	if err := wrong.Ready(); err == nil || !strings.Contains(err.Error(), otherClient) {
		t.Errorf("Ready with a wrong secret: %v", err)
	}
	if _, err := wrong.Verify(ctx, tok); !isStatus(err, http.StatusServiceUnavailable, "") {
		t.Errorf("Verify with a wrong secret: %v", err)
	}

	v := introspectingVerifier(t, p, otherClient, otherSecret, "", 0)
	if err := v.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	other := p.opaqueToken(t)
	p.stop()
	_, err = v.Verify(ctx, other)
	var e *bearer.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != "temporarily_unavailable" || e.RetryAfter <= 0 {
		t.Fatalf("provider stopped: %v", err)
	}
}

// revoke revokes tok at the provider's revocation endpoint (RFC 7009), as
// the client it was issued to.
func revoke(t *testing.T, p *provider, tok string) {
	t.Helper()
	endpoint, _ := p.metadata(t)["revocation_endpoint"].(string)
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(m2mClient, m2mSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}
}

// isStatus reports whether err is a *bearer.Error of status (and message,
// unless "").
func isStatus(err error, status int, msg string) bool {
	var e *bearer.Error
	return errors.As(err, &e) && e.Status == status && (msg == "" || e.Message == msg)
}
