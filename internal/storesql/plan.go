package storesql

import (
	"context"
	"strings"
	"unicode"

	"github.com/taskapi/taskapi"
)

// A task list is one of four plans, chosen here rather than by the
// database's planner, so that no list costs O(all the user's tasks) and no
// plan depends on planner statistics (present or not, fresh or stale):
//
//   - walk: read the index of the sort field, (user_id, issuer, field, id),
//     in order from the page token on, and stop after limit+1 rows that
//     pass the filters. O(page) without a filter and with a filter on the
//     sort field itself (a due date range sorted by due date, completed
//     sorted by completed_on); the tasks of one project sorted by
//     created_at walk the project's index, (project_id, created_at, id).
//   - probe, then walk or gather: a filter on another field than the
//     sort's (completed, a due date range, a project) first counts its
//     rows on its own index, up to ProbeLimit. Fewer: the list gathers
//     them there and sorts them (at most ProbeLimit rows). More: the list
//     walks the sort field's index, where at least ProbeLimit of the
//     user's rows pass the filter, so the walk is short.
//   - text index: a search of a text with a run of 3 letters or digits,
//     of a user with at least ProbeLimit tasks, gathers the tasks that
//     contain it through the store's trigram index and sorts them:
//     O(tasks that contain it).
//   - window: any other search walks the sort field's index but examines
//     at most SearchWindow tasks per request. A page may then hold fewer
//     tasks than asked for, even none, with a page token that continues
//     after the last task examined.
//
// A term that must not choose the index is written in the dialect's
// Unindexed form; a gathered set is collected in a MATERIALIZED common
// table expression, so that no index's order tempts the planner.

// Bounds of the plans.
const (
	// ProbeLimit is how many rows of a filter a list counts before it
	// decides to walk the sort field's index rather than gather them.
	ProbeLimit = 1000
	// SearchWindow is how many tasks a search that the text index cannot
	// serve examines per request.
	SearchWindow = 1000
)

// Querier runs the statements of a list on a store: the two kinds of
// query the plans need.
type Querier interface {
	// Count runs a query of one integer.
	Count(ctx context.Context, query string, args ...any) (int, error)
	// Tasks runs a query of rows of the columns given to ListTasks.
	Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error)
}

// Indexable reports whether a search for term can use a trigram index: its
// lower-cased form has a run of at least three letters or digits (a
// trigram index of PostgreSQL, pg_trgm, extracts trigrams from such runs
// only) and no NUL character.
func Indexable(term string) bool {
	if strings.ContainsRune(term, 0) {
		return false
	}
	run := 0
	for _, r := range strings.ToLower(term) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			run = 0
		} else if run++; run == 3 {
			return true
		}
	}
	return false
}

// ListTasks returns one page of the tasks f selects among issuer's, in
// f.Sort order with ties broken by id, after f.After, read by q as rows
// of columns.
func ListTasks(ctx context.Context, q Querier, columns string, f taskapi.TaskFilter, issuer string, d Dialect) (*taskapi.TaskPage, error) {
	p, err := newPlanner(columns, f, issuer, d)
	if err != nil {
		return nil, err
	}
	if d.Unstorable != nil && d.Unstorable(f.UserID, f.Search, f.Project.ID) {
		return taskapi.NewTaskPage(nil, f.Limit, p.field), nil // no row holds such text
	}
	if f.Search != "" {
		return p.search(ctx, q)
	}
	if probe := p.probed(); probe != nil {
		text, args := p.count(probe)
		n, err := q.Count(ctx, text, args...)
		if err != nil {
			return nil, err
		}
		if n < ProbeLimit {
			return p.run(ctx, q, p.gather(probe))
		}
	}
	return p.walk(ctx, q)
}

// planner builds the statements of one task list.
type planner struct {
	columns string
	f       taskapi.TaskFilter
	d       Dialect
	field   taskapi.SortField
	issuer  string
	after   any // the cursor's value as an argument, when f.After is set
	filters []filter
}

// filter is one WHERE term of the filter; on names the index that can
// find its rows (noIndex: none), and column the column it tests.
type filter struct {
	on     index
	column string
	term   Term
	args   []any
}

// index names the indexes a plan may choose.
type index int

const (
	noIndex     index = iota
	byField           // the sort field's (user_id, issuer, field, id)
	byDue             // (user_id, issuer, due_date, id)
	byCompleted       // (user_id, issuer, completed_on, id)
	byProject         // (project_id, created_at, id) of tasks with a project
)

