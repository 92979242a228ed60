-- +goose NO TRANSACTION
--
-- The indexes of the sort fields other than completed_on hold the tasks
-- of a user in two ranges, open then completed: (user_id, issuer,
-- (completed_on IS NOT NULL)::integer, field, id); the same as
-- sqlite/migrations' 00009_state_indexes.sql. A list filtered by
-- completion reads one range in the field's order, so it costs its page
-- whatever the completed tasks around it (open tasks by due date no longer
-- step over every completed task due earlier); a list without the filter
-- reads both ranges, a page from each, and merges them. The state is an
-- integer, not the boolean itself: PostgreSQL rewrites a test of a boolean
-- expression against a constant (… = false into completed_on IS NULL),
-- which would no longer match the index's expression. The index of
-- completed_on keeps the open tasks apart already (its NULLs).
--
-- The same number of indexes as before: these replace the sort fields'
-- indexes of 00007_list_indexes.sql. Each is built CONCURRENTLY, without
-- blocking writes, so this migration runs outside a transaction; each
-- step can run again after a failure part-way (an index a failed build
-- left invalid is dropped and built again). The old indexes are dropped
-- CONCURRENTLY once the new ones are built.
--
-- Safe during a rolling upgrade: the indexes dropped are plain ones (none
-- unique, none behind an ON CONFLICT); the previous release's lists, which
-- name user_id and issuer, still find the user's rows by the new indexes'
-- leading columns and return the same pages, but sort the user's rows
-- (slower for a user of many tasks) until the upgrade is done.

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_created;
CREATE INDEX CONCURRENTLY tasks_state_created ON tasks (user_id, issuer, ((completed_on IS NOT NULL)::integer), created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_updated;
CREATE INDEX CONCURRENTLY tasks_state_updated ON tasks (user_id, issuer, ((completed_on IS NOT NULL)::integer), updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_due;
CREATE INDEX CONCURRENTLY tasks_state_due ON tasks (user_id, issuer, ((completed_on IS NOT NULL)::integer), due_date, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_name;
CREATE INDEX CONCURRENTLY tasks_state_name ON tasks (user_id, issuer, ((completed_on IS NOT NULL)::integer), name, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_created;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_updated;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_due;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_name;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_owner_created ON tasks (user_id, issuer, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_owner_updated ON tasks (user_id, issuer, updated_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_owner_due ON tasks (user_id, issuer, due_date, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_owner_name ON tasks (user_id, issuer, name, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_name;
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_due;
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_updated;
DROP INDEX CONCURRENTLY IF EXISTS tasks_state_created;
