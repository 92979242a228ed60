-- Tasks and projects of the Task Manager API, one row per user's item: the
-- schema of sqlite/migrations/00001_tasks_and_projects.sql in PostgreSQL's
-- types.
--
-- Timestamps are timestamptz (microseconds; the store truncates to them);
-- due_date is a date. Ids, user ids and names use COLLATE "C", so they sort
-- and compare byte by byte, as in SQLite, whatever the database's locale,
-- and the indexes serve the keyset pagination in that order. Every index
-- starts with user_id: every query is scoped to one user, and the lists
-- page by (sort column, id).

-- +goose Up
CREATE TABLE projects (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id     text COLLATE "C" NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    name        text COLLATE "C" NOT NULL,
    description text,
    created_at  timestamptz      NOT NULL,
    updated_at  timestamptz      NOT NULL,
    version     bigint           NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE INDEX projects_user_created ON projects (user_id, created_at, id);

CREATE TABLE tasks (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    project_id   text COLLATE "C" REFERENCES projects (id) ON DELETE SET NULL ON UPDATE CASCADE,
    name         text COLLATE "C" NOT NULL,
    description  text,
    due_date     date,
    completed_on timestamptz,
    created_at   timestamptz      NOT NULL,
    updated_at   timestamptz      NOT NULL,
    version      bigint           NOT NULL DEFAULT 1 CHECK (version >= 1)
);

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
