-- The indexes of the sort fields other than completed_on hold the tasks
-- of a user in two ranges, open then completed: (user_id, issuer,
-- completed_on IS NOT NULL, field, id). A list filtered by completion
-- reads one range in the field's order, so it costs its page whatever the
-- completed tasks around it (open tasks by due date no longer step over
-- every completed task due earlier); a list without the filter reads both
-- ranges, a page from each, and merges them. The index of completed_on
-- keeps the open tasks apart already (its NULLs).
--
-- The same number of indexes as before: these replace the sort fields'
-- indexes of 00006_list_indexes.sql.

-- +goose Up
CREATE INDEX tasks_state_created ON tasks (user_id, issuer, (completed_on IS NOT NULL), created_at, id);
CREATE INDEX tasks_state_updated ON tasks (user_id, issuer, (completed_on IS NOT NULL), updated_at, id);
CREATE INDEX tasks_state_due     ON tasks (user_id, issuer, (completed_on IS NOT NULL), due_date, id);
CREATE INDEX tasks_state_name    ON tasks (user_id, issuer, (completed_on IS NOT NULL), name, id);
DROP INDEX tasks_user_created;
DROP INDEX tasks_user_updated;
DROP INDEX tasks_user_due;
DROP INDEX tasks_user_name;

-- +goose Down
CREATE INDEX tasks_user_created ON tasks (user_id, issuer, created_at, id);
CREATE INDEX tasks_user_updated ON tasks (user_id, issuer, updated_at, id);
CREATE INDEX tasks_user_due     ON tasks (user_id, issuer, due_date, id);
CREATE INDEX tasks_user_name    ON tasks (user_id, issuer, name, id);
DROP INDEX tasks_state_created;
DROP INDEX tasks_state_updated;
DROP INDEX tasks_state_due;
DROP INDEX tasks_state_name;
