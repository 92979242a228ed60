package sqlite

import (
	"context"
	"strings"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// dialect is how this store's lists differ from PostgreSQL's: search with
// a Go function rather than LIKE, Unicode case-insensitive, % and _ no
// wildcards (see containsFunc), through the FTS5 trigram index task_text (see textindex.go);
// a unary + keeps a term from choosing an index (SQLite's documented way);
// times and dates as their stored text.
var dialect = storesql.Dialect{
	Search:        "(" + containsFunc + "(name, ?) OR " + containsFunc + "(description, ?))",
	SearchArg:     func(text string) any { return strings.ToLower(text) },
	State:         "(completed_on IS NOT NULL)",
	TextIndex:     textCandidates,
	TextIndexArgs: textCandidatesArgs,
	Unindexed:     func(t storesql.Term) string { return t(func(column string) string { return "+" + column }) },
	Time:          nullTime,
	Date:          nullDate,
}

// Tasks returns one page of the tasks f selects, in f.Sort order with ties
// broken by id, after f.After, by the plans of storesql.ListTasks. The
// page is found by keyset (the sort value and id of the last row seen,
// never an offset), so rows inserted or deleted between two pages neither
// repeat nor skip rows that stayed.
func (s *Store) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	page, err := storesql.ListTasks(ctx, lists{s}, taskColumns, f, s.issuer, dialect)
	return page, mapError(ctx, "list tasks", err)
}

// lists runs the statements of storesql's lists on the read pool.
type lists struct{ s *Store }

func (l lists) Count(ctx context.Context, query string, args ...any) (n int, err error) {
	return n, l.s.queryRow(ctx, query, args...).Scan(&n)
}

func (l lists) Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error) {
	return queryAll(ctx, l.s, "list tasks", scanTask, query, args...)
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
