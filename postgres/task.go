package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

const taskColumns = `id, user_id, project_id, name, description, due_date, completed_on, created_at, updated_at, version`

// The statements of tasks. pgx prepares each on first use per connection.
const (
	qTaskByID       = `SELECT ` + taskColumns + ` FROM tasks WHERE id = $1 AND user_id = $2 AND issuer = $3`
	qTaskForUpdate  = qTaskByID + ` FOR UPDATE`
	qTaskVersionFor = `SELECT version FROM tasks WHERE id = $1 AND user_id = $2 AND issuer = $3 FOR UPDATE`
	// qInsertTask inserts the task only when its project, if any, is one
	// of the user's: one statement, no transaction. The foreign key
	// catches a project deleted meanwhile.
	qInsertTask    = `INSERT INTO tasks (` + taskColumns + `, issuer) SELECT ` + taskValues + ` WHERE ` + taskProjectIsUsers
	qProjectExists = `SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1 AND user_id = $2 AND issuer = $3)`
	qUpdateTask    = `UPDATE tasks SET project_id = $1, name = $2, description = $3, due_date = $4, completed_on = $5,
		updated_at = $6, version = version + 1 WHERE id = $7 AND user_id = $8 AND version = $9 AND issuer = $10`
	qDeleteTask = `DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND issuer = $3`
)

// The parts of the inserts of a task: its values ($1 … $11, the issuer
// last), the condition on its project, and the count of the user's tasks
// against the cap ($12): at least the cap when the user has that many,
// else less.
//
// The count goes in two steps, each stopping at the cap. First the rows of
// the user id under any issuer, from an index on user_id alone (an
// index-only scan where the visibility map allows): never fewer than the
// user's, so below the cap it answers. Only at the cap does it count the
// rows of the issuer, which reads each row for its issuer. (The second
// step is an InitPlan that PostgreSQL runs only when CASE needs it.)
const (
	taskValues         = `$1::text, $2::text, $3::text, $4::text, $5::text, $6::date, $7::timestamptz, $8::timestamptz, $9::timestamptz, $10::bigint, $11::text`
	taskProjectIsUsers = `($3::text IS NULL OR EXISTS (SELECT 1 FROM projects WHERE id = $3 AND user_id = $2 AND issuer = $11))`
	countTasksUpTo     = `CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = $2 LIMIT $12) AS a) < $12 THEN 0
		ELSE (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = $2 AND issuer = $11 LIMIT $12) AS b) END`
)

// qInsertTaskCapped is qInsertTask for a user with a cap ($12): it counts
// the user's tasks, up to the cap, and inserts below it only; its row
// tells whether the user was full, and whether the task went in. It runs
// under the user's lock (insertCapped).
const qInsertTaskCapped = `WITH n AS (SELECT ` + countTasksUpTo + ` AS n),
	ins AS (INSERT INTO tasks (` + taskColumns + `, issuer) SELECT ` + taskValues + ` FROM n WHERE n.n < $12 AND ` + taskProjectIsUsers + ` RETURNING 1)
	SELECT n.n >= $12, EXISTS (SELECT 1 FROM ins) FROM n`

