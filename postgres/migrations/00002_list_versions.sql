-- The list version of every user who has written (taskapi.ListVersioner):
-- a number that grows with every committed change to the user's tasks or
-- projects, so that a cache of the user's lists can tell, with one primary
-- key lookup, whether they may have changed. The schema of
-- sqlite/migrations/00002_list_versions.sql in PostgreSQL's types.
--
-- Triggers keep it, not the store's Go code: every write path, of any
-- instance on the database, bumps it in the transaction of the change, so
-- it commits or rolls back with the change. The bump locks the user's row
-- until the transaction ends, so two writers of one user serialise there
-- and each adds one to the other's committed value; readers never wait. A
-- user without a row has never written (version 0); rows are never
-- deleted, so a version never goes back.
--
-- The triggers are statement-level, with transition tables: one upsert per
-- user a statement touched, not one per row. A project's delete that
-- unlinks 1000 tasks costs two upserts, not 1001 (measured: row-level
-- triggers added about 10 ms, a third, to that delete; single-row writes
-- cost the same either way, within the noise of the commit). They fire
-- after the statement's row-level triggers, the foreign key checks among
-- them, so a writer never holds the user's row while it waits on a
-- foreign key lock. A project's delete bumps through the projects trigger;
-- its tasks losing the project (the store's UPDATE, or the foreign key's
-- ON DELETE SET NULL, whose UPDATE fires the tasks triggers) bump too.
--
-- The function names list_versions unqualified: it finds it by the
-- session's search_path, as the store finds tasks.

-- +goose Up
CREATE TABLE list_versions (
    user_id text COLLATE "C" NOT NULL PRIMARY KEY,
    version bigint           NOT NULL CHECK (version >= 1)
);

-- Users who wrote before this migration start at 1: non-zero, as they
-- have written.
INSERT INTO list_versions (user_id, version)
SELECT user_id, 1 FROM (SELECT user_id FROM tasks UNION SELECT user_id FROM projects) AS u;

-- list_versions_bump adds one to the version of every user whose rows the
-- statement inserted, updated (old or new owner) or deleted, in user_id
-- order, so that statements touching several users lock them in one order.
-- +goose StatementBegin
CREATE FUNCTION list_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO list_versions AS v (user_id, version)
            SELECT DISTINCT user_id, 1 FROM new_rows ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO list_versions AS v (user_id, version)
            SELECT user_id, 1 FROM (SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows) AS u ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    ELSE
        INSERT INTO list_versions AS v (user_id, version)
            SELECT DISTINCT user_id, 1 FROM old_rows ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A trigger with transition tables has one event, so three per table. A
-- statement that changes no row (an UPDATE whose WHERE matched nothing)
-- fires them with empty tables, and bumps nothing.
CREATE TRIGGER tasks_list_version_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();
CREATE TRIGGER tasks_list_version_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();
CREATE TRIGGER tasks_list_version_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();
CREATE TRIGGER projects_list_version_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();
CREATE TRIGGER projects_list_version_update AFTER UPDATE ON projects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();
CREATE TRIGGER projects_list_version_delete AFTER DELETE ON projects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump();

-- TRUNCATE fires no DELETE trigger: it moves every user's version.
-- +goose StatementBegin
CREATE FUNCTION list_versions_bump_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE list_versions SET version = version + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tasks_list_version_truncate AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump_all();
CREATE TRIGGER projects_list_version_truncate AFTER TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION list_versions_bump_all();

-- +goose Down
DROP TRIGGER projects_list_version_truncate ON projects;
DROP TRIGGER tasks_list_version_truncate ON tasks;
DROP FUNCTION list_versions_bump_all();
DROP TRIGGER projects_list_version_delete ON projects;
DROP TRIGGER projects_list_version_update ON projects;
DROP TRIGGER projects_list_version_insert ON projects;
DROP TRIGGER tasks_list_version_delete ON tasks;
DROP TRIGGER tasks_list_version_update ON tasks;
DROP TRIGGER tasks_list_version_insert ON tasks;
DROP FUNCTION list_versions_bump();
DROP TABLE list_versions;
