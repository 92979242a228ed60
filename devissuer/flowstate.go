package devissuer

import (
	"errors"
	"sync"
	"time"
)

// Lifetimes and bounds of the authorization code flow's state, all kept
// in memory (a restart signs everyone out).
const (
	requestTTL  = 10 * time.Minute // a sign-in page left open
	codeTTL     = time.Minute      // an authorization code (RFC 6749 §4.1.2: at most 10 min)
	sessionTTL  = 12 * time.Hour   // the issuer's own sign-in session
	maxFlowRows = 1000             // per kind: pending requests, codes, sessions
)

// errFlowsFull is returned when maxFlowRows unexpired entries exist.
var errFlowsFull = errors.New("too many sign-ins in progress; try again later")

// authRequest is a checked authorization request waiting for the user.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	nonce       string
	challenge   string // S256 code challenge
	scope       string // granted scopes, space-separated
	audience    string
}

// grant is what an authorization code stands for.
type grant struct {
	authRequest
	subject string
}

type expiring[V any] struct {
	value V
	until time.Time
}

// ttlMap is a bounded map whose entries expire.
type ttlMap[V any] map[string]expiring[V]

func (m ttlMap[V]) put(key string, v V, ttl time.Duration, now time.Time) error {
	if len(m) >= maxFlowRows {
		for k, e := range m {
			if !now.Before(e.until) {
				delete(m, k)
			}
		}
		if len(m) >= maxFlowRows {
			return errFlowsFull
		}
	}
	m[key] = expiring[V]{v, now.Add(ttl)}
	return nil
}

func (m ttlMap[V]) get(key string, now time.Time) (V, bool) {
	e, ok := m[key]
	if !ok || !now.Before(e.until) {
		delete(m, key)
		var zero V
		return zero, false
	}
	return e.value, true
}

// take returns and removes the entry of key: a code is used once, even
// when the exchange then fails.
func (m ttlMap[V]) take(key string, now time.Time) (V, bool) {
	v, ok := m.get(key, now)
	delete(m, key)
	return v, ok
}

// flowState holds the pending requests, codes and sessions.
type flowState struct {
	mu       sync.Mutex
	requests ttlMap[authRequest]
	codes    ttlMap[grant]
	sessions ttlMap[string] // session id → subject
}

func newFlowState() *flowState {
	return &flowState{requests: ttlMap[authRequest]{}, codes: ttlMap[grant]{}, sessions: ttlMap[string]{}}
}
