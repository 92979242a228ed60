// Package storesql is the logic that the two SQL stores (packages sqlite
// and postgres) share, so that it has one home while their SQL stays
// their own:
//
//   - the task list (ListTasks): the plan of each list (see plan.go), its
//     WHERE terms, the keyset that continues after the last row of a page
//     (its sort value and id, never an offset), the order and the limit,
//     with "?" marking each argument (the PostgreSQL store numbers them
//     $1, $2, … in order); and the project list (Projects). What the
//     stores' SQL differs in, they say in a Dialect.
//   - the flow of the writes that read their row first (Update, Delete).
package storesql
