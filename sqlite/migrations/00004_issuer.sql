-- A user is a subject of one token issuer: with several issuers, the same
-- sub of two of them is two users. Every row records its user's issuer
-- beside user_id, and every query of a user names both. Rows written
-- before this migration have the issuer '' until the service, started with
-- one issuer, assigns them theirs (Store.AssignIssuer).
--
-- The indexes stay on user_id first: a user's rows of two issuers are
-- rare, and a query's issuer term filters the rows its index finds.

-- +goose Up
ALTER TABLE projects ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN issuer TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tasks DROP COLUMN issuer;
ALTER TABLE projects DROP COLUMN issuer;
