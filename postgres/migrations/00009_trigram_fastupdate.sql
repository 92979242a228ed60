-- +goose NO TRANSACTION
--
-- The trigram indexes of search again, without GIN's pending list
-- (fastupdate = off). With it, the rows written since the last VACUUM of
-- tasks wait in an unsorted list (up to gin_pending_list_limit, 4 MB)
-- that every search reads from end to end: measured on a table just
-- filled with 220,000 tasks, a search for a word in no task read 631
-- pages of the two pending lists (11–18 ms) and 14 pages once they were
-- merged (0.06 ms). Without the list each write puts its trigrams into the
-- index at once, and a search's cost no longer depends on when autovacuum
-- last ran.
--
-- The new indexes are built CONCURRENTLY, without blocking writes, on
-- exactly the expressions of the old ones (00007_list_indexes.sql), then
-- the old ones are dropped CONCURRENTLY; so this migration runs outside a
-- transaction, and each step can run again after a failure part-way.
--
-- Safe during a rolling upgrade: the previous release's search is the
-- same expression, which the new indexes serve as they served it; the
-- indexes dropped are plain ones (none unique, none behind an ON
-- CONFLICT), dropped only once their replacements are built.

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS tasks_name_trigram;
CREATE INDEX CONCURRENTLY tasks_name_trigram ON tasks
    USING gin (lower(name COLLATE taskapi_fold) public.gin_trgm_ops) WITH (fastupdate = off);
DROP INDEX CONCURRENTLY IF EXISTS tasks_description_trigram;
CREATE INDEX CONCURRENTLY tasks_description_trigram ON tasks
    USING gin (lower(description COLLATE taskapi_fold) public.gin_trgm_ops) WITH (fastupdate = off);
DROP INDEX CONCURRENTLY IF EXISTS tasks_name_trgm;
DROP INDEX CONCURRENTLY IF EXISTS tasks_description_trgm;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_name_trgm ON tasks
    USING gin (lower(name COLLATE taskapi_fold) public.gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_description_trgm ON tasks
    USING gin (lower(description COLLATE taskapi_fold) public.gin_trgm_ops);
DROP INDEX CONCURRENTLY IF EXISTS tasks_description_trigram;
DROP INDEX CONCURRENTLY IF EXISTS tasks_name_trigram;
