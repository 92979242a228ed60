package bearer

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// NonceSource issues and checks DPoP nonces (RFC 9449 §9).
type NonceSource interface {
	// Nonce returns the nonce clients should put in their next proofs.
	Nonce(now time.Time) string
	// Valid reports whether nonce, from a proof, is still acceptable.
	Valid(nonce string, now time.Time) bool
}

// HMACNonces is the default NonceSource: a nonce is a time window number
// and its HMAC-SHA256 under a secret key, so that any server sharing the
// key accepts it without shared state. A nonce is valid in its window and
// the next one, so for one to two lifetimes.
type HMACNonces struct {
	key      []byte
	lifetime int64 // seconds
}

// NewHMACNonces returns nonces valid for lifetime to 2×lifetime (at least a
// second), under key (at least 32 bytes; servers behind one load balancer
// must share it). A nil key draws a random one, for a single server. It
// returns the NonceSource interface, never a nil *HMACNonces inside a
// non-nil one, so that its result can go straight into DPoPOptions.Nonce.
func NewHMACNonces(key []byte, lifetime time.Duration) (NonceSource, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	if len(key) < 32 {
		return nil, errors.New("bearer: a DPoP nonce key must have at least 32 bytes")
	}
	if lifetime < time.Second {
		return nil, errors.New("bearer: a DPoP nonce lifetime must be at least a second")
	}
	return &HMACNonces{key: bytes.Clone(key), lifetime: int64(lifetime / time.Second)}, nil
}

// Nonce returns the nonce of now's window.
func (n *HMACNonces) Nonce(now time.Time) string {
	return base64.RawURLEncoding.EncodeToString(n.sign(now.Unix() / n.lifetime))
}

// Valid reports whether nonce is the nonce of now's window or of the one
// before.
func (n *HMACNonces) Valid(nonce string, now time.Time) bool {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceBytes {
		return false
	}
	w := int64(binary.BigEndian.Uint64(raw[:8]))
	cur := now.Unix() / n.lifetime
	if w != cur && w != cur-1 {
		return false
	}
	return hmac.Equal(raw, n.sign(w))
}

// nonceBytes is the length of a nonce: the window and 16 bytes of MAC.
const nonceBytes = 8 + 16

func (n *HMACNonces) sign(window int64) []byte {
	out := make([]byte, 8, nonceBytes)
	binary.BigEndian.PutUint64(out, uint64(window))
	m := hmac.New(sha256.New, n.key)
	m.Write(out)
	return m.Sum(out)[:nonceBytes]
}
