package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
)

// UserData returns every project and task of userID, read in one
// read-only REPEATABLE READ transaction: one snapshot of the database.
func (s *Store) UserData(ctx context.Context, userID string) (*taskapi.UserData, error) {
	d := &taskapi.UserData{Projects: []*taskapi.Project{}, Tasks: []*taskapi.Task{}}
	if unstorable(userID) {
		return d, nil
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+projectColumns+` FROM projects WHERE user_id = $1 AND issuer = $2 ORDER BY created_at, id`, userID, s.issuer)
		if err != nil {
			return err
		}
		if d.Projects, err = pgx.CollectRows(rows, scanRow(scanProject)); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE user_id = $1 AND issuer = $2 ORDER BY created_at, id`, userID, s.issuer)
		if err != nil {
			return err
		}
		d.Tasks, err = pgx.CollectRows(rows, scanRow(scanTask))
		return err
	})
	if err != nil {
		return nil, mapError(ctx, "export user data", err)
	}
	return d, nil
}

// DeleteUserData deletes every task, project and idempotency key of
// userID in one transaction. Tasks go first, so that no project's delete unlinks them
// one by one.
func (s *Store) DeleteUserData(ctx context.Context, userID string) (taskapi.UserDeletion, error) {
	var d taskapi.UserDeletion
	if unstorable(userID) {
		return d, nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tasks WHERE user_id = $1 AND issuer = $2`, userID, s.issuer)
		if err != nil {
			return err
		}
		d.Tasks = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM projects WHERE user_id = $1 AND issuer = $2`, userID, s.issuer)
		if err != nil {
			return err
		}
		d.Projects = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE issuer = $2 AND user_id = $1`, userID, s.issuer)
		if err != nil {
			return err
		}
		d.IdempotencyKeys = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return taskapi.UserDeletion{}, mapError(ctx, "delete user data", err)
	}
	return d, nil
}
