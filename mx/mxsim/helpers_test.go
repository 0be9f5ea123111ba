package mxsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// mxAccept is v20111101's media type; v20250224 answers jsonType.
const (
	mxAccept = "application/vnd.mx.api.v1+json"
	jsonType = "application/json"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind an httptest server, on a fake clock, with
// aggregation time aggTime. Its API calls are in version (v20250224 when
// empty).
type env struct {
	t       *testing.T
	sim     *mxsim.Server
	srv     *httptest.Server
	clock   *fakeClock
	version string
	// observe, when set, sees every exchange (the request with its body
	// readable again, and the answer)
	observe func(req *http.Request, r resp)
}

// in is the same env making its API calls in version.
func (e *env) in(version string) *env {
	c := *e
	c.version = version
	return &c
}

// v1 is the same env making its API calls in v20111101.
func (e *env) v1() *env { return e.in(mxsim.VersionPrevious) }

func (e *env) current() bool { return e.version == "" || e.version == mxsim.VersionCurrent }

const aggTime = 2 * time.Second

func newEnv(t *testing.T, opts ...mxsim.Option) *env {
	t.Helper()
	clock := newFakeClock()
	sim := mxsim.New(append([]mxsim.Option{mxsim.WithClock(clock.Now), mxsim.WithAggregationTime(aggTime)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, srv: srv, clock: clock}
}

// resp is an answer of the simulator.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// into decodes the body into v.
func (r resp) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d %s: %v", r.status, r.body, err)
	}
}

// obj decodes the body as a JSON object.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.into(t, &m)
	return m
}

// send makes a request; body, when not nil, is sent as JSON. It fails the
// test on transport errors.
func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	var orig *http.Request
	if e.observe != nil {
		orig = req.Clone(req.Context())
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := resp{res.StatusCode, res.Header, b}
	if e.observe != nil {
		if orig.GetBody != nil {
			orig.Body, _ = orig.GetBody()
		}
		e.observe(orig, r)
	}
	return r
}