// rowScanner is a pgx.Row or pgx.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanTask(r rowScanner) (*taskapi.Task, error) {
	var (
		t           taskapi.Task
		due         pgtype.Date
		completedOn *time.Time
	)
	if err := r.Scan(&t.ID, &t.UserID, &t.ProjectID, &t.Name, &t.Description, &due, &completedOn,
		&t.CreatedAt, &t.UpdatedAt, &t.Version); err != nil {
		return nil, err
	}
	if due.Valid {
		if due.InfinityModifier != pgtype.Finite {
			return nil, fmt.Errorf("task %s: stored due_date is infinite", t.ID)
		}
		d := taskapi.NewDate(due.Time.Date())
		t.DueDate = &d
	}
	if completedOn != nil {
		c := completedOn.UTC()
		t.CompletedOn = &c
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateTask inserts t, setting its ID (when empty), CreatedAt, UpdatedAt
// and Version. A ProjectID must name a project of the same user (EINVALID
// on project_id otherwise); an ID in use gives ECONFLICT; a user at the
// tasks' cap gets ELIMIT. On error t is left as it was.
func (s *Store) CreateTask(ctx context.Context, t *taskapi.Task) error {
	n := *t
	if err := nulFields(map[string]*string{"id": &n.ID, "user_id": &n.UserID, "project_id": n.ProjectID,
		"name": &n.Name, "description": n.Description}); err != nil {
		return err
	}
	if n.ProjectID != nil && unstorable(*n.ProjectID) {
		return taskapi.NoSuchProject()
	}
	n.Init(s.nowMicro())
	if n.CompletedOn != nil {
		c := micro(*n.CompletedOn)
		n.CompletedOn = &c
	}
	args := []any{n.ID, n.UserID, n.ProjectID, n.Name, n.Description, dateArg(n.DueDate),
		timeArg(n.CompletedOn), n.CreatedAt, n.UpdatedAt, n.Version, s.issuer}
	class, insert := int32(0), qInsertTask
	if s.limits.Tasks != 0 {
		class, insert, args = lockTasks, qInsertTaskCapped, append(args, s.limits.Tasks)
	}
	full, inserted, err := s.insertRow(ctx, class, n.UserID, insert, &n, args...)
	switch {
	case isViolation(err, uniqueViolation):
		err = fmt.Errorf("%w: %w", taskapi.TaskExists(), err)
	case isViolation(err, foreignKeyViolation):
		err = fmt.Errorf("%w: %w", taskapi.NoSuchProject(), err)
	case err == nil && full:
		err = taskapi.TooManyTasks(s.limits.Tasks)
	case err == nil && !inserted:
		err = taskapi.NoSuchProject()
	}
	if err != nil {
		return mapError(ctx, "create task", err)
	}
	*t = n
	return nil
}

// Task returns the task id of userID.
func (s *Store) Task(ctx context.Context, userID, id string) (*taskapi.Task, error) {
	if unstorable(userID, id) {
		return nil, taskapi.TaskNotFound()
	}
	t, err := scanTask(s.q().QueryRow(ctx, qTaskByID, id, userID, s.issuer))
	return t, mapError(ctx, "get task", storesql.NotFound(err, taskapi.TaskNotFound))
}

// UpdateTask applies u to the task id of userID in one transaction: it
// locks and reads the row, checks p and the project, and writes the new row
// with Version + 1 and UpdatedAt = now. Concurrent updates of one task, from
// this instance or another, queue on the row lock.
func (s *Store) UpdateTask(ctx context.Context, userID, id string, u taskapi.TaskUpdate, p taskapi.Precondition) (*taskapi.Task, error) {
	if unstorable(userID, id) {
		return nil, taskapi.TaskNotFound()
	}
	if err := nulFields(map[string]*string{"name": u.Name, "description": u.Description.Ptr(), "project_id": u.ProjectID.Ptr()}); err != nil {
		return nil, err
	}
	t, err := storesql.Update(ctx, s.inTx, taskapi.TaskNotFound, p, func(tx pgx.Tx) (*taskapi.Task, error) {
		return scanTask(tx.QueryRow(ctx, qTaskForUpdate, id, userID, s.issuer))
	}, func(tx pgx.Tx, t *taskapi.Task) error {
		if u.ProjectID.Valid && (t.ProjectID == nil || *t.ProjectID != u.ProjectID.Value) {
			var exists bool
			if err := tx.QueryRow(ctx, qProjectExists, u.ProjectID.Value, userID, s.issuer).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return taskapi.NoSuchProject()
			}
		}
		t.Apply(u, s.nowMicro())
		if t.CompletedOn != nil {
			c := micro(*t.CompletedOn)
			t.CompletedOn = &c
		}
		err := updateRow(ctx, tx, "task", id, &t.Version, qUpdateTask, t.ProjectID, t.Name, t.Description, dateArg(t.DueDate),
			timeArg(t.CompletedOn), t.UpdatedAt, id, userID, t.Version, s.issuer)
		if isViolation(err, foreignKeyViolation) {
			return fmt.Errorf("%w: %w", taskapi.NoSuchProject(), err)
		}
		if err != nil {
			return err
		}
		return s.saveResponse(ctx, tx, t)
	})
	return t, mapError(ctx, "update task", err)
}

// DeleteTask removes the task id of userID, if p allows.
func (s *Store) DeleteTask(ctx context.Context, userID, id string, p taskapi.Precondition) error {
	if unstorable(userID, id) {
		return taskapi.TaskNotFound()
	}
	err := storesql.Delete(ctx, s.inTx, taskapi.TaskNotFound, taskapi.TaskChanged, p, func(tx pgx.Tx) storesql.Scanner {
		return tx.QueryRow(ctx, qTaskVersionFor, id, userID, s.issuer)
	}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qDeleteTask, id, userID, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(ctx, tx, nil)
	})
	return mapError(ctx, "delete task", err)
}
