-- DPoP proofs accepted by any instance on the database (ReplayStore, a
-- bearer.ReplayStore), so that a proof accepted by one instance is refused
-- by the others within its "iat" window (RFC 9449 §11.1). key is the
-- bearer package's SHA-256 of the proof key's thumbprint and the "jti";
-- expires_at is the first instant at which no instance accepts the
-- proof's "iat" any more. A row whose expiry has passed is reused by the
-- next proof with its key, and deleted in bounded batches (the index
-- finds them) by ReplayStore.Add at most about once a minute.

-- +goose Up
CREATE TABLE dpop_proofs (
    key        bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);

-- +goose Down
DROP TABLE dpop_proofs;
