package storesql

import (
	"time"

	"github.com/taskapi/taskapi"
)

// The SQL of idempotency keys (table idempotency_keys, one row per key of
// a user of an issuer, holding the response of the request that executed),
// "?" marking each argument as in the lists.
const (
	// SelectKey reads a key's record: issuer, user, key.
	SelectKey = `SELECT fingerprint, status, location, etag, body, expires_at FROM idempotency_keys
		WHERE issuer = ? AND user_id = ? AND key = ?`
	// CountKeys counts the unexpired keys of a user up to a cap: issuer,
	// user, now, cap. It reads the index on (issuer, user_id, expires_at)
	// alone, at most cap entries.
	CountKeys = `SELECT count(*) FROM (SELECT 1 FROM idempotency_keys
		WHERE issuer = ? AND user_id = ? AND expires_at > ? LIMIT ?) AS held`
	// SaveKey saves a key's response (SaveKeyArgs), over an expired
	// record of the key but never over a live one: it changes no row when
	// the key has a live record, which the caller reports as a conflict.
	SaveKey = `INSERT INTO idempotency_keys (issuer, user_id, key, fingerprint, status, location, etag, body, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (issuer, user_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
			location = excluded.location, etag = excluded.etag, body = excluded.body,
			created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency_keys.expires_at <= excluded.created_at`
	// PurgeKeys deletes up to a batch of expired keys: now, batch size.
	PurgeKeys = `DELETE FROM idempotency_keys WHERE (issuer, user_id, key) IN
		(SELECT issuer, user_id, key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`
)

// PurgeBatch is how many expired keys one PurgeKeys statement deletes at
// most, so that it holds its locks briefly.
const PurgeBatch = 1000

// SaveKeyArgs returns the arguments of SaveKey: the response r of k's
// request, saved at now until p's expiry.
func SaveKeyArgs(issuer string, k taskapi.IdempotencyKey, r *taskapi.SavedResponse, p taskapi.KeyPolicy, now time.Time, d Dialect) []any {
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	expires := p.Expiry(now)
	return []any{issuer, k.UserID, k.Key, k.Fingerprint, r.Status, r.Location, r.ETag, body, d.Time(&now), d.Time(&expires)}
}

// CountKeysArgs returns the arguments of CountKeys, or nil when p sets no
// cap (the count is then not needed).
func CountKeysArgs(issuer string, k taskapi.IdempotencyKey, p taskapi.KeyPolicy, now time.Time, d Dialect) []any {
	if p.MaxPerUser == 0 {
		return nil
	}
	return []any{issuer, k.UserID, d.Time(&now), p.MaxPerUser}
}

// Purge deletes every key expired at now, a batch at a time with exec,
// which runs PurgeKeys and returns how many rows it deleted; it stops at
// the first error.
func Purge(now time.Time, d Dialect, exec func(query string, args ...any) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := exec(PurgeKeys, d.Time(&now), PurgeBatch)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
	}
}

// KeyConflict is the error of a write whose response could not be saved
// because the key has a live record: another request with the key
// executed meanwhile. Its change is rolled back.
func KeyConflict() *taskapi.Error {
	return taskapi.Errorf(taskapi.EKEYINPROGRESS, "Another request with this Idempotency-Key was processed meanwhile: retry for its response")
}
