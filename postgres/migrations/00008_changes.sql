-- The change feed (GET /changes): a per-user sequence that numbers every
-- change of a task or project, kept by triggers in the transaction of the
-- change, so that every write path of every instance (and of `taskapi
-- seed`) numbers its changes, and a change commits or rolls back with its
-- number. The schema of sqlite/migrations/00007_changes.sql in
-- PostgreSQL's types.
--
-- change_counters holds per user the latest number (seq) and the highest
-- number of a tombstone purged (purged_seq; cursors below it get 410).
-- Each change adds one to seq with an upsert, which locks the user's row
-- until the transaction ends: a second writer of the same user waits there
-- and reads the first one's committed seq. So a user's numbers are taken
-- in the order their transactions commit, and a reader's snapshot that
-- holds number n holds every number below it: no change is committed
-- behind a cursor a reader has passed. Writers of different users never
-- wait for each other.
--
-- changes holds per object its latest number (one row per object: an
-- object changed twice appears once, at its latest change), whether it is
-- deleted (a tombstone) and since when (for the purge). Keyed by user and
-- id: ids are chosen by clients, so another user may reuse a deleted id.
--
-- The triggers are row triggers that fire at the end of their statement,
-- after the foreign-key checks (row triggers fire in name order, and those
-- are named RI_ConstraintTrigger_…): a write waiting on a project's lock
-- does not hold its user's counter meanwhile. A row that moves to another
-- user or issuer (Store.AssignIssuer) becomes a tombstone of its old owner
-- and a change of its new one.

-- +goose Up
CREATE TABLE change_counters (
    issuer     text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    seq        bigint           NOT NULL CHECK (seq >= 1),
    purged_seq bigint           NOT NULL DEFAULT 0 CHECK (purged_seq >= 0),
    PRIMARY KEY (issuer, user_id)
);

CREATE TABLE changes (
    issuer     text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL CHECK (kind IN ('task', 'project')),
    id         text COLLATE "C" NOT NULL,
    seq        bigint           NOT NULL,
    deleted    boolean          NOT NULL,
    changed_at timestamptz      NOT NULL,
    PRIMARY KEY (issuer, user_id, kind, id)
);

-- The feed reads a user's changes by number; unique, as each number is
-- given once.
CREATE UNIQUE INDEX changes_feed ON changes (issuer, user_id, seq);
-- The purge finds the old tombstones.
CREATE INDEX changes_tombstones ON changes (changed_at) WHERE deleted;

-- change_note gives an object of a user the user's next number.
-- +goose StatementBegin
CREATE FUNCTION change_note(p_issuer text, p_user_id text, p_kind text, p_id text, p_deleted boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO change_counters AS c (issuer, user_id, seq) VALUES (p_issuer, p_user_id, 1)
        ON CONFLICT (issuer, user_id) DO UPDATE SET seq = c.seq + 1
        RETURNING c.seq INTO n;
    INSERT INTO changes AS ch (issuer, user_id, kind, id, seq, deleted, changed_at)
        VALUES (p_issuer, p_user_id, p_kind, p_id, n, p_deleted, statement_timestamp())
        ON CONFLICT (issuer, user_id, kind, id) DO UPDATE
        SET seq = excluded.seq, deleted = excluded.deleted, changed_at = excluded.changed_at;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION change_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k text := CASE TG_TABLE_NAME WHEN 'tasks' THEN 'task' ELSE 'project' END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM change_note(NEW.issuer, NEW.user_id, k, NEW.id, false);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM change_note(OLD.issuer, OLD.user_id, k, OLD.id, true);
    ELSE
        IF OLD.issuer <> NEW.issuer OR OLD.user_id <> NEW.user_id OR OLD.id <> NEW.id THEN
            PERFORM change_note(OLD.issuer, OLD.user_id, k, OLD.id, true);
        END IF;
        PERFORM change_note(NEW.issuer, NEW.user_id, k, NEW.id, false);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tasks_changes AFTER INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION change_record();
CREATE TRIGGER projects_changes AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION change_record();

-- The rows written before: each gets a number, its user's projects first
-- (so a client that applies the feed in order meets a project before its
-- tasks), then by last update. The triggers above hold the tables' locks
-- until this migration commits, so no write slips between.
INSERT INTO changes (issuer, user_id, kind, id, seq, deleted, changed_at)
SELECT issuer, user_id, kind, id,
       row_number() OVER (PARTITION BY issuer, user_id ORDER BY kind, updated_at, id), false, statement_timestamp()
FROM (SELECT issuer, user_id, 'project' AS kind, id, updated_at FROM projects
      UNION ALL
      SELECT issuer, user_id, 'task', id, updated_at FROM tasks) AS rows;
INSERT INTO change_counters (issuer, user_id, seq)
SELECT issuer, user_id, max(seq) FROM changes GROUP BY issuer, user_id;

-- +goose Down
DROP TRIGGER projects_changes ON projects;
DROP TRIGGER tasks_changes ON tasks;
DROP FUNCTION change_record();
DROP FUNCTION change_note(text, text, text, text, boolean);
DROP TABLE changes;
DROP TABLE change_counters;
