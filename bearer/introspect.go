package bearer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// introspector verifies tokens at an introspection endpoint, caching the
// answers by the SHA-256 of the token.
type introspector struct {
	v         *Verifier
	tv        *tokenVerifier // the single issuer: its issuer and discovery
	mode      IntrospectionMode
	endpoint  string // configured; "" means discovered
	clientID  string
	secret    string
	usePost   bool
	client    *http.Client
	timeout   time.Duration
	maxBytes  int64
	maxAge    time.Duration
	inactive  time.Duration
	allowHTTP bool
	cache     *answerCache // nil with NoTokenCache
	// answers and failures count calls to the endpoint by result (a
	// usable answer or not); hits and misses the cache lookups. For Stats.
	answers, failures, hits, misses atomic.Uint64
	mu                              sync.Mutex
	flying                          map[[sha256.Size]byte]*flight // calls under way, by token hash
	// refused is why the endpoint last refused the client credentials,
	// for Ready; nil once it accepts them.
	refused atomic.Pointer[error]
}

func newIntrospector(v *Verifier, cfg Config) *introspector {
	o := cfg.Introspection
	in := &introspector{
		v: v, tv: v.issuers.only.tv, mode: o.Mode, endpoint: o.Endpoint,
		clientID: o.ClientID, secret: o.ClientSecret, usePost: o.AuthMethod == ClientSecretPost,
		client: cfg.HTTPClient, timeout: orDefault(cfg.Timeout, DefaultTimeout),
		maxBytes:  orDefault(o.MaxResponseBytes, DefaultMaxIntrospectionBytes),
		maxAge:    orDefault(o.CacheMaxAge, DefaultIntrospectionCacheMaxAge),
		inactive:  orDefault(o.InactiveCacheMaxAge, DefaultInactiveCacheMaxAge),
		allowHTTP: cfg.allowInsecureHTTP(),
		flying:    map[[sha256.Size]byte]*flight{},
	}
	if in.client == nil {
		in.client = &http.Client{}
	}
	if !cfg.NoTokenCache {
		in.cache = &answerCache{size: orDefault(o.CacheSize, DefaultTokenCacheSize), m: map[[sha256.Size]byte]*answer{}}
	}
	return in
}

// handles reports whether token is introspected rather than verified as
// a JWT.
func (in *introspector) handles(token string) bool {
	if in.mode == IntrospectionOnly {
		return true
	}
	dots := strings.Count(token, ".")
	return dots != 2 && dots != 4
}

// answer is what the endpoint said of a token: active with its claims
// and the issuer they must name, or inactive.
type answer struct {
	claims *Claims // nil: inactive
	issuer string
	until  time.Time
}

// verify introspects token (or reuses a cached answer) and checks the
// claims as a JWT's are checked.
func (in *introspector) verify(ctx context.Context, token string) (*Claims, error) {
	now := in.v.now()
	sum := sha256.Sum256([]byte(token))
	a := in.cache.get(&sum, now)
	if in.cache != nil {
		if a != nil {
			in.hits.Add(1)
		} else {
			in.misses.Add(1)
		}
	}
	if a == nil {
		var e *Error
		if a, e = in.askShared(ctx, &sum, token, now); e != nil {
			return nil, e
		}
	}
	if a.claims == nil {
		return nil, InvalidToken(msgInactive)
	}
	sec := float64(now.Unix())
	if e := in.v.timeChecks(a.claims.Payload, sec); e != nil {
		return nil, e
	}
	s := &state{payload: a.claims.Payload, now: sec, issuer: a.issuer}
	if e := in.v.runChecks(ctx, s, a.claims, false); e != nil {
		return nil, e
	}
	return a.claims, nil
}

// flight is one call to the endpoint that concurrent requests with the
// same token wait for.
type flight struct {
	done chan struct{}
	a    *answer
	e    *Error
}

