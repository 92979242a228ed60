-- The responses of writes sent with an Idempotency-Key, one row per key
-- of a user of an issuer, saved in the transaction of the write they
-- answer (or, for a request that changed nothing, after it). A repeat of
-- the request (same fingerprint: method, path and body digest) gets the
-- response again until expires_at; expired rows are purged in batches by
-- expires_at. Timestamps are TEXT in the fixed-width UTC form of the other
-- tables, so comparing the text compares the times.
--
-- (issuer, user_id, expires_at) counts a user's live keys against the cap
-- from the index alone.

-- +goose Up
CREATE TABLE idempotency_keys (
    issuer      TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    location    TEXT    NOT NULL,
    etag        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    PRIMARY KEY (issuer, user_id, key)
) STRICT;

CREATE INDEX idempotency_keys_user_expiry ON idempotency_keys (issuer, user_id, expires_at);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
