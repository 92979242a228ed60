-- Each user's number of tasks and projects, kept by triggers in the
-- transaction of every insert, delete and change of owner, so that a
-- create checks its user's cap (MAX_TASKS_PER_USER, MAX_PROJECTS_PER_USER)
-- by reading one row instead of counting up to the cap on an index: that
-- count grew with the user's rows (up to 100,000 index entries a create)
-- and held the write lock while it ran. Triggers, not the store's code,
-- so that every writer of the file (taskapi seed, the sqlite3 shell)
-- keeps the numbers exact.

-- +goose Up
CREATE TABLE row_counts (
    issuer   TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    tasks    INTEGER NOT NULL DEFAULT 0,
    projects INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issuer, user_id)
) STRICT, WITHOUT ROWID;

INSERT INTO row_counts (issuer, user_id, tasks)
    SELECT issuer, user_id, count(*) FROM tasks WHERE true GROUP BY issuer, user_id;
INSERT INTO row_counts (issuer, user_id, projects)
    SELECT issuer, user_id, count(*) FROM projects WHERE true GROUP BY issuer, user_id
    ON CONFLICT (issuer, user_id) DO UPDATE SET projects = excluded.projects;

-- +goose StatementBegin
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO row_counts (issuer, user_id, tasks) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET tasks = tasks + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
BEGIN
    UPDATE row_counts SET tasks = tasks - 1 WHERE issuer = OLD.issuer AND user_id = OLD.user_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_count_owner AFTER UPDATE OF issuer, user_id ON tasks
    WHEN OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id
BEGIN
    UPDATE row_counts SET tasks = tasks - 1 WHERE issuer = OLD.issuer AND user_id = OLD.user_id;
    INSERT INTO row_counts (issuer, user_id, tasks) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET tasks = tasks + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_count_insert AFTER INSERT ON projects
BEGIN
    INSERT INTO row_counts (issuer, user_id, projects) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET projects = projects + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_count_delete AFTER DELETE ON projects
BEGIN
    UPDATE row_counts SET projects = projects - 1 WHERE issuer = OLD.issuer AND user_id = OLD.user_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_count_owner AFTER UPDATE OF issuer, user_id ON projects
    WHEN OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id
BEGIN
    UPDATE row_counts SET projects = projects - 1 WHERE issuer = OLD.issuer AND user_id = OLD.user_id;
    INSERT INTO row_counts (issuer, user_id, projects) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET projects = projects + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER projects_count_owner;
DROP TRIGGER projects_count_delete;
DROP TRIGGER projects_count_insert;
DROP TRIGGER tasks_count_owner;
DROP TRIGGER tasks_count_delete;
DROP TRIGGER tasks_count_insert;
DROP TABLE row_counts;
