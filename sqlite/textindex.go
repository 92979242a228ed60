package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// The text index of search (task_text, see migration 00007) is kept by the
// checkpointer's goroutine (its index), not by the writes: a write only inserts its
// row, and a change of a task's text or a delete records the row's seq in
// task_text_stale (a trigger). indexText then brings the index up to date
// in batches of at most textBatch rows, each one transaction: one FTS
// segment for many rows instead of one per write.
//
// A search reads textCandidates: the index's matches, the stale seqs and
// the rows above task_text_state.indexed_to, all in one statement (one
// snapshot), so a row not yet indexed is found all the same. The recheck
// of search (taskapi_contains) removes the rows that do not match.

// textBatch is how many rows one indexing transaction takes at most: it
// holds the write lock while it runs (about 10 ms for 1000 short tasks).
const textBatch = 1000

// textCandidates is the term of a search that selects, by seq, every task
// that may contain the text: the index's matches of ftsQuery(text), which
// takes one argument, and the rows not indexed yet.
const textCandidates = `seq IN (SELECT rowid FROM task_text WHERE task_text MATCH ?
	UNION ALL SELECT seq FROM task_text_stale
	UNION ALL SELECT seq FROM tasks WHERE seq > (SELECT indexed_to FROM task_text_state))`

// indexedText is the text of a task in task_text: its name and
// description lower-cased by the rule of search, in one column.
const indexedText = lowerFunc + `(name || char(10) || coalesce(description, ''))`

// ftsQuery returns the FTS5 query of the rows whose indexed text may
// contain term: every third trigram of term lower-cased, and its last, all
// required (task_text keeps no positions, so there are no phrase queries;
// any row that holds term holds all of them). term has at least 3
// characters (storesql.Indexable).
func ftsQuery(term string) string {
	r := []rune(strings.ToLower(term))
	var q []string
	add := func(i int) {
		q = append(q, `"`+strings.ReplaceAll(string(r[i:i+3]), `"`, `""`)+`"`)
	}
	for i := 0; i+3 <= len(r); i += 3 {
		add(i)
	}
	if len(r)%3 != 0 && len(r) >= 3 {
		add(len(r) - 3)
	}
	return strings.Join(q, " AND ")
}

// indexText brings task_text up to date, one batch per transaction on
// the write connection (a writer in the queue like the others), until
// nothing is left or ctx ends. It returns how many rows it indexed or
// removed.
func (s *Store) indexText(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.inTx(ctx, func(tx *tx) (err error) {
			n, err = indexBatch(tx)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlite: index text: %w", err)
		}
		if n == 0 {
			return total, nil
		}
	}
}

// indexBatch indexes at most textBatch stale rows and textBatch new rows
// in tx, and returns how many it took.
func indexBatch(tx *tx) (n int, err error) {
	ctx := tx.ctx
	var done, staleTo, newTo, count, staleCount int64
	if err := tx.QueryRowContext(ctx, `SELECT indexed_to FROM task_text_state`).Scan(&done); err != nil {
		return 0, err
	}
	// Rows indexed before whose text changed, or that are gone: out of the
	// index, and in again with their text when they still exist.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0), count(*) FROM
		(SELECT seq FROM task_text_stale WHERE seq <= ? ORDER BY seq LIMIT ?)`, done, textBatch).Scan(&staleTo, &count); err != nil {
		return 0, err
	}
	staleCount = count
	n += int(count)
	if count > 0 {
		for _, q := range []string{
			`DELETE FROM task_text WHERE rowid IN (SELECT seq FROM task_text_stale WHERE seq <= ?)`,
			`INSERT INTO task_text (rowid, text) SELECT seq, ` + indexedText + ` FROM tasks
				WHERE seq IN (SELECT seq FROM task_text_stale WHERE seq <= ?)`,
			`DELETE FROM task_text_stale WHERE seq <= ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, staleTo); err != nil {
				return 0, err
			}
		}
	}
	// New rows, with their text as it is now: a stale mark of theirs is
	// settled too.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), ?1), count(*) FROM
		(SELECT seq FROM tasks WHERE seq > ?1 ORDER BY seq LIMIT ?2)`, done, textBatch).Scan(&newTo, &count); err != nil {
		return 0, err
	}
	n += int(count)
	if count > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_text (rowid, text) SELECT seq, `+indexedText+` FROM tasks
			WHERE seq > ? AND seq <= ?`, done, newTo); err != nil {
			return 0, err
		}
	}
	if staleCount < textBatch && count < textBatch {
		// Every row is indexed; the stale marks of rows deleted before
		// they were indexed go. indexed_to comes down to the largest seq,
		// so that SQLite's next seq (the largest plus one, even after the
		// largest row is deleted) is above it, and counted as not indexed.
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM tasks`).Scan(&newTo); err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM task_text_stale WHERE seq > ?`, done)
		if err != nil {
			return 0, err
		}
		gone, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += int(gone)
	} else if _, err := tx.ExecContext(ctx, `DELETE FROM task_text_stale WHERE seq > ? AND seq <= ?`, done, newTo); err != nil {
		return 0, err
	}
	if newTo != done {
		if _, err := tx.ExecContext(ctx, `UPDATE task_text_state SET indexed_to = ?`, newTo); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
