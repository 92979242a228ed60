package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/taskapi/taskapi/internal/storesql"
)

// The statements of the write path. Each one's last argument is the
// issuer of the store (see ForIssuer), but for the counts'. They are prepared once, at Open, on
// the write connection; a transaction reuses them (sql.Tx.StmtContext)
// instead of parsing the SQL again on every call.
const (
	qTaskByID       = `SELECT ` + taskColumns + ` FROM tasks WHERE id = ? AND user_id = ? AND issuer = ?`
	qTaskVersion    = `SELECT version FROM tasks WHERE id = ? AND user_id = ? AND issuer = ?`
	qInsertTask     = `INSERT INTO tasks (` + taskColumns + `, issuer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateTask     = `UPDATE tasks SET project_id = ?, name = ?, description = ?, due_date = ?, completed_on = ?, updated_at = ?, version = version + 1 WHERE id = ? AND user_id = ? AND version = ? AND issuer = ?`
	qDeleteTask     = `DELETE FROM tasks WHERE id = ? AND user_id = ? AND issuer = ?`
	qProjectExists  = `SELECT 1 FROM projects WHERE id = ? AND user_id = ? AND issuer = ?`
	qProjectByID    = `SELECT ` + projectColumns + ` FROM projects WHERE id = ? AND user_id = ? AND issuer = ?`
	qProjectVersion = `SELECT version FROM projects WHERE id = ? AND user_id = ? AND issuer = ?`
	qInsertProject  = `INSERT INTO projects (` + projectColumns + `, issuer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateProject  = `UPDATE projects SET name = ?, description = ?, updated_at = ?, version = version + 1 WHERE id = ? AND user_id = ? AND version = ? AND issuer = ?`
	qUnlinkTasks    = `UPDATE tasks SET project_id = NULL, updated_at = ?, version = version + 1 WHERE project_id = ? AND user_id = ? AND issuer = ?`
	qDeleteProject  = `DELETE FROM projects WHERE id = ? AND user_id = ? AND issuer = ?`
	// The numbers of a user's rows, checked against a cap (taskapi.Limits),
	// ?1 the user, ?2 the issuer: one row that triggers keep exact in every
	// write transaction (migrations/00010_row_counts.sql).
	qCountTasks    = `SELECT coalesce((SELECT tasks FROM row_counts WHERE issuer = ?2 AND user_id = ?1), 0)`
	qCountProjects = `SELECT coalesce((SELECT projects FROM row_counts WHERE issuer = ?2 AND user_id = ?1), 0)`
)

var writeQueries = []string{
	storesql.SaveKey,
	qTaskByID, qTaskVersion, qInsertTask, qUpdateTask, qDeleteTask, qProjectExists,
	qProjectByID, qProjectVersion, qInsertProject, qUpdateProject, qUnlinkTasks, qDeleteProject,
	qCountTasks, qCountProjects,
}

// statements keeps the prepared statements of one pool by their SQL text.
// The texts come from a fixed set of templates (the list queries vary
// only by which filters are present), so the cache stays small.
type statements struct {
	db *sql.DB
	m  sync.Map // string → *sql.Stmt
}

// prepare prepares queries now. On the write pool it must run outside any
// transaction: the pool's one connection is otherwise taken.
func (c *statements) prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// get returns the prepared statement of query, preparing it on first use.
func (c *statements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// close closes every statement.
func (c *statements) close() error {
	var errs []error
	c.m.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}

// tx is a write transaction that runs the prepared write statements.
type tx struct {
	*sql.Tx
	ctx   context.Context
	stmts *statements
}

// stmt returns query's statement for this transaction: the one prepared
// at Open when there is one, else a statement prepared in the transaction.
func (t *tx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.stmts.m.Load(query); ok {
		return t.StmtContext(t.ctx, st.(*sql.Stmt)), nil
	}
	return t.PrepareContext(t.ctx, query)
}

// queryRow runs a query that returns at most one row.
func (t *tx) queryRow(query string, args ...any) rowScanner {
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// exec runs a statement that returns no rows.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

// updateRow runs query, the UPDATE of the row id (a task or a project:
// what) that the transaction read at *version, and makes sure it changed
// that one row: the write connection is this process's only writer and the
// transaction holds the file's write lock, so the row cannot have changed
// since it was read; the version in WHERE makes sure. *version then grows
// by one.
func (t *tx) updateRow(what, id string, version *int64, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%s %s changed under a write transaction (rows %d, %v)", what, id, n, err)
	}
	*version++
	return nil
}

// errRow is a row whose query failed before it ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
