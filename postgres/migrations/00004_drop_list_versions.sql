-- The per-user list versions of 00002 served a cache of rendered task
-- lists, which is gone: every list is now one indexed query. The triggers
-- cost every write an extra upsert, so they go with their table.
--
-- Safe during a rolling upgrade: the triggers and the table go in one
-- transaction (goose runs each migration in one), so an instance of the
-- previous release never sees the table without its triggers, which would
-- let it serve a cached list that writes no longer invalidate. Once the
-- table is gone its version read fails, and that release then answers
-- every list from the list query (it treats a failed version read as a
-- cache miss), so it serves no stale page. The DROPs hold their tables'
-- locks until the commit: writes to tasks and projects wait for those few
-- milliseconds.

-- +goose Up
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

-- +goose Down
-- Nothing: no release reads list versions any more.
