// Package mxspec checks HTTP exchanges with MX against MX's own OpenAPI
// documents of each API version (../shared/mx-openapi/<version>.yml beside
// the repository; MX's, not part of the project). The client's conformance
// test checks every request the client sends and every answer the
// simulator gives with it, and the simulator's own tests do the same for
// the requests they write by hand: both are held to the spec, never to
// each other.
//
// Request bodies are checked strictly (a field the version does not have,
// such as skip_aggregation in v20250224, is a violation). The shapes MX
// documents elsewhere that its spec does not allow are listed once, in
// Departures, each with its source; an exchange showing one is checked
// with exactly that shape rewritten to what the spec allows, and counted by
// name. Validation is never switched off.
package mxspec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Versions are the API versions whose specs are checked against.
var Versions = []string{"v20250224", "v20111101"}

// Departure is a shape MX documents that its spec does not allow.
type Departure struct {
	Name, Source string
	// apply rewrites the shape in an answer of op (status, decoded body)
	// and returns the status to check it as, whether it applied, and a
	// problem when the answer departs in a way the source does not show.
	apply func(op string, status int, body map[string]any) (int, bool, string)
}

// Departures lists every documented off-spec shape, in one place.
var Departures = []Departure{
	{
		Name: "challenge type as an integer",
		Source: `MX's MFA guide shows the CHALLENGED status of read member status with a TEXT challenge ` +
			`{"field_name": null, "guid", "label", "type": 0} (docs.mx.com/products/connectivity/overview/mfa); the spec types "type" as a string`,
		apply: func(op string, status int, body map[string]any) (int, bool, string) {
			member, _ := body["member"].(map[string]any)
			chs, _ := member["challenges"].([]any)
			applied, problem := false, ""
			for _, c := range chs {
				ch, _ := c.(map[string]any)
				n, isNum := ch["type"].(float64)
				if !isNum {
					continue
				}
				if op != "readMemberStatus" || n != 0 || ch["field_name"] != nil || len(ch) != 4 {
					problem = fmt.Sprintf("challenge %v is not the MFA guide's TEXT challenge of a member status", ch)
				}
				ch["type"], applied = "TEXT", true
			}
			return status, applied, problem
		},
	},
	{
		Name: "createMember 201",
		Source: `MX's create member reference: "201 - Member created, but one or more products in data_request failed" ` +
			`(docs.mx.com/api-reference/platform-api/reference/create-member); the spec declares 200 and 202`,
		apply: func(op string, status int, _ map[string]any) (int, bool, string) {
			if op == "createMember" && status == http.StatusCreated {
				return http.StatusOK, true, "" // the same MemberResponseBody
			}
			return status, false, ""
		},
	},
	{
		Name: "verifyMember 202",
		Source: `MX's errors page: 202 when "a job of the same type is already running" ` +
			`(docs.mx.com/api-reference/platform-api/overview/errors); the spec declares 200`,
		apply: func(op string, status int, _ map[string]any) (int, bool, string) {
			if op == "verifyMember" && status == http.StatusAccepted {
				return http.StatusOK, true, ""
			}
			return status, false, ""
		},
	},
	{
		Name:   "listMemberChallenges 204",
		Source: `the spec's own description of list member challenges: 204 No Content when the member is not CHALLENGED; its responses declare 200 only`,
		apply: func(op string, status int, _ map[string]any) (int, bool, string) {
			return status, op == "listMemberChallenges" && status == http.StatusNoContent, ""
		},
	},
}

// SpecPath is where MX's spec of a version lives: ../shared/mx-openapi
// beside the module root.
func SpecPath(version string) string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "mx-openapi", version+".yml")
		}
		if filepath.Dir(d) == d {
			return filepath.Join("..", "shared", "mx-openapi", version+".yml")
		}
	}
}

// Checker checks exchanges against the spec of each request's
// Accept-Version. It is safe for concurrent use.
type Checker struct {
	// Accept, when set, also requires the Accept header each version
	// documents (the client's conformance; hand-written tests may vary it).
	Accept func(version string) string

	routers map[string]routers.Router
	mu      sync.Mutex
	errs    []string
	ops     map[string]int // version/operationId → exchanges checked
	depart  map[string]int // Departure name → exchanges it applied to
}

// NewChecker loads the specs of versions (all when none) for a server at
// serverURL, skipping the test with a clear message when they are absent.
func NewChecker(t testing.TB, serverURL string, versions ...string) *Checker {
	t.Helper()
	if len(versions) == 0 {
		versions = Versions
	}
	c := &Checker{routers: map[string]routers.Router{}, ops: map[string]int{}, depart: map[string]int{}}
	for _, v := range versions {
		file := SpecPath(v)
		if _, err := os.Stat(file); err != nil && os.Getenv("MXFLEET_TEST_REQUIRE_SPECS") == "1" {
			t.Fatalf("MX's OpenAPI spec is not at %s and MXFLEET_TEST_REQUIRE_SPECS=1: put ../shared/mx-openapi beside the repository", file)
		} else if err != nil {
			t.Skipf("MX's OpenAPI spec is not at %s (it lives in ../shared beside the repository; CI has it): conformance not checked", file)
		}
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			t.Fatalf("load %s: %v", file, err)
		}
		doc.Servers = openapi3.Servers{{URL: serverURL}}
		strictRequests(doc)
		r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		if err != nil {
			t.Fatalf("router %s: %v", v, err)
		}
		c.routers[v] = r
	}
	return c
}

