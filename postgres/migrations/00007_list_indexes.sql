-- +goose NO TRANSACTION
--
-- The indexes of the lists the API makes (storesql's plans) and the
-- trigram indexes of search; the same as sqlite/migrations'
-- 00006_list_indexes.sql.
--
-- Every index of a user's rows leads with the user's identity, user_id
-- and issuer. One index per sort field, (user_id, issuer, field, id),
-- serves the walk of each sort and a filter on that field; the project's
-- index holds only the tasks that have a project (the project's lists,
-- and the foreign key's ON DELETE action).
--
-- Search: a GIN index of pg_trgm on exactly the expressions the search
-- term tests, lower(name COLLATE taskapi_fold) and the same of
-- description. taskapi_fold is the collation lower() folds in, fixed
-- here: ICU's root locale (und-x-icu) when the server has ICU, which
-- lower-cases by Unicode's rules, else a copy of the database's LC_CTYPE.
-- pg_trgm is created in schema public if missing (it needs the right to
-- create it there: a trusted extension, so a database owner may; else an
-- administrator runs CREATE EXTENSION pg_trgm SCHEMA public first) and
-- its operator class is named with its schema, so a search_path without
-- public finds it.
--
-- Every index is built CONCURRENTLY, without blocking writes, so this
-- migration runs outside a transaction. Each step can run again after a
-- failure part-way: an index that a failed build left invalid is dropped
-- and built again. The new indexes are built before the old ones go, so
-- the lists always have an index; the old ones are dropped CONCURRENTLY
-- too.
--
-- Safe during a rolling upgrade: the indexes dropped are plain ones (none
-- unique, none behind an ON CONFLICT), and each new index leads with the
-- columns of the one it replaces (user_id, then the sort field's index
-- with issuer between), so the previous release's queries, which give
-- user_id and issuer, keep an index; only their plans change.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'taskapi_fold' AND collnamespace = current_schema()::regnamespace) THEN
        IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
            CREATE COLLATION taskapi_fold (provider = icu, locale = 'und');
        ELSE
            EXECUTE format('CREATE COLLATION taskapi_fold (provider = libc, locale = %L)',
                (SELECT datctype FROM pg_database WHERE datname = current_database()));
        END IF;
    END IF;
END
$$;
-- +goose StatementEnd

DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_created;
CREATE INDEX CONCURRENTLY tasks_owner_created ON tasks (user_id, issuer, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_updated;
CREATE INDEX CONCURRENTLY tasks_owner_updated ON tasks (user_id, issuer, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_due;
CREATE INDEX CONCURRENTLY tasks_owner_due ON tasks (user_id, issuer, due_date, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_name;
CREATE INDEX CONCURRENTLY tasks_owner_name ON tasks (user_id, issuer, name, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_completed;
CREATE INDEX CONCURRENTLY tasks_owner_completed ON tasks (user_id, issuer, completed_on, id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_project;
CREATE INDEX CONCURRENTLY tasks_project ON tasks (project_id, created_at, id) WHERE project_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS tasks_name_trgm;
CREATE INDEX CONCURRENTLY tasks_name_trgm ON tasks USING gin (lower(name COLLATE taskapi_fold) public.gin_trgm_ops);
DROP INDEX CONCURRENTLY IF EXISTS tasks_description_trgm;
CREATE INDEX CONCURRENTLY tasks_description_trgm ON tasks USING gin (lower(description COLLATE taskapi_fold) public.gin_trgm_ops);
DROP INDEX CONCURRENTLY IF EXISTS projects_owner_created;
CREATE INDEX CONCURRENTLY projects_owner_created ON projects (user_id, issuer, created_at, id);

DROP INDEX CONCURRENTLY IF EXISTS tasks_user_created;
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_updated;
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_due;
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_name;
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_completed;
DROP INDEX CONCURRENTLY IF EXISTS tasks_project_created;
DROP INDEX CONCURRENTLY IF EXISTS projects_user_created;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_user_created    ON tasks (user_id, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_user_updated    ON tasks (user_id, updated_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_user_due        ON tasks (user_id, due_date, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_user_name       ON tasks (user_id, name, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_user_completed  ON tasks (user_id, completed_on, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_created ON tasks (project_id, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS projects_user_created ON projects (user_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS projects_owner_created;
DROP INDEX CONCURRENTLY IF EXISTS tasks_description_trgm;
DROP INDEX CONCURRENTLY IF EXISTS tasks_name_trgm;
DROP INDEX CONCURRENTLY IF EXISTS tasks_project;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_completed;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_name;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_due;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_updated;
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_created;
