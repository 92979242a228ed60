package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

const projectColumns = `id, user_id, name, description, created_at, updated_at, version`

// The statements of projects. pgx prepares each on first use per
// connection.
const (
	qProjectByID       = `SELECT ` + projectColumns + ` FROM projects WHERE id = $1 AND user_id = $2 AND issuer = $3`
	qProjectForUpdate  = qProjectByID + ` FOR UPDATE`
	qProjectVersionFor = `SELECT version FROM projects WHERE id = $1 AND user_id = $2 AND issuer = $3 FOR UPDATE`
	qInsertProject     = `INSERT INTO projects (` + projectColumns + `, issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qUpdateProject     = `UPDATE projects SET name = $1, description = $2, updated_at = $3, version = version + 1
		WHERE id = $4 AND user_id = $5 AND version = $6 AND issuer = $7`
	qUnlinkTasks   = `UPDATE tasks SET project_id = NULL, updated_at = $1, version = version + 1 WHERE project_id = $2 AND user_id = $3 AND issuer = $4`
	qDeleteProject = `DELETE FROM projects WHERE id = $1 AND user_id = $2 AND issuer = $3`
)

// qInsertProjectCapped is qInsertTaskCapped for projects ($9: the cap).
const qInsertProjectCapped = `WITH n AS (SELECT ` + countProjectsUpTo + ` AS n),
	ins AS (INSERT INTO projects (` + projectColumns + `, issuer)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::timestamptz, $7::bigint, $8::text FROM n WHERE n.n < $9 RETURNING 1)
	SELECT n.n >= $9, EXISTS (SELECT 1 FROM ins) FROM n`

// countProjectsUpTo is countTasksUpTo for projects.
const countProjectsUpTo = `CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM projects WHERE user_id = $2 LIMIT $9) AS a) < $9 THEN 0
	ELSE (SELECT count(*) FROM (SELECT 1 FROM projects WHERE user_id = $2 AND issuer = $8 LIMIT $9) AS b) END`

func scanProject(r rowScanner) (*taskapi.Project, error) {
	var p taskapi.Project
	if err := r.Scan(&p.ID, &p.UserID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt, &p.Version); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// CreateProject inserts p, setting its ID (when empty), CreatedAt,
// UpdatedAt and Version; an ID in use gives ECONFLICT, a user at the
// projects' cap ELIMIT. On error p is left as it was.
func (s *Store) CreateProject(ctx context.Context, p *taskapi.Project) error {
	n := *p
	if err := nulFields(map[string]*string{"id": &n.ID, "user_id": &n.UserID, "name": &n.Name, "description": n.Description}); err != nil {
		return err
	}
	n.Init(s.nowMicro())
	args := []any{n.ID, n.UserID, n.Name, n.Description, n.CreatedAt, n.UpdatedAt, n.Version, s.issuer}
	class, insert := int32(0), qInsertProject
	if s.limits.Projects != 0 {
		class, insert, args = lockProjects, qInsertProjectCapped, append(args, s.limits.Projects)
	}
	full, _, err := s.insertRow(ctx, class, n.UserID, insert, &n, args...)
	switch {
	case isViolation(err, uniqueViolation):
		err = fmt.Errorf("%w: %w", taskapi.ProjectExists(), err)
	case err == nil && full:
		err = taskapi.TooManyProjects(s.limits.Projects)
	}
	if err != nil {
		return mapError(ctx, "create project", err)
	}
	*p = n
	return nil
}

// Project returns the project id of userID.
func (s *Store) Project(ctx context.Context, userID, id string) (*taskapi.Project, error) {
	if unstorable(userID, id) {
		return nil, taskapi.ProjectNotFound()
	}
	p, err := scanProject(s.q().QueryRow(ctx, qProjectByID, id, userID, s.issuer))
	return p, mapError(ctx, "get project", storesql.NotFound(err, taskapi.ProjectNotFound))
}

// UpdateProject applies u to the project id of userID in one transaction
// that locks the row, with Version + 1 and UpdatedAt = now.
func (s *Store) UpdateProject(ctx context.Context, userID, id string, u taskapi.ProjectUpdate, pre taskapi.Precondition) (*taskapi.Project, error) {
	if unstorable(userID, id) {
		return nil, taskapi.ProjectNotFound()
	}
	if err := nulFields(map[string]*string{"name": u.Name, "description": u.Description.Ptr()}); err != nil {
		return nil, err
	}
	p, err := storesql.Update(ctx, s.inTx, taskapi.ProjectNotFound, pre, func(tx pgx.Tx) (*taskapi.Project, error) {
		return scanProject(tx.QueryRow(ctx, qProjectForUpdate, id, userID, s.issuer))
	}, func(tx pgx.Tx, p *taskapi.Project) error {
		p.Apply(u, s.nowMicro())
		if err := updateRow(ctx, tx, "project", id, &p.Version, qUpdateProject, p.Name, p.Description, p.UpdatedAt, id, userID, p.Version, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(ctx, tx, p)
	})
	return p, mapError(ctx, "update project", err)
}

// DeleteProject removes the project id of userID, if pre allows, in one
// transaction with the change of its tasks: each loses its project and
// gets Version + 1 and UpdatedAt = now.
func (s *Store) DeleteProject(ctx context.Context, userID, id string, pre taskapi.Precondition) error {
	if unstorable(userID, id) {
		return taskapi.ProjectNotFound()
	}
	err := storesql.Delete(ctx, s.inTx, taskapi.ProjectNotFound, taskapi.ProjectChanged, pre, func(tx pgx.Tx) storesql.Scanner {
		return tx.QueryRow(ctx, qProjectVersionFor, id, userID, s.issuer)
	}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qUnlinkTasks, s.nowMicro(), id, userID, s.issuer); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, qDeleteProject, id, userID, s.issuer); err != nil {
			return err
		}
		return s.saveResponse(ctx, tx, nil)
	})
	return mapError(ctx, "delete project", err)
}
