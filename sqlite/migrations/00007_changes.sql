-- The change feed (GET /changes): a per-user sequence that numbers every
-- change of a task or project, kept by triggers in the transaction of the
-- change, so that every write path (the service's, `taskapi seed` beside
-- it) numbers its changes, and a change commits or rolls back with its
-- number. See postgres/migrations/00008_changes.sql for the design; here a
-- write transaction holds the file's write lock, so writers take their
-- numbers one after the other, in the order they commit.
--
-- change_counters: per user the latest number (seq) and the highest
-- number of a purged tombstone (purged_seq; cursors below it get 410).
-- changes: per object its latest number, whether it is deleted (a
-- tombstone), and since when (changed_at, Unix seconds, for the purge).

-- +goose Up
CREATE TABLE change_counters (
    issuer     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    purged_seq INTEGER NOT NULL DEFAULT 0 CHECK (purged_seq >= 0),
    PRIMARY KEY (issuer, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE changes (
    issuer     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('task', 'project')),
    id         TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    deleted    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, user_id, kind, id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX changes_feed ON changes (issuer, user_id, seq);
CREATE INDEX changes_tombstones ON changes (changed_at) WHERE deleted;

-- Each trigger gives the object its user's next number: one more on the
-- counter, then the object's row at that number.

-- +goose StatementBegin
CREATE TRIGGER tasks_changes_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT NEW.issuer, NEW.user_id, 'task', NEW.id, seq, 0, unixepoch() FROM change_counters
        WHERE issuer = NEW.issuer AND user_id = NEW.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 0, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_changes_update AFTER UPDATE ON tasks
BEGIN
    -- A row moved to another owner (Store.AssignIssuer) is a tombstone of
    -- its old one.
    INSERT INTO change_counters (issuer, user_id, seq)
        SELECT OLD.issuer, OLD.user_id, 1 WHERE OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id OR OLD.id <> NEW.id
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT OLD.issuer, OLD.user_id, 'task', OLD.id, seq, 1, unixepoch() FROM change_counters
        WHERE issuer = OLD.issuer AND user_id = OLD.user_id AND (OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id OR OLD.id <> NEW.id)
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 1, changed_at = excluded.changed_at;
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT NEW.issuer, NEW.user_id, 'task', NEW.id, seq, 0, unixepoch() FROM change_counters
        WHERE issuer = NEW.issuer AND user_id = NEW.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 0, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_changes_delete AFTER DELETE ON tasks
BEGIN
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (OLD.issuer, OLD.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT OLD.issuer, OLD.user_id, 'task', OLD.id, seq, 1, unixepoch() FROM change_counters
        WHERE issuer = OLD.issuer AND user_id = OLD.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 1, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_changes_insert AFTER INSERT ON projects
BEGIN
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT NEW.issuer, NEW.user_id, 'project', NEW.id, seq, 0, unixepoch() FROM change_counters
        WHERE issuer = NEW.issuer AND user_id = NEW.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 0, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_changes_update AFTER UPDATE ON projects
BEGIN
    INSERT INTO change_counters (issuer, user_id, seq)
        SELECT OLD.issuer, OLD.user_id, 1 WHERE OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id OR OLD.id <> NEW.id
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT OLD.issuer, OLD.user_id, 'project', OLD.id, seq, 1, unixepoch() FROM change_counters
        WHERE issuer = OLD.issuer AND user_id = OLD.user_id AND (OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id OR OLD.id <> NEW.id)
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 1, changed_at = excluded.changed_at;
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (NEW.issuer, NEW.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT NEW.issuer, NEW.user_id, 'project', NEW.id, seq, 0, unixepoch() FROM change_counters
        WHERE issuer = NEW.issuer AND user_id = NEW.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 0, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER projects_changes_delete AFTER DELETE ON projects
BEGIN
    INSERT INTO change_counters (issuer, user_id, seq) VALUES (OLD.issuer, OLD.user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = seq + 1;
    INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
        SELECT OLD.issuer, OLD.user_id, 'project', OLD.id, seq, 1, unixepoch() FROM change_counters
        WHERE issuer = OLD.issuer AND user_id = OLD.user_id
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE SET seq = excluded.seq, deleted = 1, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- The rows written before: each gets a number, its user's projects first
-- (a client that applies the feed in order meets a project before its
-- tasks), then by last update.
INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
SELECT issuer, user_id, kind, id,
       row_number() OVER (PARTITION BY issuer, user_id ORDER BY kind, updated_at, id), 0, unixepoch()
FROM (SELECT issuer, user_id, 'project' AS kind, id, updated_at FROM projects
      UNION ALL
      SELECT issuer, user_id, 'task', id, updated_at FROM tasks);
INSERT INTO change_counters (issuer, user_id, seq)
SELECT issuer, user_id, max(seq) FROM changes GROUP BY issuer, user_id;

-- +goose Down
DROP TRIGGER projects_changes_delete;
DROP TRIGGER projects_changes_update;
DROP TRIGGER projects_changes_insert;
DROP TRIGGER tasks_changes_delete;
DROP TRIGGER tasks_changes_update;
DROP TRIGGER tasks_changes_insert;
DROP TABLE changes;
DROP TABLE change_counters;
