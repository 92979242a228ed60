package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

const taskColumns = `id, user_id, project_id, name, description, due_date, completed_on, created_at, updated_at, version`

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// taskRow is where scanTask reads one row: a single allocation holds the
// task and the values its optional fields point to.
type taskRow struct {
	task                              taskapi.Task
	projectID, desc, due, completedOn sql.NullString
	createdAt, updatedAt              string
	dueDate                           taskapi.Date
	completed                         time.Time
}

// scanTask reads a row of taskColumns.
func scanTask(r rowScanner) (*taskapi.Task, error) {
	row := new(taskRow)
	t := &row.task
	if err := r.Scan(&t.ID, &t.UserID, &row.projectID, &t.Name, &row.desc, &row.due, &row.completedOn,
		&row.createdAt, &row.updatedAt, &t.Version); err != nil {
		return nil, err
	}
	if row.projectID.Valid {
		t.ProjectID = &row.projectID.String
	}
	if row.desc.Valid {
		t.Description = &row.desc.String
	}
	var err error
	if row.due.Valid {
		if row.dueDate, err = taskapi.ParseDate(row.due.String); err != nil {
			return nil, fmt.Errorf("task %s: stored due_date: %w", t.ID, err)
		}
		t.DueDate = &row.dueDate
	}
	if row.completedOn.Valid {
		if row.completed, err = parseTime(row.completedOn.String); err != nil {
			return nil, fmt.Errorf("task %s: stored completed_on: %w", t.ID, err)
		}
		t.CompletedOn = &row.completed
	}
	if t.CreatedAt, err = parseTime(row.createdAt); err != nil {
		return nil, fmt.Errorf("task %s: stored created_at: %w", t.ID, err)
	}
	if t.UpdatedAt, err = parseTime(row.updatedAt); err != nil {
		return nil, fmt.Errorf("task %s: stored updated_at: %w", t.ID, err)
	}
	return t, nil
}

// CreateTask inserts t, setting its ID (when empty), CreatedAt, UpdatedAt
// and Version. A ProjectID must name a project of the same user (EINVALID
// on project_id otherwise); an ID in use gives ECONFLICT; a user at the
// tasks' cap gets ELIMIT. On error t is left as it was.
func (s *Store) CreateTask(ctx context.Context, t *taskapi.Task) error {
	n := *t
	n.Init(s.now().UTC())
	if n.CompletedOn != nil {
		c := n.CompletedOn.UTC()
		n.CompletedOn = &c
	}
	err := s.inTx(ctx, func(tx *tx) error {
		if err := s.checkRoom(tx, qCountTasks, n.UserID, s.limits.Tasks, taskapi.TooManyTasks); err != nil {
			return err
		}
		if n.ProjectID != nil {
			if err := s.checkProject(tx, n.UserID, *n.ProjectID); err != nil {
				return err
			}
		}
		_, err := tx.exec(qInsertTask,
			n.ID, n.UserID, nullString(n.ProjectID), n.Name, nullString(n.Description), nullDate(n.DueDate),
			nullTime(n.CompletedOn), formatTime(n.CreatedAt), formatTime(n.UpdatedAt), n.Version, s.issuer)
		switch {
		case isDuplicateID(err):
			return fmt.Errorf("%w: %w", taskapi.TaskExists(), err)
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: %w", taskapi.NoSuchProject(), err)
		case err != nil:
			return err
		}
		return s.saveResponse(tx, &n)
	})
	if err != nil {
		return mapError(ctx, "create task", err)
	}
	*t = n
	return nil
}

// checkProject reports EINVALID on project_id unless id names a project of
// userID.
func (s *Store) checkProject(tx *tx, userID, id string) error {
	var one int
	err := tx.queryRow(qProjectExists, id, userID, s.issuer).Scan(&one)
	if err == sql.ErrNoRows {
		return taskapi.NoSuchProject()
	}
	return err
}

// Task returns the task id of userID.
func (s *Store) Task(ctx context.Context, userID, id string) (*taskapi.Task, error) {
	t, err := scanTask(s.queryRow(ctx, qTaskByID, id, userID, s.issuer))
	return t, mapError(ctx, "get task", storesql.NotFound(err, taskapi.TaskNotFound))
}

// UpdateTask applies u to the task id of userID in one transaction: it
// reads the row, checks p and the project, and writes the new row with
// Version + 1 and UpdatedAt = now.
func (s *Store) UpdateTask(ctx context.Context, userID, id string, u taskapi.TaskUpdate, p taskapi.Precondition) (*taskapi.Task, error) {
	t, err := storesql.Update(ctx, s.inTx, taskapi.TaskNotFound, p, func(tx *tx) (*taskapi.Task, error) {
		return scanTask(tx.queryRow(qTaskByID, id, userID, s.issuer))
	}, func(tx *tx, t *taskapi.Task) error {
		if u.ProjectID.Valid && (t.ProjectID == nil || *t.ProjectID != u.ProjectID.Value) {
			if err := s.checkProject(tx, userID, u.ProjectID.Value); err != nil {
				return err
			}
		}
		t.Apply(u, s.now())
		err := tx.updateRow("task", id, &t.Version, qUpdateTask, nullString(t.ProjectID), t.Name, nullString(t.Description),
			nullDate(t.DueDate), nullTime(t.CompletedOn), formatTime(t.UpdatedAt), id, userID, t.Version, s.issuer)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: %w", taskapi.NoSuchProject(), err)
		}
		if err != nil {
			return err
		}
		return s.saveResponse(tx, t)
	})
	return t, mapError(ctx, "update task", err)
}

// DeleteTask removes the task id of userID, if p allows.
func (s *Store) DeleteTask(ctx context.Context, userID, id string, p taskapi.Precondition) error {
	err := storesql.Delete(ctx, s.inTx, taskapi.TaskNotFound, taskapi.TaskChanged, p, func(tx *tx) storesql.Scanner {
		return tx.queryRow(qTaskVersion, id, userID, s.issuer)
	}, func(tx *tx) error {
		if _, err := tx.exec(qDeleteTask, id, userID, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(tx, nil)
	})
	return mapError(ctx, "delete task", err)
}
