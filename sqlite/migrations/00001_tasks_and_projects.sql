-- Tasks and projects of the Task Manager API, one row per user's item.
--
-- Timestamps are TEXT in one fixed-width UTC form with nanoseconds
-- (2006-01-02T15:04:05.000000000Z), so comparing the text compares the
-- times; due_date is TEXT YYYY-MM-DD. Every index starts with user_id: every
-- query is scoped to one user, and the lists page by (sort column, id).

-- +goose Up
CREATE TABLE projects (
    id          TEXT    NOT NULL PRIMARY KEY,
    user_id     TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    name        TEXT    NOT NULL,
    description TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;

CREATE INDEX projects_user_created ON projects (user_id, created_at, id);

CREATE TABLE tasks (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    project_id   TEXT    REFERENCES projects (id) ON DELETE SET NULL ON UPDATE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT,
    due_date     TEXT    CHECK (due_date IS NULL OR due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    completed_on TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;

CREATE INDEX tasks_user_created   ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated   ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due       ON tasks (user_id, due_date, id);
CREATE INDEX tasks_user_name      ON tasks (user_id, name, id);
CREATE INDEX tasks_user_completed ON tasks (user_id, completed_on, id);
-- The project's tasks (GET /projects/{id}/tasks) and the foreign key's
-- ON DELETE action, which looks tasks up by project_id alone.
CREATE INDEX tasks_project_created ON tasks (project_id, created_at, id);

-- +goose Down
DROP TABLE tasks;
DROP TABLE projects;