// askShared is ask, made once for concurrent requests with the same token
// (a burst of requests with a new token is one introspection), and
// caches a usable answer. The call is not cancelled with the first
// request's context, which others may be waiting on; the Timeout bounds it.
func (in *introspector) askShared(ctx context.Context, sum *[sha256.Size]byte, token string, now time.Time) (*answer, *Error) {
	in.mu.Lock()
	if f := in.flying[*sum]; f != nil {
		in.mu.Unlock()
		select {
		case <-f.done:
			return f.a, f.e
		case <-ctx.Done():
			return nil, in.unavailable(ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	in.flying[*sum] = f
	in.mu.Unlock()
	f.a, f.e = in.ask(context.WithoutCancel(ctx), token, now)
	if f.e == nil {
		in.cache.put(sum, f.a)
	}
	in.mu.Lock()
	delete(in.flying, *sum)
	in.mu.Unlock()
	close(f.done)
	return f.a, f.e
}

// ask calls the endpoint and returns its answer, to be cached until the
// earlier of the token's "exp" and the cache bound (inactive: briefly).
func (in *introspector) ask(ctx context.Context, token string, now time.Time) (*answer, *Error) {
	endpoint, issuer, e := in.where(ctx)
	if e != nil {
		return nil, e
	}
	payload, err := in.post(ctx, endpoint, token)
	if err != nil {
		in.failures.Add(1)
		return nil, in.unavailable(err)
	}
	active, ok := payload["active"].(bool)
	if !ok {
		in.failures.Add(1)
		return nil, in.unavailable(errors.New(`introspection response has no boolean "active"`))
	}
	in.answers.Add(1)
	if !active {
		return &answer{until: now.Add(in.inactive)}, nil
	}
	if !accessToken(payload) {
		// A refresh token is active too: it must not open the API.
		return nil, InvalidToken(msgNotAccessToken)
	}
	until := now.Add(in.maxAge)
	if exp, ok := payload["exp"].(float64); ok && exp < float64(until.Unix()) {
		until = time.Unix(int64(exp), 0)
	}
	raw, _ := json.Marshal(payload)
	return &answer{claims: &Claims{Payload: payload, Token: token, raw: raw, introspected: true}, issuer: issuer, until: until}, nil
}

// accessToken reports whether an active answer may be an access token: its
// "token_type" (RFC 7662), when present, is Bearer or DPoP, and its
// "token_use" (Ory Hydra), when present, is access_token.
func accessToken(payload map[string]any) bool {
	if tt, ok := payload["token_type"]; ok {
		s, _ := tt.(string)
		if !strings.EqualFold(s, "Bearer") && !strings.EqualFold(s, "DPoP") {
			return false
		}
	}
	if use, ok := payload["token_use"]; ok && use != "access_token" {
		return false
	}
	return true
}

// where returns the endpoint and the issuer "iss" must name: configured,
// or from the discovery metadata.
func (in *introspector) where(ctx context.Context) (endpoint, issuer string, e *Error) {
	endpoint, issuer = in.endpoint, in.tv.issuer
	k, ok := in.tv.keys.(*remoteKeys)
	if !ok || !k.discovery || (endpoint != "" && issuer != "") {
		return endpoint, issuer, nil
	}
	m, err := k.set.Metadata(ctx)
	if err != nil {
		return "", "", asError(k.convert(err))
	}
	if issuer == "" {
		issuer = m.Issuer
	}
	if endpoint == "" {
		if m.IntrospectionEndpoint == "" {
			return "", "", in.unavailable(errors.New("'introspection_endpoint' not found in authorization server metadata"))
		}
		if err := checkEndpoint(m.IntrospectionEndpoint, in.allowHTTP); err != nil {
			return "", "", in.unavailable(err)
		}
		endpoint = m.IntrospectionEndpoint
	}
	return endpoint, issuer, nil
}

// errClientRefused marks an endpoint's refusal of the client credentials.
var errClientRefused = errors.New("the introspection endpoint refused the client credentials")

// post sends token to the endpoint, authenticated as the client, and
// returns the decoded JSON object it answered. Its errors never contain
// the client secret.
func (in *introspector) post(ctx context.Context, endpoint, token string) (map[string]any, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if in.usePost {
		form.Set("client_id", in.clientID)
		form.Set("client_secret", in.secret)
	}
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, errors.New("introspection request could not be made")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !in.usePost {
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.secret))
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection request to %s failed: %w", endpoint, redact(err, in.secret))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, in.maxBytes+1))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
		(resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "invalid_client")):
		err := fmt.Errorf("%w (HTTP %d from %s, client %q)", errClientRefused, resp.StatusCode, endpoint, in.clientID)
		in.refused.Store(&err)
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("introspection endpoint %s answered HTTP %d", endpoint, resp.StatusCode)
	case err != nil:
		return nil, fmt.Errorf("introspection response from %s could not be read: %w", endpoint, redact(err, in.secret))
	case int64(len(body)) > in.maxBytes:
		return nil, fmt.Errorf("introspection response from %s is larger than %d bytes", endpoint, in.maxBytes)
	}
	in.refused.Store(nil)
	var payload map[string]any
	if json.Unmarshal(body, &payload) != nil || payload == nil {
		return nil, fmt.Errorf("introspection response from %s is not a JSON object", endpoint)
	}
	return payload, nil
}

// unavailable is the 503 of a failed introspection, its cause in Err.
func (in *introspector) unavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable,
		Message: msgIntrospectFails, RetryAfter: in.v.cooldown, Err: err}
}

// redact returns err with every occurrence of secret replaced, for an
// error that might echo a request.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

// warm checks that the endpoint can be reached and accepts the client
// credentials, by introspecting a token no provider issued.
func (in *introspector) warm(ctx context.Context) error {
	endpoint, _, e := in.where(ctx)
	if e != nil {
		return fmt.Errorf("bearer: introspection: %w: %w", e, e.Err)
	}
	if _, err := in.post(ctx, endpoint, "bearer-introspection-probe"); err != nil {
		return fmt.Errorf("bearer: introspection: %w", err)
	}
	return nil
}

// ready is the introspection part of Ready: an error while the endpoint's
// last answer refused the client credentials.
func (in *introspector) ready() error {
	if p := in.refused.Load(); p != nil {
		return fmt.Errorf("bearer: introspection: %w", *p)
	}
	return nil
}

// answerCache is a bounded map of introspection answers by the SHA-256 of
// the token; when full, an arbitrary entry makes room.
type answerCache struct {
	size int
	mu   sync.Mutex
	m    map[[sha256.Size]byte]*answer
}

// get returns the answer for sum if it is still fresh at now (nil on a
// nil cache).
func (c *answerCache) get(sum *[sha256.Size]byte, now time.Time) *answer {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.m[*sum]
	if a != nil && !now.Before(a.until) {
		delete(c.m, *sum)
		return nil
	}
	return a
}

func (c *answerCache) put(sum *[sha256.Size]byte, a *answer) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[*sum]; !ok && len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[*sum] = a
}
