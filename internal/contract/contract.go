// Package contract holds HTTP exchanges to the API's OpenAPI 3.1 document,
// for the tests of every package that talks to the API: each request and
// response is validated by pb33f/libopenapi-validator (parameters, bodies,
// security, statuses, response headers and schemas, with format
// assertions), so that a status, header or field the document does not
// describe fails the test that produced it.
//
// A request the document refuses may be answered with a 4xx or 5xx (the
// tests send bad requests on purpose); answered with success, it is a
// contract break: the server accepts what the document says it refuses.
// Answers to paths and methods the document does not have must be the
// API's 404 and 405. Beside the document, every answer must carry the
// security headers and X-Request-Id the document's description promises.
package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Checker validates exchanges against one document and remembers which
// operations answered with which statuses. It is safe for concurrent use.
type Checker struct {
	model *v3.Document
	opts  *config.ValidationOptions
	v     validator.Validator

	mu   sync.Mutex
	seen map[string]map[int]bool // "GET /tasks/{id}" → statuses seen
}

// New loads an OpenAPI document (JSON or YAML) and reports whether the
// document itself is valid OpenAPI.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	opts := []config.Option{config.WithFormatAssertions()}
	c := &Checker{
		model: &m.Model,
		opts:  config.NewValidationOptions(opts...),
		v:     validator.NewValidatorFromV3Model(&m.Model, opts...),
		seen:  map[string]map[int]bool{},
	}
	full, errs := validator.NewValidator(d, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("contract: %v", errs)
	}
	if ok, verrs := full.ValidateDocument(); !ok {
		return nil, fmt.Errorf("contract: the document is not valid OpenAPI: %s", joinErrors(verrs))
	}
	return c, nil
}

// Exchange is one request and its answer, with both bodies read.
type Exchange struct {
	Request      *http.Request
	RequestBody  []byte
	Response     *http.Response
	ResponseBody []byte
}

// SecurityHeaders are the headers the document says every answer carries.
var SecurityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

// publicCache are the paths whose answers may be cached; every other
// answer is Cache-Control: no-store.
var publicCache = []string{"/openapi.json"}

// Problems returns how ex departs from the document, nil when it conforms.
func (c *Checker) Problems(ex Exchange) []string {
	r, res := ex.Request, ex.Response
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	pathItem, errs, tmpl := paths.FindPath(withBody(r, nil), c.model, c.opts)
	if pathItem != nil && len(errs) == 0 && operation(pathItem, r.Method) != nil && slices.Contains(operation(pathItem, r.Method).Tags, OwnConventions) {
		// Not the API's: the document alone says what it answers.
		c.record(r.Method+" "+tmpl, res.StatusCode)
		return append(problems, c.validate(ex)...)
	}
	for name, want := range SecurityHeaders {
		if got := res.Header.Get(name); got != want {
			add("%s = %q, want %q", name, got, want)
		}
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" && !slices.Contains(publicCache, r.URL.Path) {
		add("Cache-Control = %q, want no-store", cc)
	}
	if res.Header.Get("X-Request-Id") == "" {
		add("no X-Request-Id")
	}
	if isPreflight(r) && res.StatusCode == http.StatusNoContent {
		// A CORS preflight, answered before routing: not an operation.
		if res.Header.Get("Access-Control-Allow-Origin") == "" || len(ex.ResponseBody) > 0 {
			add("a 204 preflight answer without Access-Control-Allow-Origin, or with a body")
		}
		return problems
	}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		if _, params, err := mime.ParseMediaType(ct); err != nil || !strings.EqualFold(params["charset"], "utf-8") {
			add("Content-Type %q lacks charset=utf-8", ct)
		}
	}

	switch {
	case slices.ContainsFunc(errs, (*verrors.ValidationError).IsOperationMissingError),
		pathItem != nil && len(errs) == 0 && operation(pathItem, r.Method) == nil:
		problems = append(problems, apiError(res, ex.ResponseBody, http.StatusMethodNotAllowed, "ERR_METHOD_NOT_ALLOWED", "undocumented method")...)
		if res.Header.Get("Allow") == "" {
			add("405 without Allow")
		}
		return problems
	case pathItem == nil || len(errs) > 0:
		return append(problems, apiError(res, ex.ResponseBody, http.StatusNotFound, "ERR_NF", "undocumented path")...)
	}
	c.record(r.Method+" "+tmpl, res.StatusCode)
	return append(problems, c.validate(ex)...)
}