// statement is the SQL of one query and its arguments.
type statement struct {
	text string
	args []any
}

func newPlanner(columns string, f taskapi.TaskFilter, issuer string, d Dialect) (*planner, error) {
	if f.Limit < 1 {
		return nil, badRequest("limit must be at least 1")
	}
	p := &planner{columns: columns, f: f, d: d, field: f.Sort.Field, issuer: issuer}
	if p.field == "" {
		p.field = taskapi.SortCreatedAt
	}
	if !p.field.Valid() {
		return nil, badRequest("cannot sort by %q", p.field)
	}
	if f.After != nil {
		v, err := d.cursor(p.field, f.After)
		if err != nil {
			return nil, err
		}
		p.after = v
	}
	if f.Completed != nil {
		test := "IS NULL"
		if *f.Completed {
			test = "IS NOT NULL"
		}
		p.add(byCompleted, "completed_on", "completed_on "+test)
	}
	switch {
	case f.Project.None:
		p.add(noIndex, "project_id", "project_id IS NULL")
	case f.Project.ID != "":
		p.add(byProject, "project_id", "project_id = ?", f.Project.ID)
	}
	if f.DueBefore != nil {
		p.add(byDue, "due_date", "due_date < ?", d.Date(f.DueBefore))
	}
	if f.DueAfter != nil {
		p.add(byDue, "due_date", "due_date > ?", d.Date(f.DueAfter))
	}
	return p, nil
}

// add adds a filter: sql tests column, written first in it.
func (p *planner) add(on index, column, sql string, args ...any) {
	rest := strings.TrimPrefix(sql, column)
	p.filters = append(p.filters, filter{on: on, column: column, args: args,
		term: func(c func(string) string) string { return c(column) + rest }})
}

// walking returns the index the walk reads: the project's for a
// project's tasks sorted by created_at, else the sort field's.
func (p *planner) walking() index {
	if p.f.Project.ID != "" && p.field == taskapi.SortCreatedAt {
		return byProject
	}
	return byField
}

// inWalk reports whether the walk's index serves filter fl as part of its
// range: a filter on the sort field, or the project of the project's walk.
func (p *planner) inWalk(fl filter) bool {
	if p.walking() == byProject {
		return fl.on == byProject
	}
	return fl.on != noIndex && fl.column == p.field.Column()
}

// probed returns the filter whose rows decide between a walk and a gather:
// the first, in the order project, due date, completed, that the walk's
// index does not serve but its own index does; nil when there is none.
func (p *planner) probed() *filter {
	for _, on := range []index{byProject, byDue, byCompleted} {
		for i, fl := range p.filters {
			if fl.on == on && !p.inWalk(fl) {
				return &p.filters[i]
			}
		}
	}
	return nil
}

// count is the statement that counts, up to ProbeLimit, the user's rows
// that probe selects, on probe's index.
func (p *planner) count(probe *filter) (string, []any) {
	var q query
	p.identity(&q, probe.on != byProject)
	q.add(probe.term(plain), probe.args...)
	order := probe.column
	if probe.on == byProject {
		order = "created_at"
	}
	return probeText(&q, order)
}

// probeText is the statement that counts, up to ProbeLimit, the rows q
// selects, in the order of the index on (…, column, id) that serves q's
// terms: a planner that would read them all through a bitmap, to stop at
// the ProbeLimit-th, must then sort them, so it reads the index in order.
func probeText(q *query, column string) (string, []any) {
	q.args = append(q.args, ProbeLimit)
	return `SELECT count(*) FROM (SELECT 1 FROM tasks WHERE ` + strings.Join(q.where, " AND ") +
		` ORDER BY ` + column + `, id LIMIT ?) AS probe`, q.args
}

// walk returns the page of the walk of the sort field's index (or the
// project's), with every filter it does not serve checked on its rows.
// After a page token it may walk two ranges of the index, one after the
// other (see keyset).
func (p *planner) walk(ctx context.Context, q Querier) (*taskapi.TaskPage, error) {
	var rows []*taskapi.Task
	for _, seg := range p.segments() {
		w := p.walkTerms(seg)
		tasks, err := q.Tasks(ctx, w.selectText(p.columns, "tasks", p.order(), p.f.Limit-len(rows)), w.args...)
		if err != nil {
			return nil, err
		}
		if rows = append(rows, tasks...); len(rows) > p.f.Limit {
			break
		}
	}
	return taskapi.NewTaskPage(rows, p.f.Limit, p.field), nil
}

