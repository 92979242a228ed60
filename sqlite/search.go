package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// containsFunc is the SQL function the search filter uses:
// taskapi_contains(text, term) is 1 when text contains term with both
// lower-cased by Go's Unicode rules (strings.ToLower), 0 when not, and NULL
// when text is NULL. SQLite's own lower() folds ASCII letters only, so
// "éclair" would not find "Éclair". The term is a plain substring: % and _
// match themselves. Lower-casing is not full case folding: "ß" does not
// match "SS".
const containsFunc = "taskapi_contains"

func init() {
	// Registered with the driver, for every connection it opens. The
	// schema does not use it, so the file stays readable by any SQLite.
	sqlite.MustRegisterDeterministicScalarFunction(containsFunc, 2, contains)
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
	if strings.Contains(strings.ToLower(text), strings.ToLower(term)) {
		return int64(1), nil
	}
	return int64(0), nil
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
