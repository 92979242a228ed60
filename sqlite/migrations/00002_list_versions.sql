-- The list version of every user who has written (taskapi.ListVersioner):
-- a number that grows with every committed change to the user's tasks or
-- projects, so that a cache of the user's lists can tell, with one primary
-- key lookup, whether they may have changed.
--
-- Triggers keep it, not the store's Go code: every write path, of this
-- process or another on the same file (`taskapi seed` beside `taskapi
-- serve`), bumps it in the transaction of the change, so it commits or
-- rolls back with the change. A user without a row has never written
-- (version 0); rows are never deleted, so a version never goes back.
--
-- A project's delete bumps through the projects trigger; its tasks losing
-- the project (the store's UPDATE, or the foreign key's ON DELETE SET NULL,
-- which fires the tasks triggers too) bump again.

-- +goose Up
CREATE TABLE list_versions (
    user_id TEXT    NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL CHECK (version >= 1)
) STRICT, WITHOUT ROWID;

-- Users who wrote before this migration start at 1: non-zero, as they
-- have written.
INSERT INTO list_versions (user_id, version)
SELECT user_id, 1 FROM (SELECT user_id FROM tasks UNION SELECT user_id FROM projects);

-- +goose StatementBegin
CREATE TRIGGER tasks_list_version_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_list_version_update AFTER UPDATE ON tasks
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
    -- A row moved to another user changes the old user's lists too.
    INSERT INTO list_versions (user_id, version) SELECT OLD.user_id, 1 WHERE OLD.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_list_version_delete AFTER DELETE ON tasks
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_list_version_insert AFTER INSERT ON projects
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_list_version_update AFTER UPDATE ON projects
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
    INSERT INTO list_versions (user_id, version) SELECT OLD.user_id, 1 WHERE OLD.user_id IS NOT NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_list_version_delete AFTER DELETE ON projects
BEGIN
    INSERT INTO list_versions (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER projects_list_version_delete;
DROP TRIGGER projects_list_version_update;
DROP TRIGGER projects_list_version_insert;
DROP TRIGGER tasks_list_version_delete;
DROP TRIGGER tasks_list_version_update;
DROP TRIGGER tasks_list_version_insert;
DROP TABLE list_versions;
