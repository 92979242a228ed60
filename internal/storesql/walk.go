package storesql

import (
	"context"
	"strconv"
	"strings"

	"github.com/taskapi/taskapi"
)

// walk returns the page of the walk of the sort field's index (or the
// project's), with every filter it does not serve checked on its rows.
// After a page token it may walk two ranges of the index, one after the
// other (see keyset).
func (p *planner) walk(ctx context.Context, q Querier) (*taskapi.TaskPage, error) {
	var rows []*taskapi.Task
	for _, seg := range p.segments() {
		s := p.walkStatement(seg, p.f.Limit+1-len(rows), 0)
		tasks, err := q.Tasks(ctx, s.text, s.args...)
		if err != nil {
			return nil, err
		}
		if rows = append(rows, tasks...); len(rows) > p.f.Limit {
			break
		}
	}
	return taskapi.NewTaskPage(rows, p.f.Limit, p.field), nil
}

// stated reports whether the walk reads an index with the completion
// state (Dialect.State) between the user and the sort field: the sort
// field's index of a field other than completed_on, whose own index
// holds the open tasks apart (completed_on IS NULL) already.
func (p *planner) stated() bool {
	return p.d.State != "" && p.walking() == byField && p.field != taskapi.SortCompletedOn
}

// states returns the completion states the walk reads, each a range of
// the index: the filter's, or both (merged in the list's order); none
// (noState) when the index has no state.
func (p *planner) states() []int {
	if !p.stated() {
		return []int{noState}
	}
	return p.completionStates()
}

// noState is the state of a walk of an index without one.
const noState = -1

// walkStatement is the statement of the rows of the walk of one range of
// the index (segment) in the list's order, limit of them after the first
// offset. The ranges of two states are one UNION ALL in the list's order,
// merged as the two ranges are read in order, up to the limit: O(page)
// still. With Dialect.LimitArms each range is a subquery with its own
// order and limit.
func (p *planner) walkStatement(seg []cond, limit, offset int) statement {
	tail := ` ORDER BY ` + p.order() + ` LIMIT ?`
	if offset > 0 {
		tail += ` OFFSET ` + strconv.Itoa(offset)
	}
	states := p.states()
	if len(states) == 1 {
		w := p.walkTerms(seg, states[0])
		return statement{`SELECT ` + p.columns + ` FROM tasks WHERE ` + strings.Join(w.where, " AND ") + tail, append(w.args, limit)}
	}
	var parts []string
	var args []any
	for _, state := range states {
		w := p.walkTerms(seg, state)
		arm := `SELECT ` + p.columns + ` FROM tasks WHERE ` + strings.Join(w.where, " AND ")
		args = append(args, w.args...)
		if p.d.LimitArms {
			arm = `SELECT ` + p.columns + ` FROM (` + arm + ` ORDER BY ` + p.order() + ` LIMIT ?) AS state` + strconv.Itoa(state)
			args = append(args, limit+offset)
		}
		parts = append(parts, arm)
	}
	return statement{strings.Join(parts, " UNION ALL ") + tail, append(args, limit)}
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

// walkTerms returns the terms of the walk of one range of the index, in
// one completion state (or noState): the state's term stands for the
// completed filter. The terms the index does not serve are checked as one
// Unindexed term: the planner's estimate of the rows they pass then
// counts once.
func (p *planner) walkTerms(seg []cond, state int) *query {
	var q query
	var checked []Term
	var args []any
	add := func(t Term, indexed bool, a ...any) {
		if indexed {
			q.add(t(plain), a...)
		} else {
			checked, args = append(checked, t), append(args, a...)
		}
	}
	add(identityTerm, p.walking() == byField, p.f.UserID, p.issuer)
	p.stateTerm(&q, state)
	for _, fl := range p.filters {
		if fl.on == byCompleted && state != noState {
			continue
		}
		add(fl.term, p.inWalk(fl), fl.args...)
	}
	for _, c := range seg {
		q.add(c.term(plain), c.args...)
	}
	if len(checked) > 0 {
		q.add(p.d.Unindexed(func(c func(string) string) string {
			terms := make([]string, len(checked))
			for i, t := range checked {
				terms[i] = t(c)
			}
			return strings.Join(terms, " AND ")
		}), args...)
	}
	return &q
}
