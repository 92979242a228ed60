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
		rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, "auth0|alice", "https://issuer.example/", 100_000)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "USING COVERING INDEX") || !strings.Contains(all, "(user_id=?)") || strings.Contains(all, "SCAN tasks") || strings.Contains(all, "SCAN projects") {
			t.Errorf("%s\nplan: %s; want a search of an index on user_id", q, all)
		}
	}
}
