package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

// maxIntrospectionCacheMaxAge bounds INTROSPECTION_CACHE_MAX_AGE: a revoked
// opaque token is accepted at most this long.
const maxIntrospectionCacheMaxAge = time.Hour

// parseIntrospectionMode reads INTROSPECTION_MODE.
func parseIntrospectionMode(c *config, name, s string) error {
	modes := map[string]bearer.IntrospectionMode{"jwt": bearer.JWTOnly, "both": bearer.JWTAndIntrospection, "introspection": bearer.IntrospectionOnly}
	m, ok := modes[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return fmt.Errorf("%s=%q: want jwt, both or introspection", name, truncate(s, 20))
	}
	c.Bearer.Introspection.Mode = m
	return nil
}

// parseIntrospectionAuthMethod reads INTROSPECTION_AUTH_METHOD.
func parseIntrospectionAuthMethod(c *config, name, s string) error {
	switch s = strings.TrimSpace(s); s {
	case bearer.ClientSecretBasic, bearer.ClientSecretPost:
		c.Bearer.Introspection.AuthMethod = s
		return nil
	}
	return fmt.Errorf("%s=%q: want client_secret_basic or client_secret_post", name, truncate(s, 30))
}

// parseIntrospectionCacheMaxAge reads INTROSPECTION_CACHE_MAX_AGE, the last
// introspection variable, and checks the set of them together.
func parseIntrospectionCacheMaxAge(c *config, name, s string) error {
	d, err := durationIn(name, s, maxIntrospectionCacheMaxAge)
	if err != nil {
		return err
	}
	if d == 0 {
		return fmt.Errorf("%s=%q: want a duration from 1s to %v", name, truncate(s, 40), maxIntrospectionCacheMaxAge)
	}
	o := &c.Bearer.Introspection
	o.CacheMaxAge = d
	if o.Mode == bearer.JWTOnly {
		if o.Endpoint != "" || o.ClientID != "" || o.ClientSecret != "" {
			return errors.New("INTROSPECTION_ENDPOINT, INTROSPECTION_CLIENT_ID or INTROSPECTION_CLIENT_SECRET is set but INTROSPECTION_MODE is jwt: set it to both or introspection")
		}
		return nil
	}
	var errs []error
	if o.ClientID == "" {
		errs = append(errs, errors.New("INTROSPECTION_CLIENT_ID is not set: introspection needs the client id this API authenticates with at the provider"))
	}
	if o.ClientSecret == "" {
		// The secret itself is never echoed.
		errs = append(errs, errors.New("INTROSPECTION_CLIENT_SECRET is not set: give it in the environment or .env"))
	}
	if o.Endpoint == "" && c.Bearer.IssuerBaseURL == "" {
		errs = append(errs, errors.New("INTROSPECTION_ENDPOINT is not set and there is no ISSUER_BASE_URL to discover it from"))
	}
	return errors.Join(errs...)
}

// introspectsAll reports whether every token is introspected at a
// configured endpoint, so that ISSUER alone names the issuer.
func introspectsAll(o bearer.IntrospectionOptions) bool {
	return o.Mode == bearer.IntrospectionOnly && o.Endpoint != ""
}

// introspectionMode names the mode for the start-up log.
func introspectionMode(o bearer.IntrospectionOptions) string {
	return [...]string{"jwt", "both", "introspection"}[o.Mode]
}
