package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// Tasks returns one page of the tasks f selects, in f.Sort order with ties
// broken by id, after f.After. The page is found by keyset (the sort value
// and id of the last row seen, never an offset), so rows inserted or
// deleted between two pages neither repeat nor skip rows that stayed.
// Names and ids compare byte by byte (their columns are COLLATE "C").
func (s *Store) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	text, args, field, err := storesql.Tasks(taskColumns, f, s.issuer, dialect(s.fold))
	if err != nil {
		return nil, err
	}
	// No stored text holds U+0000 (PostgreSQL cannot store it), so a
	// filter with one matches nothing.
	if unstorable(f.UserID, f.Search, f.Project.ID) {
		return taskapi.NewTaskPage(nil, f.Limit, field), nil
	}
	tasks, err := queryAll(ctx, s, "list tasks", scanRow(scanTask), numbered(text), args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewTaskPage(tasks, f.Limit, field), nil
}

// Projects returns one page of the user's projects, oldest first, ties
// broken by id, after f.After (by keyset, like Tasks).
func (s *Store) Projects(ctx context.Context, f taskapi.ProjectListFilter) (*taskapi.ProjectPage, error) {
	// A user id no row holds matches nothing; a limit below 1 is refused
	// first, a bad cursor after.
	if f.Limit > 0 && unstorable(f.UserID) {
		return taskapi.NewProjectPage(nil, f.Limit), nil
	}
	text, args, err := storesql.Projects(projectColumns, f, s.issuer, dialect(s.fold))
	if err != nil {
		return nil, err
	}
	projects, err := queryAll(ctx, s, "list projects", scanRow(scanProject), numbered(text), args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewProjectPage(projects, f.Limit), nil
}

// dialect returns how the lists of this store differ from SQLite's. Search
// with strpos rather than LIKE: % and _ need no escaping; lower() in fold,
// a collation that lower-cases by Unicode's rules, not in the columns' "C",
// which changes ASCII letters only. Times to the microsecond, dates as
// pgtype.Date, and no text that PostgreSQL cannot store.
func dialect(fold string) storesql.Dialect {
	term := "lower(?::text COLLATE " + fold + ")"
	return storesql.Dialect{
		Search:     "(strpos(lower(name COLLATE " + fold + "), " + term + ") > 0 OR strpos(lower(description COLLATE " + fold + "), " + term + ") > 0)",
		Time:       timeArg,
		Date:       dateArg,
		Unstorable: unstorable,
	}
}

// numbered returns text with its "?"s numbered $1, $2, … in order.
func numbered(text string) string {
	parts := strings.Split(text, "?")
	var b strings.Builder
	b.WriteString(parts[0])
	for i, part := range parts[1:] {
		b.WriteString("$" + strconv.Itoa(i+1))
		b.WriteString(part)
	}
	return b.String()
}
