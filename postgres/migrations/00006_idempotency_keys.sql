-- The responses of writes sent with an Idempotency-Key, one row per key
-- of a user of an issuer, saved in the transaction of the write they
-- answer (or, for a request that changed nothing, after it). A repeat of
-- the request (same fingerprint: method, path and body digest) gets the
-- response again until expires_at; expired rows are purged in batches by
-- expires_at.
--
-- (issuer, user_id, expires_at) counts a user's live keys against the cap
-- from the index.

-- +goose Up
CREATE TABLE idempotency_keys (
    issuer      text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    fingerprint text        NOT NULL,
    status      integer     NOT NULL,
    location    text        NOT NULL,
    etag        text        NOT NULL,
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (issuer, user_id, key)
);

CREATE INDEX idempotency_keys_user_expiry ON idempotency_keys (issuer, user_id, expires_at);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
