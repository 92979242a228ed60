package sqlite

import (
	"context"
	"strings"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// dialect is how this store's lists differ from PostgreSQL's: search with
// a Go function rather than LIKE, Unicode case-insensitive, % and _ no
// wildcards (see containsFunc); times and dates as their stored text.
var dialect = storesql.Dialect{
	Search: "(" + containsFunc + "(name, ?) OR " + containsFunc + "(description, ?))",
	Time:   nullTime,
	Date:   nullDate,
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
	tasks, err := queryAll(ctx, s, "list tasks", scanTask, text, args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewTaskPage(tasks, f.Limit, field), nil
}

// tasksQuery returns the SQL text and arguments of the list f asks for
// among issuer's rows, and the field the list is sorted by.
func tasksQuery(f taskapi.TaskFilter, issuer string) (text string, args []any, field taskapi.SortField, err error) {
	f.Search = strings.ToLower(f.Search) // as containsFunc wants it
	return storesql.Tasks(taskColumns, f, issuer, dialect)
}

// Projects returns one page of the user's projects, oldest first, ties
// broken by id, after f.After (by keyset, like Tasks).
func (s *Store) Projects(ctx context.Context, f taskapi.ProjectListFilter) (*taskapi.ProjectPage, error) {
	text, args, err := storesql.Projects(projectColumns, f, s.issuer, dialect)
	if err != nil {
		return nil, err
	}
	projects, err := queryAll(ctx, s, "list projects", scanProject, text, args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewProjectPage(projects, f.Limit), nil
}
