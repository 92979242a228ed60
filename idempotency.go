package taskapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Idempotency keys: a client sends a key of its choosing with a write (the
// Idempotency-Key header of the IETF draft "The Idempotency-Key HTTP
// Header Field", with Stripe's semantics), so that it can send the write
// again after a failure without applying it twice. The first request with
// a key executes; the store keeps its response, committed in the same
// transaction as the change it answers; a later request with the key and
// the same fingerprint gets that response again, one with another
// fingerprint EKEYREUSED, and one sent while the first still runs
// EKEYINPROGRESS.

// Error codes of idempotency keys and of writes whose outcome is unknown.
const (
	EKEYREUSED      = "ERR_IDEMPOTENCY_KEY_REUSED"      // the key was used for another request (422)
	EKEYINPROGRESS  = "ERR_IDEMPOTENCY_KEY_IN_PROGRESS" // a request with the key is still executing (409)
	EOUTCOMEUNKNOWN = "ERR_OUTCOME_UNKNOWN"             // the write may or may not have taken effect (504)
)

// Limits of idempotency keys.
const (
	// MaxIdempotencyKeyLen is the longest key accepted, in bytes (Stripe's).
	MaxIdempotencyKeyLen = 255
	// DefaultKeyTTL is how long a key's response is kept when the store
	// is given no other time: the draft's and Stripe's 24 hours.
	DefaultKeyTTL = 24 * time.Hour
	// DefaultMaxKeys is the binary's cap on the keys one user holds at
	// once (MAX_IDEMPOTENCY_KEYS_PER_USER).
	DefaultMaxKeys = 100_000
)

// IdempotencyKey is a write request sent with a key: its user (of the
// store's issuer), the client's key and the fingerprint of the request.
type IdempotencyKey struct {
	UserID string
	Key    string
	// Fingerprint tells requests apart: Fingerprint(method, path, body).
	Fingerprint string
}

// Fingerprint returns the fingerprint of a request: the hex SHA-256 of its
// method, path and body.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// CheckIdempotencyKey reports a key a client may not use: empty, longer
// than MaxIdempotencyKeyLen, or holding anything but visible ASCII other
// than '"' and '\'. (Such keys are UUIDs, ULIDs, base64 and the like.)
func CheckIdempotencyKey(key string) error {
	ok := key != "" && len(key) <= MaxIdempotencyKeyLen
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = c > ' ' && c < 0x7f && c != '"' && c != '\\'
	}
	if !ok {
		return Errorf(EBADREQUEST, "Idempotency-Key must be 1 to %d visible ASCII characters without spaces, quotes or backslashes, such as a UUID", MaxIdempotencyKeyLen)
	}
	return nil
}

// SavedResponse is the response of a request that executed, as a repeat
// of the request gets it again: its status, the headers that describe
// what it wrote, and its body (JSON, or empty).
type SavedResponse struct {
	Status   int
	Location string
	ETag     string
	Body     []byte
}

// Responder renders the response of a write from what the write stored: a
// *Task or a *Project as created or updated, nil after a delete.
type Responder func(written any) (*SavedResponse, error)

// KeyRecord is a key as a store keeps it.
type KeyRecord struct {
	Fingerprint string
	Response    SavedResponse
	ExpiresAt   time.Time
}

// KeyPolicy is how long a store keeps the keys' responses, and how many
// keys one user may hold at once.
type KeyPolicy struct {
	// TTL is how long a response is kept (DefaultKeyTTL when zero).
	TTL time.Duration
	// MaxPerUser caps the unexpired keys of one user: a new key beyond it
	// is refused with ELIMIT. 0 is no cap.
	MaxPerUser int
}

// Expiry returns when a response saved at now expires.
func (p KeyPolicy) Expiry(now time.Time) time.Time {
	if p.TTL <= 0 {
		return now.Add(DefaultKeyTTL)
	}
	return now.Add(p.TTL)
}

// Admit decides a claim of k, which no other request holds: rec is the
// key's record (nil: none) and held how many unexpired keys the user
// holds (up to MaxPerUser). It returns the response to replay when rec is
// an unexpired record of the same request; EKEYREUSED when rec is one of
// another request; ELIMIT when k is new and the user holds MaxPerUser
// keys; and nil, nil when the request is to execute.
func (p KeyPolicy) Admit(k IdempotencyKey, rec *KeyRecord, held int, now time.Time) (*SavedResponse, error) {
	switch {
	case rec != nil && now.Before(rec.ExpiresAt) && rec.Fingerprint == k.Fingerprint:
		return &rec.Response, nil
	case rec != nil && now.Before(rec.ExpiresAt):
		return nil, Errorf(EKEYREUSED, "This Idempotency-Key was used for another request (another method, path or body): use a new key for a new request")
	case p.MaxPerUser > 0 && held >= p.MaxPerUser:
		return nil, Errorf(ELIMIT, "You hold the limit of %d idempotency keys per user: send the request without a key, or after your keys expire", p.MaxPerUser)
	}
	return nil, nil
}

// KeyInProgress is the answer to a request whose key another request
// holds while it executes.
func KeyInProgress() *Error {
	return Errorf(EKEYINPROGRESS, "A request with this Idempotency-Key is still being processed: retry later for its response")
}

// OutcomeUnknown is a store's answer to a write it sent but whose outcome
// it could not learn: it may have taken effect.
func OutcomeUnknown() *Error {
	return Errorf(EOUTCOMEUNKNOWN, "The database did not confirm the write in time: it may have taken effect. Retry only with the same Idempotency-Key; without one, read first to see whether it did")
}

// KeyClaimer is the part of an IssuerStore that keeps idempotency keys.
type KeyClaimer interface {
	// ClaimKey takes k for the caller, as KeyPolicy.Admit decides: it
	// returns the saved response to replay, or an error (EKEYREUSED,
	// ELIMIT; EKEYINPROGRESS while another request holds k), or a claim
	// that the caller alone holds until it releases it. A claim whose
	// holder died (its process, or its database session) is taken over:
	// that cannot apply a request twice, for a write saves its response
	// in its own transaction and a key holds one response.
	ClaimKey(ctx context.Context, k IdempotencyKey, respond Responder) (*SavedResponse, KeyClaim, error)
}

// KeyClaim is a key held by the one request that executes it.
type KeyClaim interface {
	// Store is the caller's store for the request. Its first write saves
	// the response respond renders from what it stored, in the write's
	// transaction, so that the change and its response commit together or
	// not at all; a write that fails saves nothing.
	Store() IssuerStore
	// Release gives the key up. Unless a write saved a response,
	// unchanged, when not nil, is saved as the key's response: the answer
	// of a request that executed without changing anything (404, 412,
	// 422, …). With neither, a later request with the key executes again.
	// Release must be called once, even after a panic.
	Release(ctx context.Context, unchanged *SavedResponse) error
}