// segments returns the ranges of the index the rows after the page token
// are in, in the order of the list: one, or two (see keyset); one without
// conditions on the first page.
func (p *planner) segments() [][]cond {
	if p.f.After == nil {
		return p.whole()
	}
	return keyset(p.field.Column(), p.field.Nullable(), p.f.Sort.Desc, p.after, p.f.After.ID)
}

// whole returns the ranges of the index that hold all the user's rows in
// the order of the list: one without conditions, unless the dialect bounds
// them (Dialect.Least). Then each range has a term on the sort field that
// only the sort field's index serves, so that even a planner without
// statistics (which takes the user's rows for a handful, and would read
// them through any index of the user and sort them) reads that index in
// order: the field's values from its least one on, then, in the list's
// order, a nullable field's NULLs.
func (p *planner) whole() [][]cond {
	if p.d.Least == nil {
		return [][]cond{nil}
	}
	column := p.field.Column()
	values := []cond{{func(c func(string) string) string { return "(" + c(column) + ", " + c("id") + ") >= (?, ?)" },
		[]any{p.d.Least(p.field), ""}}}
	if !p.field.Nullable() {
		return [][]cond{values}
	}
	nulls := []cond{{func(c func(string) string) string { return c(column) + " IS NULL" }, nil}}
	if p.f.Sort.Desc {
		return [][]cond{nulls, values}
	}
	return [][]cond{values, nulls}
}

// walkTerms returns the terms of the walk of one range of the index.
func (p *planner) walkTerms(seg []cond) *query {
	var q query
	p.identity(&q, p.walking() == byField)
	for _, fl := range p.filters {
		p.addFilter(&q, fl, p.inWalk(fl))
	}
	for _, c := range seg {
		q.add(c.term(plain), c.args...)
	}
	return &q
}

// gather is the statement that collects the rows of on's filter through
// its own index and sorts them.
func (p *planner) gather(on *filter) statement {
	var q query
	p.identity(&q, on.on != byProject) // the other indexes lead with the user

	for _, fl := range p.filters {
		p.addFilter(&q, fl, fl.on == on.on && fl.column == on.column)
	}
	p.keyset(&q)
	return p.gathered(&q)
}

// gathered wraps the rows q selects in a MATERIALIZED common table
// expression and sorts them: the planner then has no order to keep and
// reads them through the one index the terms leave it.
func (p *planner) gathered(q *query) statement {
	q.args = append(q.args, p.f.Limit+1)
	return statement{`WITH gathered AS MATERIALIZED (SELECT ` + p.columns + ` FROM tasks WHERE ` + strings.Join(q.where, " AND ") +
		`) SELECT ` + p.columns + ` FROM gathered ORDER BY ` + p.order() + ` LIMIT ?`, q.args}
}

// identity adds the user and issuer terms, indexed or not.
func (p *planner) identity(q *query, indexed bool) {
	q.add(p.form(func(c func(string) string) string { return c("user_id") + " = ? AND " + c("issuer") + " = ?" }, indexed),
		p.f.UserID, p.issuer)
}

func (p *planner) addFilter(q *query, fl filter, indexed bool) {
	q.add(p.form(fl.term, indexed), fl.args...)
}

// keyset adds the term of the rows after the page token, if any, in the
// form no index serves: the rows of a gather are found by another index.
func (p *planner) keyset(q *query) {
	if p.f.After == nil {
		return
	}
	segs := p.segments()
	var args []any
	for _, seg := range segs {
		for _, c := range seg {
			args = append(args, c.args...)
		}
	}
	q.add(p.d.Unindexed(func(col func(string) string) string {
		var or []string
		for _, seg := range segs {
			var and []string
			for _, c := range seg {
				and = append(and, c.term(col))
			}
			or = append(or, "("+strings.Join(and, " AND ")+")")
		}
		return "(" + strings.Join(or, " OR ") + ")"
	}), args...)
}

// form returns term as is, or in the form no index serves.
func (p *planner) form(t Term, indexed bool) string {
	if indexed {
		return t(plain)
	}
	return p.d.Unindexed(t)
}

// order is the ORDER BY of the list.
func (p *planner) order() string {
	c := p.field.Column()
	if p.f.Sort.Desc {
		return c + " DESC NULLS FIRST, id DESC"
	}
	return c + " ASC NULLS LAST, id ASC"
}

func (p *planner) run(ctx context.Context, q Querier, s statement) (*taskapi.TaskPage, error) {
	tasks, err := q.Tasks(ctx, s.text, s.args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewTaskPage(tasks, p.f.Limit, p.field), nil
}
