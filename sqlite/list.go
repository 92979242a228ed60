package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
)

// query collects the WHERE terms of a list and their arguments.
type query struct {
	where []string
	args  []any
}

func (q *query) add(term string, args ...any) {
	q.where = append(q.where, term)
	q.args = append(q.args, args...)
}

// Tasks returns one page of the tasks f selects, in f.Sort order with ties
// broken by id, after f.After. The page is found by keyset (the sort value
// and id of the last row seen, never an offset), so rows inserted or
// deleted between two pages neither repeat nor skip rows that stayed.
func (s *Store) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	text, args, field, err := tasksQuery(f, s.issuer)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, text, args...)
	if err != nil {
		return nil, mapError(ctx, "list tasks", err)
	}
	tasks, err := scanAll(rows, scanTask)
	if err != nil {
		return nil, mapError(ctx, "list tasks", err)
	}
	return taskapi.NewTaskPage(tasks, f.Limit, field), nil
}

// tasksQuery returns the SQL text and arguments of the list f asks for
// among issuer's rows, and the field the list is sorted by.
func tasksQuery(f taskapi.TaskFilter, issuer string) (text string, args []any, field taskapi.SortField, err error) {
	if f.Limit < 1 {
		return "", nil, "", badRequest("limit must be at least 1")
	}
	field = f.Sort.Field
	if field == "" {
		field = taskapi.SortCreatedAt
	}
	if !field.Valid() {
		return "", nil, "", badRequest("cannot sort by %q", field)
	}

	var q query
	q.add("user_id = ? AND issuer = ?", f.UserID, issuer)
	if f.Completed != nil {
		if *f.Completed {
			q.add("completed_on IS NOT NULL")
		} else {
			q.add("completed_on IS NULL")
		}
	}
	if f.Search != "" {
		// A Go function rather than LIKE: Unicode case-insensitive, and %
		// and _ need no escaping (see containsFunc).
		term := strings.ToLower(f.Search)
		q.add("("+containsFunc+"(name, ?) OR "+containsFunc+"(description, ?))", term, term)
	}
	switch {
	case f.Project.None:
		q.add("project_id IS NULL")
	case f.Project.ID != "":
		q.add("project_id = ?", f.Project.ID)
	}
	if f.DueBefore != nil {
		q.add("due_date < ?", f.DueBefore.String())
	}
	if f.DueAfter != nil {
		q.add("due_date > ?", f.DueAfter.String())
	}
	if f.After != nil {
		v, err := cursorValue(field, f.After)
		if err != nil {
			return "", nil, "", err
		}
		keyset(&q, field.Column(), field.Nullable(), f.Sort.Desc, v, f.After.ID)
	}

	order := field.Column() + " ASC NULLS LAST, id ASC"
	if f.Sort.Desc {
		order = field.Column() + " DESC NULLS FIRST, id DESC"
	}
	q.args = append(q.args, f.Limit+1)
	return `SELECT ` + taskColumns + ` FROM tasks WHERE ` + strings.Join(q.where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ?`, q.args, field, nil
}

// keyset adds the term that selects the rows after (value, id) in the
// order of column: ascending with NULLs last, or descending with NULLs
// first. value is nil when the cursor's row had no value.
func keyset(q *query, column string, nullable, desc bool, value *string, id string) {
	switch {
	case !nullable && !desc:
		q.add("("+column+", id) > (?, ?)", *value, id)
	case !nullable && desc:
		q.add("("+column+", id) < (?, ?)", *value, id)
	case !desc && value != nil: // the rest of the values, then every NULL
		q.add("("+column+" IS NULL OR ("+column+", id) > (?, ?))", *value, id)
	case !desc && value == nil: // among the NULLs at the end
		q.add("("+column+" IS NULL AND id > ?)", id)
	case desc && value != nil: // the rest of the values; the NULLs came first
		q.add("("+column+", id) < (?, ?)", *value, id)
	default: // desc, among the NULLs first, then every value
		q.add("("+column+" IS NOT NULL OR id < ?)", id)
	}
}

// cursorValue checks a cursor against the sort field and returns its value
// in the stored form.
func cursorValue(field taskapi.SortField, c *taskapi.Cursor) (*string, error) {
	if c.ID == "" {
		return nil, badRequest("invalid page token")
	}
	if c.Value == nil {
		if !field.Nullable() {
			return nil, badRequest("invalid page token")
		}
		return nil, nil
	}
	v := *c.Value
	switch field {
	case taskapi.SortCreatedAt, taskapi.SortUpdatedAt, taskapi.SortCompletedOn:
		t, err := parseTime(v)
		if err != nil {
			return nil, badRequest("invalid page token")
		}
		v = formatTime(t)
	case taskapi.SortDueDate:
		d, err := time.Parse(taskapi.DateLayout, v)
		if err != nil {
			return nil, badRequest("invalid page token")
		}
		v = d.Format(taskapi.DateLayout)
	}
	return &v, nil
}
