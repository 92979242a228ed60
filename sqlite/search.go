package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// The SQL functions of search, registered with the driver for every
// connection it opens:
//
//   - taskapi_contains(text, term) is 1 when text contains term with both
//     lower-cased by Go's Unicode rules (strings.ToLower), 0 when not, and
//     NULL when text is NULL. SQLite's own lower() folds ASCII letters
//     only, so "éclair" would not find "Éclair". The term is a plain
//     substring: % and _ match themselves. Lower-casing is not full case
//     folding: "ß" does not match "SS".
//   - taskapi_lower(text) is text lower-cased by the same rule: what the
//     text index holds (task_text, kept by the store: see textindex.go).
//
// No trigger or constraint calls them: any SQLite (the sqlite3 shell)
// can read and write the file.
const (
	containsFunc = "taskapi_contains"
	lowerFunc    = "taskapi_lower"
)

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(containsFunc, 2, contains)
	sqlite.MustRegisterDeterministicScalarFunction(lowerFunc, 1, lower)
}

func lower(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	text, ok := textArg(args[0])
	if !ok {
		return nil, nil
	}
	return strings.ToLower(text), nil
}

func contains(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	text, ok := textArg(args[0])
	if !ok {
		return nil, nil
	}
	term, ok := textArg(args[1])
	if !ok {
		return nil, nil
	}
	if containsLower(text, strings.ToLower(term)) {
		return int64(1), nil
	}
	return int64(0), nil
}

// containsLower reports whether text, lower-cased, contains term, which is
// lower-case already. ASCII text is searched in place, without a copy.
func containsLower(text, term string) bool {
	if !isASCII(text) {
		return strings.Contains(strings.ToLower(text), term)
	}
	// Lower-cased, ASCII text has only ASCII letters, so a term with others
	// cannot match it.
	if len(term) > len(text) || !isASCII(term) {
		return false
	}
	for i := 0; i+len(term) <= len(text); i++ {
		j := 0
		for j < len(term) && lowerASCII(text[i+j]) == term[j] {
			j++
		}
		if j == len(term) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// textArg returns a text argument, and false for NULL.
func textArg(v driver.Value) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case []byte:
		return string(v), true
	default:
		return fmt.Sprint(v), true
	}
}
