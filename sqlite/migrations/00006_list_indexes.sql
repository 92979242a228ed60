-- The indexes of the lists the API makes (storesql's plans) and the text
-- index of search.
--
-- Every index of a user's rows leads with the user's identity, user_id
-- and issuer, so that a list seeks the user's rows in the index instead of
-- reading every row of the user_id to test its issuer. One index per sort
-- field, (user_id, issuer, field, id), serves the walk of each sort and a
-- filter on that field; the project's index holds only the tasks that
-- have a project (the project's lists, and the foreign key's ON DELETE
-- action).
--
-- Search: task_text is an FTS5 index with the trigram tokenizer over the
-- task's name and description lower-cased by taskapi_lower, the Go
-- function of the store (strings.ToLower, the rule of search), so that the
-- index has every trigram a search can ask for. It is contentless (it
-- keeps no copy of the text, only the index) and keyed by the task's
-- rowid. A rowid that is not an INTEGER PRIMARY KEY may change in a
-- VACUUM, so tasks is rebuilt with one, seq; id stays unique. Triggers
-- keep the index, so every write path keeps it; they call taskapi_lower,
-- so a program without the store's function (the sqlite3 shell) can read
-- the file but not write tasks, rather than write them unindexed.

-- +goose Up
CREATE TABLE tasks_new (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    project_id   TEXT    REFERENCES projects (id) ON DELETE SET NULL ON UPDATE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT,
    due_date     TEXT    CHECK (due_date IS NULL OR due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    completed_on TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    issuer       TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO tasks_new (id, user_id, project_id, name, description, due_date, completed_on, created_at, updated_at, version, issuer)
SELECT id, user_id, project_id, name, description, due_date, completed_on, created_at, updated_at, version, issuer
FROM tasks ORDER BY rowid;

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;

CREATE INDEX tasks_user_created   ON tasks (user_id, issuer, created_at, id);
CREATE INDEX tasks_user_updated   ON tasks (user_id, issuer, updated_at, id);
CREATE INDEX tasks_user_due       ON tasks (user_id, issuer, due_date, id);
CREATE INDEX tasks_user_name      ON tasks (user_id, issuer, name, id);
CREATE INDEX tasks_user_completed ON tasks (user_id, issuer, completed_on, id);
CREATE INDEX tasks_project        ON tasks (project_id, created_at, id) WHERE project_id IS NOT NULL;

DROP INDEX projects_user_created;
CREATE INDEX projects_user_created ON projects (user_id, issuer, created_at, id);

CREATE VIRTUAL TABLE task_text USING fts5 (
    name, description,
    content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1'
);

INSERT INTO task_text (rowid, name, description)
SELECT seq, taskapi_lower(name), taskapi_lower(description) FROM tasks;

-- +goose StatementBegin
CREATE TRIGGER tasks_text_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_text (rowid, name, description)
    VALUES (NEW.seq, taskapi_lower(NEW.name), taskapi_lower(NEW.description));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_text_update AFTER UPDATE OF seq, name, description ON tasks
WHEN OLD.seq IS NOT NEW.seq OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
BEGIN
    DELETE FROM task_text WHERE rowid = OLD.seq;
    INSERT INTO task_text (rowid, name, description)
    VALUES (NEW.seq, taskapi_lower(NEW.name), taskapi_lower(NEW.description));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_text_delete AFTER DELETE ON tasks
BEGIN
    DELETE FROM task_text WHERE rowid = OLD.seq;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tasks_text_delete;
DROP TRIGGER tasks_text_update;
DROP TRIGGER tasks_text_insert;
DROP TABLE task_text;
DROP INDEX projects_user_created;
CREATE INDEX projects_user_created ON projects (user_id, created_at, id);
DROP INDEX tasks_project;
DROP INDEX tasks_user_completed;
DROP INDEX tasks_user_name;
DROP INDEX tasks_user_due;
DROP INDEX tasks_user_updated;
DROP INDEX tasks_user_created;
CREATE INDEX tasks_user_created    ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated    ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due        ON tasks (user_id, due_date, id);
CREATE INDEX tasks_user_name       ON tasks (user_id, name, id);
CREATE INDEX tasks_user_completed  ON tasks (user_id, completed_on, id);
CREATE INDEX tasks_project_created ON tasks (project_id, created_at, id);
