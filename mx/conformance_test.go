package mx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// specPath is MX's own OpenAPI document of v20111101, beside the project.
const specPath = "../../shared/mx-openapi/v20111101.yml"

// validator is an http.RoundTripper that checks every request the client
// sends and every response the simulator returns against MX's spec.
type validator struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	errs   []string
	ops    map[string]int // operationId → exchanges validated
}

func loadValidator(t *testing.T, serverURL string) *validator {
	t.Helper()
	if _, err := os.Stat(specPath); err != nil {
		t.Skipf("MX's OpenAPI spec is not at %s (it lives in ../shared beside the repo; CI has it): conformance not checked", specPath)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &validator{t: t, router: router, ops: map[string]int{}}
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, fmt.Sprintf(format, args...))
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.fail("%s %s: no such operation in the spec: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	op := route.Operation.OperationID
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true,
			AuthenticationFunc: func(_ context.Context, a *openapi3filter.AuthenticationInput) error {
				if _, _, ok := a.RequestValidationInput.Request.BasicAuth(); !ok {
					return fmt.Errorf("no basic auth")
				}
				return nil
			}}}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		v.fail("request %s: %v", op, err)
	}
	if got := req.Header.Get("Accept"); got != mx.AcceptHeader {
		v.fail("request %s: Accept %q", op, got)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rbody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(rbody))
	v.mu.Lock()
	v.ops[op]++
	v.mu.Unlock()
	switch {
	case resp.StatusCode == http.StatusNoContent && op == "listMemberChallenges":
		// MX documents the 204 in the description only.
		if len(rbody) != 0 {
			v.fail("response %s: 204 with a body", op)
		}
	case resp.StatusCode >= 400:
		// The spec declares no error responses; MX's shape is {"error":{"message"}}.
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(rbody, &e) != nil || e.Error.Message == "" {
			v.fail("response %s: %d error body %q is not {\"error\":{\"message\"}}", op, resp.StatusCode, truncate(string(rbody)))
		}
	default:
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(rbody)), Options: in.Options}
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			v.fail("response %s %d: %v", op, resp.StatusCode, err)
		}
	}
	return resp, nil
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// lateBound lets the transport exist before the server URL is known.
type lateBound struct{ v *validator }

func (l *lateBound) RoundTrip(r *http.Request) (*http.Response, error) { return l.v.RoundTrip(r) }