// strictRequests closes every object of every request body.
func strictRequests(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		if len(s.Value.Properties) > 0 && s.Value.AdditionalProperties.Schema == nil {
			s.Value.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		}
		for _, p := range s.Value.Properties {
			walk(p)
		}
		walk(s.Value.Items)
		for _, sub := range append(append(s.Value.AllOf, s.Value.AnyOf...), s.Value.OneOf...) {
			walk(sub)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema)
			}
		}
	}
}

func (c *Checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// Check checks one exchange: the request (its body given apart, as it has
// been read) and, for a 2xx, the answer; error answers must be MX's
// {"error":{"message"}}. Requests to /_sim/ and of versions not loaded
// (tests of the version check itself) are not checked.
func (c *Checker) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	if strings.HasPrefix(req.URL.Path, "/_sim") {
		return
	}
	version := req.Header.Get("Accept-Version")
	router := c.routers[version]
	if router == nil {
		if c.Accept != nil {
			c.fail("%s %s: Accept-Version %q is not a version checked", req.Method, req.URL.Path, version)
		}
		return
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status != http.StatusNotFound {
			c.fail("%s %s %s: no such operation in the spec (%d)", version, req.Method, req.URL.Path, status)
		}
		return
	}
	op := route.Operation.OperationID
	if c.Accept != nil {
		if got, want := req.Header.Get("Accept"), c.Accept(version); got != want {
			c.fail("%s request %s: Accept %q, want %q", version, op, got, want)
		}
		// MX's general errors page: a POST or PUT without Content-Type
		// may be answered 404, bodyless ones (verify, identify) too.
		if ct := req.Header.Get("Content-Type"); (req.Method == http.MethodPost || req.Method == http.MethodPut) && !strings.HasPrefix(ct, "application/json") {
			c.fail("%s request %s: %s with Content-Type %q, want application/json", version, op, req.Method, ct)
		}
	}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	opts := &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true,
		AuthenticationFunc: func(_ context.Context, a *openapi3filter.AuthenticationInput) error {
			if _, _, ok := a.RequestValidationInput.Request.BasicAuth(); !ok {
				return fmt.Errorf("no basic auth")
			}
			return nil
		}}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if status < 400 || c.Accept != nil {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.fail("%s request %s: %v", version, op, err)
		}
	}
	c.mu.Lock()
	c.ops[version+"/"+op]++
	c.mu.Unlock()
	if status >= 400 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			c.fail("%s response %s %d: error body %q is not {\"error\":{\"message\"}}", version, op, status, truncate(body))
		}
		return
	}
	var tree map[string]any
	_ = json.Unmarshal(body, &tree)
	checked := body
	for _, d := range Departures {
		s, applied, problem := d.apply(op, status, tree)
		if problem != "" {
			c.fail("%s response %s: %s", version, op, problem)
		}
		if !applied {
			continue
		}
		c.mu.Lock()
		c.depart[d.Name]++
		c.mu.Unlock()
		status = s
		if tree != nil {
			checked, _ = json.Marshal(tree)
		}
	}
	if status == http.StatusNoContent && op == "listMemberChallenges" {
		if len(body) != 0 {
			c.fail("%s response %s: 204 with a body", version, op)
		}
		return
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(checked)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.fail("%s response %s %d: %v", version, op, status, err)
	}
}

// Transport checks every exchange that goes through next (nil:
// http.DefaultTransport).
func (c *Checker) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		rbody, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(rbody))
		c.Check(req, body, resp.StatusCode, resp.Header, rbody)
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Report fails t with every violation, logs what was checked and which
// departures applied, and fails for each of wantOps (operationIds) a
// version loaded never exercised.
func (c *Checker) Report(t testing.TB, wantOps ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errs {
		t.Error(e)
	}
	var ops, dep []string
	for op, n := range c.ops {
		ops = append(ops, fmt.Sprintf("%s=%d", op, n))
	}
	for name, n := range c.depart {
		dep = append(dep, fmt.Sprintf("%q on %d", name, n))
	}
	sort.Strings(ops)
	sort.Strings(dep)
	t.Logf("checked %d operations: %s; %d violations; documented departures: %s", len(c.ops), strings.Join(ops, " "), len(c.errs), strings.Join(dep, ", "))
	for v := range c.routers {
		for _, op := range wantOps {
			if c.ops[v+"/"+op] == 0 {
				t.Errorf("%s %s was never exercised", v, op)
			}
		}
	}
}

// Departed is how many exchanges a departure (by name) applied to.
func (c *Checker) Departed(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.depart[name]
}

// Violations is how many violations were found so far.
func (c *Checker) Violations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.errs)
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
