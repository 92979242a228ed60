package httpapi

import (
	"encoding/json"
	"flag"
	"fmt"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The OpenAPI conformance check: every response a test gets through
// testServer.do is checked against the embedded document (the status is
// documented for the operation, the documented required headers are
// present, the body validates against the schema), and TestMain checks,
// after a full run, that every operation was seen answering with success.

// spec is the embedded document, decoded.
var spec = func() map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		panic("openapi.json: " + err.Error())
	}
	return doc
}()

// coverage records the statuses seen per operation ("GET /tasks/{id}").
var coverage = struct {
	sync.Mutex
	seen map[string]map[int]bool
}{seen: map[string]map[int]bool{}}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	full := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == ""
	if code == 0 && full && !testing.Short() {
		if missing := uncoveredOperations(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "OpenAPI operations never seen answering 2xx in the tests: %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

// uncoveredOperations lists the documented operations no test got a 2xx
// (or 304) from.
func uncoveredOperations() []string {
	coverage.Lock()
	defer coverage.Unlock()
	var missing []string
	for path, item := range spec["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			key := strings.ToUpper(method) + " " + path
			ok := false
			for status := range coverage.seen[key] {
				ok = ok || status/100 == 2
			}
			if !ok {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// matchPath returns the template of the document's paths that matches
// path, or "".
func matchPath(path string) string {
	segs := strings.Split(path, "/")
	for tmpl := range spec["paths"].(map[string]any) {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if !(strings.HasPrefix(ts[i], "{") || ts[i] == segs[i]) {
				ok = false
				break
			}
		}
		if ok {
			return tmpl
		}
	}
	return ""
}

// resolve follows a local $ref.
func resolve(node any) map[string]any {
	m, _ := node.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = spec
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			cur = cur.(map[string]any)[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// checkConformance reports, as test errors, how res differs from what the
// document says of the request's operation.
func checkConformance(t testing.TB, r *http.Request, res *response) {
	t.Helper()
	for _, p := range conformanceProblems(r, res) {
		t.Errorf("OpenAPI: %s %s → %d: %s", r.Method, r.URL.Path, res.status, p)
	}
}

// securityHeaders are the headers the document says every response carries.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

func conformanceProblems(r *http.Request, res *response) []string {
	var problems []string
	for name, want := range securityHeaders {
		if got := res.header.Get(name); got != want {
			problems = append(problems, fmt.Sprintf("%s = %q, want %q", name, got, want))
		}
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" && r.URL.Path != "/openapi.json" {
		problems = append(problems, fmt.Sprintf("Cache-Control = %q, want no-store", cc))
	}
	tmpl := matchPath(r.URL.Path)
	var respSpec map[string]any
	switch {
	case isPreflight(r) && res.status == http.StatusNoContent:
		// A CORS preflight, answered before routing: not an operation.
		if res.header.Get("Access-Control-Allow-Origin") == "" || len(res.raw) > 0 {
			problems = append(problems, "a 204 preflight answer without Access-Control-Allow-Origin, or with a body")
		}
		return problems
	case tmpl == "":
		if res.status != http.StatusNotFound {
			return []string{"undocumented path answered other than 404"}
		}
		respSpec = resolve(map[string]any{"$ref": "#/components/responses/NotFound"})
	case spec["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(r.Method)] == nil:
		if res.status != http.StatusMethodNotAllowed && !(r.Method == http.MethodHead && res.status < 300) {
			return []string{"undocumented method answered other than 405"}
		}
		respSpec = resolve(map[string]any{"$ref": "#/components/responses/MethodNotAllowed"})
		if r.Method == http.MethodHead {
			return nil
		}
	default:
		op := spec["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(r.Method)].(map[string]any)
		key := r.Method + " " + tmpl
		coverage.Lock()
		if coverage.seen[key] == nil {
			coverage.seen[key] = map[int]bool{}
		}
		coverage.seen[key][res.status] = true
		coverage.Unlock()
		respSpec = resolve(op["responses"].(map[string]any)[fmt.Sprint(res.status)])
		if respSpec == nil {
			return []string{fmt.Sprintf("status %d is not documented for %s", res.status, key)}
		}
	}
	if res.header.Get("X-Request-Id") == "" {
		problems = append(problems, "no X-Request-Id")
	}
	headers, _ := respSpec["headers"].(map[string]any)
	for name, h := range headers {
		if resolve(h)["required"] == true && res.header.Get(name) == "" {
			problems = append(problems, "missing required header "+name)
		}
	}
	content, _ := respSpec["content"].(map[string]any)
	if len(content) == 0 {
		if len(res.raw) > 0 {
			problems = append(problems, "documented without a body, but has one")
		}
		return problems
	}
	mt, params, err := mime.ParseMediaType(res.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		return append(problems, fmt.Sprintf("Content-Type %q is not documented", res.header.Get("Content-Type")))
	}
	if params["charset"] != "utf-8" {
		problems = append(problems, "Content-Type lacks charset=utf-8")
	}
	if mt != "application/json" {
		return problems // text (the metrics): the schema says no more than "a string"
	}
	var body any
	if err := json.Unmarshal(res.raw, &body); err != nil {
		return append(problems, "body is not JSON: "+err.Error())
	}
	schema := content[mt].(map[string]any)["schema"]
	return append(problems, validate(schema, body, "body")...)
}

// Annotation keywords the checker ignores; any other keyword it does not
// implement is reported, so the document cannot outgrow the checker
// unnoticed.
var annotations = []string{"description", "default", "title", "example"}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	jsonTypeOf = func(v any) string {
		switch v := v.(type) {
		case nil:
			return "null"
		case bool:
			return "boolean"
		case string:
			return "string"
		case float64:
			if v == float64(int64(v)) {
				return "integer"
			}
			return "number"
		case []any:
			return "array"
		case map[string]any:
			return "object"
		}
		return "unknown"
	}
)

// validate checks v against the JSON Schema (2020-12) subset the document
// uses, and returns what is wrong, each prefixed by where.
func validate(schemaNode, v any, where string) []string {
	schema := resolve(schemaNode)
	if schema == nil {
		return []string{where + ": unresolvable schema"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }
	for kw, arg := range schema {
		switch kw {
		case "allOf":
			for _, sub := range arg.([]any) {
				errs = append(errs, validate(sub, v, where)...)
			}
		case "anyOf":
			var all []string
			for _, sub := range arg.([]any) {
				subErrs := validate(sub, v, where)
				if len(subErrs) == 0 {
					all = nil
					break
				}
				all = append(all, subErrs...)
			}
			if len(all) > 0 {
				fail("matches none of anyOf: %s", strings.Join(all, "; "))
			}
		case "type":
			got := jsonTypeOf(v)
			var types []string
			switch a := arg.(type) {
			case string:
				types = []string{a}
			case []any:
				for _, e := range a {
					types = append(types, e.(string))
				}
			}
			if !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
				fail("type %s, want %v", got, types)
			}
		case "properties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for name, sub := range arg.(map[string]any) {
				if pv, present := obj[name]; present {
					errs = append(errs, validate(sub, pv, where+"."+name)...)
				}
			}
		case "required":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, name := range arg.([]any) {
				if _, present := obj[name.(string)]; !present {
					fail("required member %q is missing", name)
				}
			}
		case "additionalProperties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name, pv := range obj {
				if _, known := props[name]; known {
					continue
				}
				if arg == false {
					fail("member %q is not in the schema", name)
				} else if sub, ok := arg.(map[string]any); ok {
					errs = append(errs, validate(sub, pv, where+"."+name)...)
				}
			}
		case "items":
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			for i, e := range arr {
				errs = append(errs, validate(arg, e, fmt.Sprintf("%s[%d]", where, i))...)
			}
		case "oneOf":
			valid := 0
			for _, sub := range arg.([]any) {
				if len(validate(sub, v, where)) == 0 {
					valid++
				}
			}
			if valid != 1 {
				fail("%d of the oneOf schemas match, want 1", valid)
			}
		case "pattern":
			if s, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(s) {
				fail("%q does not match %s", s, arg)
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return e == v }) {
				fail("%v is not one of %v", v, arg)
			}
		case "const":
			if arg != v {
				fail("%v, want %v", v, arg)
			}
		case "minLength", "maxLength":
			s, ok := v.(string)
			if !ok {
				continue
			}
			n := len([]rune(s))
			if (kw == "minLength" && n < int(arg.(float64))) || (kw == "maxLength" && n > int(arg.(float64))) {
				fail("length %d breaks %s %v", n, kw, arg)
			}
		case "minItems":
			if arr, ok := v.([]any); ok && len(arr) < int(arg.(float64)) {
				fail("%d items, want at least %v", len(arr), arg)
			}
		case "minProperties":
			if obj, ok := v.(map[string]any); ok && len(obj) < int(arg.(float64)) {
				fail("%d members, want at least %v", len(obj), arg)
			}
		case "format":
			s, ok := v.(string)
			if !ok {
				continue
			}
			switch arg {
			case "date":
				if _, err := time.Parse(time.DateOnly, s); err != nil || !dateRE.MatchString(s) {
					fail("%q is not a date", s)
				}
			case "date-time":
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					fail("%q is not a date-time", s)
				}
			default:
				fail("unknown format %v", arg)
			}
		case "$ref":
		default:
			if !slices.Contains(annotations, kw) {
				fail("the checker does not implement keyword %q", kw)
			}
		}
	}
	return errs
}

// TestOpenAPIDocument checks the document itself: it is OpenAPI 3.1, every
// $ref resolves, every operation has an id, documents 401 unless public,
// and every route of the mux is documented (and nothing else).
func TestOpenAPIDocument(t *testing.T) {
	if spec["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", spec["openapi"])
	}
	var walk func(node any, where string)
	walk = func(node any, where string) {
		switch n := node.(type) {
		case map[string]any:
			if ref, ok := n["$ref"].(string); ok && resolve(n) == nil {
				t.Errorf("%s: $ref %s does not resolve", where, ref)
			}
			for k, v := range n {
				walk(v, where+"/"+k)
			}
		case []any:
			for i, v := range n {
				walk(v, fmt.Sprintf("%s/%d", where, i))
			}
		}
	}
	walk(spec, "#")

	var documented []string
	ids := map[string]bool{}
	for path, item := range spec["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			o := op.(map[string]any)
			id, _ := o["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			public := o["security"] != nil && len(o["security"].([]any)) == 0
			if _, ok := o["responses"].(map[string]any)["401"]; !ok && !public {
				t.Errorf("%s %s: protected but no 401 documented", method, path)
			}
		}
	}
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routed []string
	for _, m := range regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		routed = append(routed, m[1])
	}
	slices.Sort(documented)
	slices.Sort(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("documented operations\n%v\ndiffer from the routes\n%v", documented, routed)
	}
}

// TestSchemaChecker shows the checker fails what it must: a test that
// cannot fail is no test.
func TestSchemaChecker(t *testing.T) {
	task := map[string]any{"id": "a", "user_id": "u", "project_id": nil, "name": "n", "description": nil,
		"due_date": "2030-01-02", "completed": false, "completed_on": nil,
		"created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"}
	env := map[string]any{"task": task}
	if errs := validate(map[string]any{"$ref": "#/components/schemas/TaskEnvelope"}, env, "body"); len(errs) > 0 {
		t.Fatalf("a valid task fails: %v", errs)
	}
	for name, mutate := range map[string]func(m map[string]any){
		"missing required":  func(m map[string]any) { delete(m, "name") },
		"wrong type":        func(m map[string]any) { m["completed"] = "no" },
		"not nullable":      func(m map[string]any) { m["name"] = nil },
		"bad date":          func(m map[string]any) { m["due_date"] = "2030-1-2" },
		"bad date-time":     func(m map[string]any) { m["created_at"] = "yesterday" },
		"extra member":      func(m map[string]any) { m["priority"] = 1 },
		"name too long":     func(m map[string]any) { m["name"] = strings.Repeat("x", 256) },
		"empty name":        func(m map[string]any) { m["name"] = "" },
		"description array": func(m map[string]any) { m["description"] = []any{} },
	} {
		m := map[string]any{}
		for k, v := range task {
			m[k] = v
		}
		mutate(m)
		if errs := validate(map[string]any{"$ref": "#/components/schemas/TaskEnvelope"}, map[string]any{"task": m}, "body"); len(errs) == 0 {
			t.Errorf("%s: the checker accepts it", name)
		}
	}
	if errs := validate(map[string]any{"$ref": "#/components/schemas/ValidationError"},
		map[string]any{"error": "Validation error", "code": "ERR_NF", "errors": []any{}}, "body"); len(errs) < 2 {
		t.Errorf("a 422 body with the wrong code and no errors gives %v", errs)
	}
	change := map[string]any{"$ref": "#/components/schemas/Change"}
	tombstone := map[string]any{"type": "task", "id": "a", "deleted": true, "task": nil, "project": nil}
	if errs := validate(change, tombstone, "body"); len(errs) > 0 {
		t.Errorf("a valid tombstone fails: %v", errs)
	}
	if errs := validate(change, map[string]any{"type": "task", "id": "a", "deleted": false, "task": "a", "project": nil}, "body"); len(errs) == 0 {
		t.Error("the checker accepts a task that is a string (oneOf)")
	}
	if errs := validate(map[string]any{"pattern": "^[0-9]+$"}, "12a", "body"); len(errs) == 0 {
		t.Error("the checker accepts a string against a pattern it breaks")
	}
}
