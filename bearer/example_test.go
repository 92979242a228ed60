package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskapi/taskapi/bearer"
)

// exampleToken signs an HS256 token for the examples.
func exampleToken(secret string, scope string) string {
	claims := jwt.MapClaims{
		"iss": "https://tenant.auth0.com/", "sub": "auth0|42", "aud": "task-manager-api",
		"scope": scope, "exp": time.Now().Add(time.Hour).Unix(),
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	return s
}

func ExampleVerifier_Authenticate() {
	const secret = "an-example-secret-of-32-bytes!!!"
	v, err := bearer.New(bearer.Config{
		Audience:        []string{"task-manager-api"},
		Issuer:          "https://tenant.auth0.com/",
		Secret:          secret,
		TokenSigningAlg: "HS256",
	})
	if err != nil {
		panic(err)
	}
	tasks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "tasks of %s", claims.Subject())
	})
	h := v.Authenticate(bearer.Must(bearer.RequiredScopes("read:tasks"))(tasks))

	for _, scope := range []string{"read:tasks", "openid"} {
		r := httptest.NewRequest(http.MethodGet, "/tasks", nil)
		r.Header.Set("Authorization", "Bearer "+exampleToken(secret, scope))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 200  tasks of auth0|42
	// 403 Bearer realm="api", error="insufficient_scope", error_description="Insufficient Scope", scope="read:tasks" {"error":"Insufficient Scope","code":"insufficient_scope"}
}

func ExampleVerifier_Verify() {
	const secret = "an-example-secret-of-32-bytes!!!"
	v, _ := bearer.New(bearer.Config{
		Audience: []string{"task-manager-api"}, Issuer: "https://tenant.auth0.com/",
		Secret: secret, TokenSigningAlg: "HS256",
	})
	claims, err := v.Verify(context.Background(), exampleToken(secret, "openid"))
	fmt.Println(claims.Subject(), claims.Scopes(), err)

	_, err = v.Verify(context.Background(), "not-a-jwt")
	var e *bearer.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Message)
		fmt.Println(e.Challenge())
	}
	// Output:
	// auth0|42 [openid] <nil>
	// 401 invalid_token Invalid Token or Protected Header formatting
	// Bearer realm="api", error="invalid_token", error_description="Invalid Token or Protected Header formatting"
}
