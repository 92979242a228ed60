package httpapi

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/internal/contract"
)

// exampleToken is the @token the examples are run with here.
const exampleToken = "example-token"

// httpExample is one request of examples/tasks.http.
type httpExample struct {
	title, name, method, target string
	header                      map[string]string
	body                        string
}

// parseHTTPFile reads the REST Client format the examples use: @var = value
// lines, requests separated by ### title lines, an optional "# @name",
// a request line, headers, a blank line and a body.
func parseHTTPFile(t *testing.T, path string) (vars map[string]string, examples []httpExample) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars = map[string]string{}
	var cur *httpExample
	inBody := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "###"):
			examples = append(examples, httpExample{title: strings.TrimSpace(line[3:]), header: map[string]string{}})
			cur, inBody = &examples[len(examples)-1], false
		case cur == nil && strings.HasPrefix(line, "@"):
			k, v, _ := strings.Cut(line[1:], "=")
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case cur == nil:
		case strings.HasPrefix(line, "# @name "):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "# @name "))
		case strings.HasPrefix(line, "#") && !inBody:
		case cur.method == "":
			if m, target, ok := strings.Cut(line, " "); ok {
				cur.method, cur.target = m, target
			}
		case !inBody && line == "":
			inBody = true
		case !inBody:
			k, v, _ := strings.Cut(line, ":")
			cur.header[strings.TrimSpace(k)] = strings.TrimSpace(v)
		default:
			cur.body += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars, examples
}

// TestExamplesFile runs examples/tasks.http from top to bottom against the
// API, as the REST Client would: every documented operation appears in it,
// every request answers what its title says (2xx unless it names a
// status), and every answer conforms to the OpenAPI document.
func TestExamplesFile(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.Metrics = true })
	vars, examples := parseHTTPFile(t, "../examples/tasks.http")
	if vars["host"] != "http://localhost:5000" || vars["token"] == "" {
		t.Fatalf("variables %v: want @host and @token", vars)
	}
	vars["token"] = exampleToken
	answers := map[string]*response{}
	ref := regexp.MustCompile(`\{\{([^}]+)\}\}`)
	expand := func(s string) string {
		return ref.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-2]
			if v, ok := vars[name]; ok {
				return v
			}
			// name.response.body.$.a.b or name.response.headers.H
			parts := strings.Split(name, ".")
			res := answers[parts[0]]
			if res == nil || len(parts) < 4 {
				t.Fatalf("unresolved %s", m)
			}
			if parts[2] == "headers" {
				return res.header.Get(parts[3])
			}
			var v any = res.body
			for _, p := range parts[4:] {
				v = v.(map[string]any)[p]
			}
			return v.(string)
		})
	}
	seen := map[string]bool{}
	status := regexp.MustCompile(`\b([1-5]\d\d)\b`)
	for _, ex := range examples {
		target := strings.TrimPrefix(expand(ex.target), vars["host"])
		hdr := map[string]string{}
		for k, v := range ex.header {
			hdr[k] = expand(v)
		}
		rq := req{method: ex.method, path: target, header: hdr}
		if ex.body != "" {
			body := expand(ex.body)
			if !json.Valid([]byte(body)) {
				t.Fatalf("%s: the body is not JSON: %s", ex.title, body)
			}
			rq.body = body
		}
		res := s.do(rq)
		if m := status.FindStringSubmatch(ex.title); m != nil {
			want, _ := strconv.Atoi(m[1])
			if res.status != want {
				t.Errorf("%s: %d, want %d: %s", ex.title, res.status, want, res.raw)
			}
		} else if res.status/100 != 2 {
			t.Errorf("%s: %d: %s", ex.title, res.status, res.raw)
		}
		if ex.name != "" {
			answers[ex.name] = res
		}
		if res.status/100 == 2 {
			if op := apiContract.Operation(ex.method, target); op != "" {
				seen[op] = true
			}
		}
	}
	for _, op := range apiContract.Operations(contract.OwnConventions) {
		if !seen[op] && !strings.HasPrefix(op, "HEAD ") { // HEAD is GET without the body
			t.Errorf("examples/tasks.http has no successful %s", op)
		}
	}
}