// OwnConventions is the tag of the operations that are not the API's (the
// browser application's files): their answers are held to the document
// alone, not to the API's headers.
const OwnConventions = "app"

// validate runs the validator on an exchange of a documented operation.
func (c *Checker) validate(ex Exchange) []string {
	r, res := ex.Request, ex.Response
	var problems []string
	copyRes := *res
	copyRes.Body = io.NopCloser(bytes.NewReader(ex.ResponseBody))
	if ok, errs := c.v.ValidateHttpResponse(withBody(r, ex.RequestBody), &copyRes); !ok {
		for _, e := range errs {
			problems = append(problems, "response: "+describe(e))
		}
	}
	if ok, errs := c.v.ValidateHttpRequestSync(withBody(r, ex.RequestBody)); !ok && res.StatusCode < 400 {
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("answered %d to a request the document refuses: %s", res.StatusCode, describe(e)))
		}
	}
	return problems
}

// operation returns the operation of item for method, nil if none.
func operation(item *v3.PathItem, method string) *v3.Operation {
	switch method {
	case http.MethodGet:
		return item.Get
	case http.MethodHead:
		return item.Head
	case http.MethodPost:
		return item.Post
	case http.MethodPut:
		return item.Put
	case http.MethodPatch:
		return item.Patch
	case http.MethodDelete:
		return item.Delete
	case http.MethodOptions:
		return item.Options
	case http.MethodTrace:
		return item.Trace
	}
	return nil
}

// apiError checks an answer to something the document has no operation
// for: status, in the API's error shape with code.
func apiError(res *http.Response, body []byte, status int, code, what string) []string {
	if res.StatusCode != status {
		return []string{fmt.Sprintf("%s answered %d, want %d", what, res.StatusCode, status)}
	}
	var e struct{ Error, Code *string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Code == nil || *e.Code != code {
		return []string{fmt.Sprintf("%s: %d body %q is not the error shape with code %s", what, status, body, code)}
	}
	return nil
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// withBody returns a shallow copy of r reading body, for the validator,
// which consumes it.
func withBody(r *http.Request, body []byte) *http.Request {
	cp := r.Clone(r.Context())
	cp.Body = io.NopCloser(bytes.NewReader(body))
	cp.ContentLength = int64(len(body))
	return cp
}

// describe renders one validation error with its schema failures.
func describe(e *verrors.ValidationError) string {
	s := e.Message
	if e.Reason != "" && e.Reason != e.Message {
		s += ": " + e.Reason
	}
	for _, f := range e.SchemaValidationErrors {
		s += fmt.Sprintf(" [%s: %s]", cmpOr(f.FieldPath, f.KeywordLocation), f.Reason)
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func joinErrors(errs []*verrors.ValidationError) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, describe(e))
	}
	return strings.Join(parts, "; ")
}

func (c *Checker) record(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][status] = true
}

// Operations lists the document's operations as "METHOD /path", sorted,
// but those with one of skipTags.
func (c *Checker) Operations(skipTags ...string) []string {
	var ops []string
	for path, item := range c.model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			if !slices.ContainsFunc(op.Tags, func(tag string) bool { return slices.Contains(skipTags, tag) }) {
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// Unanswered lists the documented operations (but those with one of
// skipTags) no checked exchange got a 2xx from.
func (c *Checker) Unanswered(skipTags ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for _, op := range c.Operations(skipTags...) {
		ok := false
		for status := range c.seen[op] {
			ok = ok || status/100 == 2
		}
		if !ok {
			missing = append(missing, op)
		}
	}
	return missing
}

// Operation returns the documented operation a request of method to path
// (which may have a query) is, as "METHOD /template", or "" when the
// document has none.
func (c *Checker) Operation(method, path string) string {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		return ""
	}
	item, errs, tmpl := paths.FindPath(r, c.model, c.opts)
	if item == nil || len(errs) > 0 || operation(item, method) == nil {
		return ""
	}
	return method + " " + tmpl
}
