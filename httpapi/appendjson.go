package httpapi

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
)

// The answers of the task and project routes are written by hand-written
// appenders rather than by encoding/json: they are the bulk of every list,
// and reflection over taskJSON cost a tenth of a GET /tasks. The bytes are
// exactly those json.Encoder with SetEscapeHTML(false) writes for the
// envelopes of resource.go (members in the same order, the same string
// escaping, a final newline); TestAppendMatchesEncodingJSON and
// FuzzAppendJSONString hold them to that.

const hexDigits = "0123456789abcdef"

// jsonSafe[b] is true for the ASCII bytes a JSON string carries as they
// are: everything but the controls, '"' and '\\' (<, > and & included, as
// SetEscapeHTML(false) leaves them).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it without HTML escaping: the short escapes \" \\ \b \f \n \r \t,
// \u00XX for the other controls, \ufffd for each byte that is not valid
// UTF-8, and \u2028 and \u2029 (which JavaScript does not allow in a
// string literal).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is yet to be copied
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendNullableString appends s as a JSON string, or null when s is nil.
func appendNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, *s)
}

// appendTime appends t as a JSON string in the wire's form, RFC 3339 in
// UTC (see utc). Its characters need no escaping.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendTaskObject appends t as the JSON object taskJSON encodes to.
func appendTaskObject(dst []byte, t *taskapi.Task) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, t.ID)
	dst = append(dst, `,"user_id":`...)
	dst = appendJSONString(dst, t.UserID)
	dst = append(dst, `,"project_id":`...)
	dst = appendNullableString(dst, t.ProjectID)
	dst = append(dst, `,"name":`...)
	dst = appendJSONString(dst, t.Name)
	dst = append(dst, `,"description":`...)
	dst = appendNullableString(dst, t.Description)
	dst = append(dst, `,"due_date":`...)
	if t.DueDate == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = t.DueDate.Time().AppendFormat(dst, taskapi.DateLayout)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"completed":`...)
	dst = strconv.AppendBool(dst, t.Completed())
	dst = append(dst, `,"completed_on":`...)
	if t.CompletedOn == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendTime(dst, *t.CompletedOn)
	}
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, t.CreatedAt)
	dst = append(dst, `,"updated_at":`...)
	dst = appendTime(dst, t.UpdatedAt)
	return append(dst, '}')
}

// appendProjectObject appends p as the JSON object projectJSON encodes to.
func appendProjectObject(dst []byte, p *taskapi.Project) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, p.ID)
	dst = append(dst, `,"user_id":`...)
	dst = appendJSONString(dst, p.UserID)
	dst = append(dst, `,"name":`...)
	dst = appendJSONString(dst, p.Name)
	dst = append(dst, `,"description":`...)
	dst = appendNullableString(dst, p.Description)
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, p.CreatedAt)
	dst = append(dst, `,"updated_at":`...)
	dst = appendTime(dst, p.UpdatedAt)
	return append(dst, '}')
}

// appendTaskEnvelope appends {"task": t} and a newline, as taskEnvelope.
func appendTaskEnvelope(dst []byte, t *taskapi.Task) []byte {
	dst = append(dst, `{"task":`...)
	dst = appendTaskObject(dst, t)
	return append(dst, "}\n"...)
}

// appendProjectEnvelope appends {"project": p} and a newline, as
// projectEnvelope.
func appendProjectEnvelope(dst []byte, p *taskapi.Project) []byte {
	dst = append(dst, `{"project":`...)
	dst = appendProjectObject(dst, p)
	return append(dst, "}\n"...)
}

// appendTaskList appends a page of tasks and its next page token and a
// newline, as taskListEnvelope.
func appendTaskList(dst []byte, tasks []*taskapi.Task, next *string) []byte {
	dst = append(dst, `{"tasks":[`...)
	for i, t := range tasks {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTaskObject(dst, t)
	}
	dst = append(dst, `],"next_page_token":`...)
	dst = appendNullableString(dst, next)
	return append(dst, "}\n"...)
}

// appendProjectList appends a page of projects and its next page token and
// a newline, as projectListEnvelope.
func appendProjectList(dst []byte, projects []*taskapi.Project, next *string) []byte {
	dst = append(dst, `{"projects":[`...)
	for i, p := range projects {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendProjectObject(dst, p)
	}
	dst = append(dst, `],"next_page_token":`...)
	dst = appendNullableString(dst, next)
	return append(dst, "}\n"...)
}
