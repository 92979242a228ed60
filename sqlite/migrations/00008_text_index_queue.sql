-- The text index of search, kept by the store outside the writes'
-- transactions.
--
-- task_text is rebuilt: one column, the task's name and description
-- lower-cased by the store's rule (strings.ToLower) and joined by a line
-- feed; detail=none, so that it keeps only which rows hold each trigram,
-- not where (a search asks for every trigram of its text and rechecks the
-- rows). contentless_delete=1 lets a row's entry be deleted by its rowid.
--
-- Its rowid keys a task by its user: the user's number in task_text_users
-- times 2^32, plus the task's seq. A search asks for the rowids of its
-- user's range only, so the index's matches of other users' tasks are
-- skipped, not visited.
--
-- A write no longer touches it. The store's background goroutine indexes
-- in batches, one transaction for many rows:
--
--   - the tasks whose seq is above task_text_state.indexed_to (new rows;
--     seq only grows, but for a reused seq, which the delete below marks);
--   - the seqs in task_text_stale: rows whose text or owner changed or
--     that were deleted since they were indexed, with the rowid their
--     entry in the index has, if any. Plain-SQL triggers record them, so
--     every program that writes tasks (the sqlite3 shell too) keeps the
--     index right.
--
-- A search reads the index's matches plus the rows not yet indexed (both
-- sets above, few), so it never misses a row. Everything is in the file:
-- a restart resumes the indexing where it stopped. The new index starts
-- empty (indexed_to 0); the store fills it in the background, and search
-- reads the rows not yet indexed meanwhile.

-- +goose Up
DROP TRIGGER tasks_text_delete;
DROP TRIGGER tasks_text_update;
DROP TRIGGER tasks_text_insert;
DROP TABLE task_text;

CREATE VIRTUAL TABLE task_text USING fts5 (
    text,
    content = '', contentless_delete = 1, detail = none,
    tokenize = 'trigram case_sensitive 1'
);

CREATE TABLE task_text_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_to INTEGER NOT NULL
) STRICT;
INSERT INTO task_text_state (id, indexed_to) VALUES (1, 0);

CREATE TABLE task_text_users (
    no      INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    issuer  TEXT NOT NULL,
    UNIQUE (user_id, issuer)
) STRICT;

CREATE TABLE task_text_stale (
    seq     INTEGER PRIMARY KEY,
    indexed INTEGER -- the rowid of the row's entry in task_text, if it has one
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER tasks_text_update AFTER UPDATE OF seq, name, description, user_id, issuer ON tasks
WHEN OLD.seq IS NOT NEW.seq OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
    OR OLD.user_id IS NOT NEW.user_id OR OLD.issuer IS NOT NEW.issuer
BEGIN
    INSERT OR IGNORE INTO task_text_stale (seq, indexed) VALUES (OLD.seq,
        (SELECT no FROM task_text_users WHERE user_id = OLD.user_id AND issuer = OLD.issuer) * 4294967296 + OLD.seq);
    INSERT OR IGNORE INTO task_text_stale (seq, indexed) VALUES (NEW.seq, NULL);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_text_delete AFTER DELETE ON tasks
BEGIN
    INSERT OR IGNORE INTO task_text_stale (seq, indexed) VALUES (OLD.seq,
        (SELECT no FROM task_text_users WHERE user_id = OLD.user_id AND issuer = OLD.issuer) * 4294967296 + OLD.seq);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tasks_text_delete;
DROP TRIGGER tasks_text_update;
DROP TABLE task_text_stale;
DROP TABLE task_text_users;
DROP TABLE task_text_state;
DROP TABLE task_text;

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
