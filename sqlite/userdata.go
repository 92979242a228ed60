package sqlite

import (
	"context"
	"database/sql"

	"github.com/taskapi/taskapi"
)

// UserData returns every project and task of userID, read in one read
// transaction on the read pool: one snapshot of the database (WAL), which
// writers neither wait for nor disturb.
func (s *Store) UserData(ctx context.Context, userID string) (*taskapi.UserData, error) {
	d := &taskapi.UserData{Projects: []*taskapi.Project{}, Tasks: []*taskapi.Task{}}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, mapError(ctx, "export user data", err)
	}
	defer tx.Rollback()
	if err := readAll(ctx, tx, &d.Projects, scanProject,
		`SELECT `+projectColumns+` FROM projects WHERE user_id = ? AND issuer = ? ORDER BY created_at, id`, userID, s.issuer); err != nil {
		return nil, mapError(ctx, "export user data", err)
	}
	if err := readAll(ctx, tx, &d.Tasks, scanTask,
		`SELECT `+taskColumns+` FROM tasks WHERE user_id = ? AND issuer = ? ORDER BY created_at, id`, userID, s.issuer); err != nil {
		return nil, mapError(ctx, "export user data", err)
	}
	return d, nil
}

// readAll appends the rows of query, read with scan, to all.
func readAll[T any](ctx context.Context, tx *sql.Tx, all *[]T, scan func(rowScanner) (T, error), query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		*all = append(*all, v)
	}
	return rows.Err()
}

// DeleteUserData deletes every task, project and idempotency key of
// userID in one write transaction. Tasks go first, so that no project's delete unlinks them
// one by one.
func (s *Store) DeleteUserData(ctx context.Context, userID string) (taskapi.UserDeletion, error) {
	var d taskapi.UserDeletion
	err := s.inTx(ctx, func(tx *tx) error {
		d = taskapi.UserDeletion{}
		for _, step := range []struct {
			query string
			n     *int64
		}{
			{`DELETE FROM tasks WHERE user_id = ? AND issuer = ?`, &d.Tasks},
			{`DELETE FROM projects WHERE user_id = ? AND issuer = ?`, &d.Projects},
			{`DELETE FROM idempotency_keys WHERE user_id = ? AND issuer = ?`, &d.IdempotencyKeys},
		} {
			res, err := tx.ExecContext(ctx, step.query, userID, s.issuer)
			if err != nil {
				return err
			}
			if *step.n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return taskapi.UserDeletion{}, mapError(ctx, "delete user data", err)
	}
	return d, nil
}
