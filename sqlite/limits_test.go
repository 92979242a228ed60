package sqlite

import (
	"strings"
	"testing"
)

// TestCountsUseAnIndex checks that the counts against a user's caps read
// an index on user_id, never the whole table, the first step from the
// index alone (covering): they run in every capped create, holding the
// write lock.
func TestCountsUseAnIndex(t *testing.T) {
	s, _ := open(t)
	for _, q := range []string{qCountTasks, qCountProjects} {
		all := queryPlan(t, s.write, q, "auth0|alice", "https://issuer.example/", 100_000)
		if !strings.Contains(all, "USING COVERING INDEX") || !strings.Contains(all, "(user_id=?)") || strings.Contains(all, "SCAN tasks") || strings.Contains(all, "SCAN projects") {
			t.Errorf("%s\nplan: %s; want a search of an index on user_id", q, all)
		}
	}
}
