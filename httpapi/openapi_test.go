package httpapi

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/internal/contract"
)

// The OpenAPI conformance check: every exchange a test makes through
// testServer.do is validated against the embedded document by
// internal/contract (pb33f/libopenapi-validator), and TestMain checks,
// after a full run, that every operation was seen answering with success.

// apiContract validates exchanges against the embedded document.
var apiContract = func() *contract.Checker {
	c, err := contract.New(OpenAPI())
	if err != nil {
		panic(err)
	}
	return c
}()

// spec is the embedded document, decoded, for the checks of its shape.
var spec = func() map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		panic("openapi.json: " + err.Error())
	}
	return doc
}()

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	full := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" && flag.Lookup("test.list").Value.String() == ""
	if code == 0 && full && !testing.Short() {
		if missing := apiContract.Unanswered(contract.OwnConventions); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "OpenAPI operations never seen answering 2xx in the tests: %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
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

// TestOpenAPIDocument checks the document itself: it is OpenAPI 3.1 with a
// license and described tags, every $ref resolves, every operation has an
// id and a known tag, documents 400 and 401 unless public, every GET has
// a HEAD twin answering the same statuses without a body, and every route
// of the mux is documented (and nothing else).
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

	if lic, _ := spec["info"].(map[string]any)["license"].(map[string]any); lic["identifier"] != "Apache-2.0" {
		t.Errorf("info.license = %v, want Apache-2.0", lic)
	}
	tags := map[string]bool{}
	for _, tag := range spec["tags"].([]any) {
		tg := tag.(map[string]any)
		if d, _ := tg["description"].(string); d == "" {
			t.Errorf("tag %v has no description", tg["name"])
		}
		tags[tg["name"].(string)] = true
	}

	var documented []string
	ids := map[string]bool{}
	for path, item := range spec["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			o := op.(map[string]any)
			if !slices.Contains(o["tags"].([]any), any(contract.OwnConventions)) { // the browser application's are webapp's
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
			id, _ := o["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			public := o["security"] != nil && len(o["security"].([]any)) == 0
			for _, status := range []string{"400", "401"} {
				if _, ok := o["responses"].(map[string]any)[status]; !ok && !public {
					t.Errorf("%s %s: protected but no %s documented", method, path, status)
				}
			}
			for _, tag := range o["tags"].([]any) {
				if !tags[tag.(string)] {
					t.Errorf("%s %s: tag %v is not described", method, path, tag)
				}
			}
			if method == "get" {
				checkHeadTwin(t, path, o, item.(map[string]any)["head"])
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
		if path, ok := strings.CutPrefix(m[1], "GET "); ok {
			routed = append(routed, "HEAD "+path) // net/http serves HEAD with GET's handler
		}
	}
	slices.Sort(documented)
	slices.Sort(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("documented operations\n%v\ndiffer from the routes\n%v", documented, routed)
	}
}

// checkHeadTwin checks that the HEAD operation of path answers what its
// GET does (the same statuses, headers and parameters) without a body.
func checkHeadTwin(t *testing.T, path string, get map[string]any, headNode any) {
	t.Helper()
	head, ok := headNode.(map[string]any)
	if !ok {
		t.Errorf("GET %s has no HEAD twin", path)
		return
	}
	getResponses, headResponses := get["responses"].(map[string]any), head["responses"].(map[string]any)
	if !slices.Equal(slices.Sorted(maps.Keys(getResponses)), slices.Sorted(maps.Keys(headResponses))) {
		t.Errorf("HEAD %s answers %v, GET %v", path, slices.Sorted(maps.Keys(headResponses)), slices.Sorted(maps.Keys(getResponses)))
	}
	for status, r := range headResponses {
		hr, gr := resolve(r), resolve(getResponses[status])
		if hr["content"] != nil {
			t.Errorf("HEAD %s %s has a body", path, status)
		}
		if !reflect.DeepEqual(hr["headers"], gr["headers"]) {
			t.Errorf("HEAD %s %s: headers %v, GET's %v", path, status, hr["headers"], gr["headers"])
		}
	}
	if !reflect.DeepEqual(head["parameters"], get["parameters"]) || !reflect.DeepEqual(head["security"], get["security"]) {
		t.Errorf("HEAD %s: parameters or security differ from GET's", path)
	}
}

// TestNullableMembersHaveGoHints checks that every member a request may set
// to null carries the x-go-type hint that lets a client generated by
// oapi-codegen send that null (see internal/apiclient).
func TestNullableMembersHaveGoHints(t *testing.T) {
	for name, node := range spec["components"].(map[string]any)["schemas"].(map[string]any) {
		if strings.HasSuffix(name, "Create") || strings.HasSuffix(name, "Update") {
			for prop, p := range node.(map[string]any)["properties"].(map[string]any) {
				sch := p.(map[string]any)
				types, _ := sch["type"].([]any)
				if !slices.Contains(types, any("null")) {
					continue
				}
				if hint, _ := sch["x-go-type"].(string); !strings.HasPrefix(hint, "nullable.Nullable[") || sch["x-go-type-skip-optional-pointer"] != true {
					t.Errorf("%s.%s is nullable without the x-go-type nullable.Nullable hint", name, prop)
				}
			}
		}
	}
}