func TestConformanceWithMXSpec(t *testing.T) {
	if _, err := os.Stat(specPath); err != nil {
		t.Skipf("MX's OpenAPI spec is not at %s (it lives in ../shared beside the repo; CI has it): conformance not checked", specPath)
	}
	lb := &lateBound{}
	c, _, hs := newSim(t, lb)
	v := loadValidator(t, hs.URL)
	lb.v = v
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range mxsim.Scenarios() {
			for _, kind := range sc.Kinds {
				t.Run(sc.Name+"/"+kind, func(t *testing.T) {
					t.Parallel()
					drive(t, ctx, c, sc, kind, "conf-"+sc.Name+"-"+kind)
				})
			}
		}
	})
	t.Run("other calls", func(t *testing.T) { exerciseEveryCall(t, ctx, c) })

	for _, e := range v.errs {
		t.Error(e)
	}
	var ops []string
	for op, n := range v.ops {
		ops = append(ops, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(ops)
	t.Logf("validated %d operations: %s; %d violations", len(v.ops), strings.Join(ops, " "), len(v.errs))
	for _, op := range []string{"createUser", "readUser", "listUsers", "listInstitutions", "readInstitution", "listInstitutionCredentials",
		"createMember", "readMember", "listMembers", "updateMember", "deleteMember", "readMemberStatus", "identifyMember", "verifyMember",
		"aggregateMember", "listMemberChallenges", "resumeAggregation", "listAccountOwnersByMember", "listAccountNumbersByMember",
		"listAccountNumbersByAccount", "requestWidgetURL"} {
		if v.ops[op] == 0 {
			t.Errorf("operation %s was never exercised", op)
		}
	}
}

// exerciseEveryCall makes the calls the scenarios do not: reads, updates,
// deletes, searches, widget URLs, errors.
func exerciseEveryCall(t *testing.T, ctx context.Context, c *mx.Client) {
	u, err := c.CreateUser(ctx, mx.UserCreate{ID: "conf-every", Email: "e@example.com", IsDisabled: false, Metadata: `{"a":1}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadUser(ctx, u.GUID); err != nil {
		t.Fatal(err)
	}
	if got, err := mx.Collect(c.Users(ctx, "conf-every", "")); err != nil || len(got) != 1 {
		t.Fatalf("users by id: %v %v", err, got)
	}
	insts, err := mx.Collect(c.SearchInstitutions(ctx, mx.InstitutionSearch{Name: "bank", RecordsPerPage: 10}))
	if err != nil || len(insts) < 11 {
		t.Fatalf("institution search over pages: %v (%d)", err, len(insts))
	}
	if byURL, err := mx.Collect(c.SearchInstitutions(ctx, mx.InstitutionSearch{Name: "mxbank.com", SupportsAccountVerification: true})); err != nil || len(byURL) == 0 {
		t.Fatalf("search by url: %v %v", err, byURL)
	}
	if _, err := c.ReadInstitution(ctx, "mxbank"); err != nil {
		t.Fatal(err)
	}
	if _, err := mx.Collect(c.InstitutionCredentials(ctx, "no_such_bank")); !mx.IsNotFound(err) {
		t.Fatalf("unknown institution credentials: %v", err)
	}
	fields, err := mx.Collect(c.InstitutionCredentials(ctx, "mxbank"))
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{"username": "mxuser", "password": "correct"}
	var cv []mx.CredentialValue
	for _, f := range fields {
		cv = append(cv, mx.CredentialValue{GUID: f.GUID, Value: creds[f.FieldName]})
	}
	m, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: cv, ID: "conf-m", Metadata: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: cv}); !mx.IsDuplicateMember(err) {
		t.Fatalf("duplicate member: %v", err)
	}
	if _, err := c.ReadMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatal(err)
	}
	if ms, err := mx.Collect(c.Members(ctx, u.GUID)); err != nil || len(ms) == 0 {
		t.Fatalf("members: %v %v", err, ms)
	}
	// create without skip_aggregation started an aggregation; a verify now
	// collides with it (409) until it ends.
	if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); !mx.IsConflict(err) {
		t.Fatalf("verify during an aggregation: %v, want 409", err)
	}
	if _, err := c.AggregateMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatalf("aggregate while aggregating is a 202 no-op: %v", err)
	}
	if chs, err := mx.Collect(c.Challenges(ctx, u.GUID, m.GUID)); err != nil || len(chs) != 0 {
		t.Fatalf("challenges of an unchallenged member: %v %v", err, chs)
	}
	if _, err := c.ResumeMember(ctx, u.GUID, m.GUID, []mx.ChallengeAnswer{{GUID: "CRD-x", Value: "y"}}); mx.StatusCode(err) != 405 {
		t.Fatalf("resume an unchallenged member: %v, want 405", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := c.ReadMemberStatus(ctx, u.GUID, m.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if !st.IsBeingAggregated || time.Now().After(deadline) {
			break
		}
	}
	nums, err := mx.Collect(c.AccountNumbers(ctx, u.GUID, m.GUID))
	if err != nil || len(nums) == 0 {
		t.Fatalf("account numbers after aggregation: %v %v", err, nums)
	}
	if byAcct, err := mx.Collect(c.AccountNumbersByAccount(ctx, u.GUID, nums[0].AccountGUID)); err != nil || len(byAcct) == 0 {
		t.Fatalf("numbers by account: %v %v", err, byAcct)
	}
	if _, err := c.UpdateMember(ctx, u.GUID, m.GUID, mx.MemberUpdate{Metadata: "updated", SkipAggregation: true}); err != nil {
		t.Fatal(err)
	}
	yes := true
	w, err := c.RequestWidgetURL(ctx, u.GUID, mx.WidgetURLRequest{Mode: "verification", ColorScheme: "dark",
		CurrentMemberGUID: m.GUID, IncludeIdentity: &yes, UIMessageVersion: 4, IsoCountryCode: []string{"US"}, Language: "en-US"})
	if err != nil || w.URL == "" {
		t.Fatalf("widget url: %v %+v", err, w)
	}
	if _, err := url.Parse(w.URL); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadMember(ctx, u.GUID, m.GUID); !mx.IsNotFound(err) {
		t.Fatalf("read deleted member: %v", err)
	}
}