func (e *env) newRequest(method, path string, body any) *http.Request {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = bytes.NewBufferString(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// apiRequest is an authenticated MX API request in the env's version:
// Accept-Version v20250224 and Accept application/json, or Accept-Version
// v20111101 and Accept application/vnd.mx.api.v1+json.
func (e *env) apiRequest(method, path string, body any) *http.Request {
	e.t.Helper()
	req := e.newRequest(method, path, body)
	req.SetBasicAuth(mxsim.DefaultClientID, mxsim.DefaultAPIKey)
	if e.current() {
		req.Header.Set("Accept-Version", mxsim.VersionCurrent)
		req.Header.Set("Accept", jsonType)
	} else {
		req.Header.Set("Accept-Version", e.version)
		req.Header.Set("Accept", mxAccept)
	}
	return req
}

// do is an authenticated MX API call.
func (e *env) do(method, path string, body any) resp {
	e.t.Helper()
	return e.send(e.apiRequest(method, path, body))
}

// must is do that expects status want.
func (e *env) must(want int, method, path string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

type member struct {
	GUID                     string  `json:"guid"`
	ConnectionStatus         string  `json:"connection_status"`
	IsBeingAggregated        bool    `json:"is_being_aggregated"`
	IsAuthenticated          bool    `json:"is_authenticated"`
	AggregatedAt             *string `json:"aggregated_at"`
	SuccessfullyAggregatedAt *string `json:"successfully_aggregated_at"`
	InstitutionCode          string  `json:"institution_code"`
	Challenges               []struct {
		GUID         string  `json:"guid"`
		Label        string  `json:"label"`
		FieldName    *string `json:"field_name"`
		Type         any     `json:"type"` // a string, or 0 for TEXT in the status (MX's MFA guide)
		ImageData    *string `json:"image_data"`
		Options      []struct{ GUID, Label, Value string }
		ImageOptions []struct {
			GUID, Label, Value string
			DataURI            string `json:"data_uri"`
		} `json:"image_options"`
	} `json:"challenges"`
}

// typeName is a challenge's type as the spec names it: the status writes
// TEXT as the integer 0.
func typeName(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if v == 0 {
			return "TEXT"
		}
	}
	return "?"
}

func (e *env) createUser(id string) string {
	e.t.Helper()
	var out struct{ User struct{ GUID string } }
	e.must(200, "POST", "/users", map[string]any{"user": map[string]any{"id": id, "email": id + "@example.com"}}).into(e.t, &out)
	return out.User.GUID
}

// credentials maps values keyed by lower-cased label ("username",
// "password", as mxsim.Scenario.Credentials) to credential guids of an
// institution.
func (e *env) credentials(inst string, byLabel map[string]string) []map[string]string {
	e.t.Helper()
	var out struct {
		Credentials []struct {
			GUID  string `json:"guid"`
			Label string `json:"label"`
		}
	}
	e.must(200, "GET", "/institutions/"+inst+"/credentials", nil).into(e.t, &out)
	var creds []map[string]string
	for _, c := range out.Credentials {
		creds = append(creds, map[string]string{"guid": c.GUID, "value": byLabel[strings.ToLower(c.Label)]})
	}
	return creds
}

// createMember creates an mxbank member of user u with username mxuser and
// the password, without aggregating: in v20250224 with an empty
// data_request (200), in v20111101 with skip_aggregation.
func (e *env) createMember(u, password string) string {
	e.t.Helper()
	return e.createMemberAt(u, "mxbank", map[string]string{"username": "mxuser", "password": password})
}

func (e *env) createMemberAt(u, inst string, creds map[string]string) string {
	e.t.Helper()
	var out struct{ Member member }
	body := map[string]any{"member": map[string]any{"institution_code": inst, "credentials": e.credentials(inst, creds)}}
	if e.current() {
		body["data_request"] = map[string]any{"products": []string{}}
	} else {
		body["member"].(map[string]any)["skip_aggregation"] = true
	}
	e.must(200, "POST", "/users/"+u+"/members", body).into(e.t, &out)
	if out.Member.ConnectionStatus != "CREATED" || out.Member.IsBeingAggregated {
		e.t.Fatalf("new member: %+v", out.Member)
	}
	return out.Member.GUID
}

func (e *env) status(u, m string) member {
	e.t.Helper()
	var out struct{ Member member }
	e.must(200, "GET", "/users/"+u+"/members/"+m+"/status", nil).into(e.t, &out)
	return out.Member
}

// finish lets the running job run end and returns the member status.
func (e *env) finish(u, m string) member {
	e.t.Helper()
	e.clock.Advance(aggTime)
	return e.status(u, m)
}

// answer resumes with value for every outstanding challenge.
func (e *env) answer(u, m string, st member, value string) {
	e.t.Helper()
	var answers []map[string]string
	for _, ch := range st.Challenges {
		answers = append(answers, map[string]string{"guid": ch.GUID, "value": value})
	}
	var out struct{ Member member }
	e.must(202, "PUT", "/users/"+u+"/members/"+m+"/resume", map[string]any{"member": map[string]any{"challenges": answers}}).into(e.t, &out)
	if out.Member.ConnectionStatus != "RESUMED" || !out.Member.IsBeingAggregated {
		e.t.Fatalf("after resume: %+v", out.Member)
	}
}

// listLen reads a paged list and returns its length and pagination.
func (e *env) list(path, key string) ([]map[string]any, map[string]int) {
	e.t.Helper()
	var out map[string]json.RawMessage
	e.must(200, "GET", path, nil).into(e.t, &out)
	var items []map[string]any
	var pg map[string]int
	if err := json.Unmarshal(out[key], &items); err != nil {
		e.t.Fatalf("%s: %v", key, err)
	}
	if err := json.Unmarshal(out["pagination"], &pg); err != nil {
		e.t.Fatalf("pagination: %v", err)
	}
	return items, pg
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
