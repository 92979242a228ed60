-- The per-user list versions of 00002 served a cache of rendered task
-- lists, which is gone: every list is now one indexed query. The triggers
-- cost every write an extra upsert, so they go with their table.

-- +goose Up
DROP TRIGGER projects_list_version_delete;
DROP TRIGGER projects_list_version_update;
DROP TRIGGER projects_list_version_insert;
DROP TRIGGER tasks_list_version_delete;
DROP TRIGGER tasks_list_version_update;
DROP TRIGGER tasks_list_version_insert;
DROP TABLE list_versions;

-- +goose Down
-- Nothing: no release reads list versions any more.
