package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

const projectColumns = `id, user_id, name, description, created_at, updated_at, version`

func scanProject(r rowScanner) (*taskapi.Project, error) {
	var (
		p                    taskapi.Project
		desc                 sql.NullString
		createdAt, updatedAt string
	)
	if err := r.Scan(&p.ID, &p.UserID, &p.Name, &desc, &createdAt, &updatedAt, &p.Version); err != nil {
		return nil, err
	}
	if desc.Valid {
		p.Description = &desc.String
	}
	var err error
	if p.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, fmt.Errorf("project %s: stored created_at: %w", p.ID, err)
	}
	if p.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return nil, fmt.Errorf("project %s: stored updated_at: %w", p.ID, err)
	}
	return &p, nil
}

// CreateProject inserts p, setting its ID (when empty), CreatedAt,
// UpdatedAt and Version; an ID in use gives ECONFLICT, a user at the
// projects' cap ELIMIT. On error p is left as it was.
func (s *Store) CreateProject(ctx context.Context, p *taskapi.Project) error {
	n := *p
	n.Init(s.now().UTC())
	err := s.inTx(ctx, func(tx *tx) error {
		if err := s.checkRoom(tx, qCountProjects, n.UserID, s.limits.Projects, taskapi.TooManyProjects); err != nil {
			return err
		}
		_, err := tx.exec(qInsertProject, n.ID, n.UserID, n.Name, nullString(n.Description), formatTime(n.CreatedAt), formatTime(n.UpdatedAt), n.Version, s.issuer)
		if isDuplicateID(err) {
			return fmt.Errorf("%w: %w", taskapi.ProjectExists(), err)
		}
		if err != nil {
			return err
		}
		return s.saveResponse(tx, &n)
	})
	if err != nil {
		return mapError(ctx, "create project", err)
	}
	*p = n
	return nil
}

// Project returns the project id of userID.
func (s *Store) Project(ctx context.Context, userID, id string) (*taskapi.Project, error) {
	p, err := scanProject(s.queryRow(ctx, qProjectByID, id, userID, s.issuer))
	return p, mapError(ctx, "get project", storesql.NotFound(err, taskapi.ProjectNotFound))
}

// UpdateProject applies u to the project id of userID in one transaction,
// with Version + 1 and UpdatedAt = now.
func (s *Store) UpdateProject(ctx context.Context, userID, id string, u taskapi.ProjectUpdate, pre taskapi.Precondition) (*taskapi.Project, error) {
	p, err := storesql.Update(ctx, s.inTx, taskapi.ProjectNotFound, pre, func(tx *tx) (*taskapi.Project, error) {
		return scanProject(tx.queryRow(qProjectByID, id, userID, s.issuer))
	}, func(tx *tx, p *taskapi.Project) error {
		p.Apply(u, s.now())
		if err := tx.updateRow("project", id, &p.Version, qUpdateProject, p.Name, nullString(p.Description), formatTime(p.UpdatedAt),
			id, userID, p.Version, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(tx, p)
	})
	return p, mapError(ctx, "update project", err)
}

// DeleteProject removes the project id of userID, if pre allows, in one
// transaction with the change of its tasks: each loses its project and
// gets Version + 1 and UpdatedAt = now.
func (s *Store) DeleteProject(ctx context.Context, userID, id string, pre taskapi.Precondition) error {
	err := storesql.Delete(ctx, s.inTx, taskapi.ProjectNotFound, taskapi.ProjectChanged, pre, func(tx *tx) storesql.Scanner {
		return tx.queryRow(qProjectVersion, id, userID, s.issuer)
	}, func(tx *tx) error {
		if _, err := tx.exec(qUnlinkTasks, formatTime(s.now()), id, userID, s.issuer); err != nil {
			return err
		}
		if _, err := tx.exec(qDeleteProject, id, userID, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(tx, nil)
	})
	return mapError(ctx, "delete project", err)
}
