package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/api"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const (
	token         = "test-token-0123456789"
	callbackKey   = "callback-secret-0123456789"
	webhookSecret = "webhook-secret-0123"
)

// env is a fleet with the API in front of it, every exchange validated
// against the API's own OpenAPI document.
type env struct {
	f      *testenv.Fleet
	url    string
	hc     *http.Client
	v      *validator
	events *receiver
	log    *testenv.SyncBuffer // what the API logged
	// setHandler puts another handler (an API configured otherwise)
	// behind url.
	setHandler func(http.Handler)
}

func newEnv(t testing.TB, tune func(*fleet.Config), simOpts ...mxsim.Option) *env {
	t.Helper()
	var handler http.Handler
	var mu sync.Mutex
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	rcv := newReceiver(t)
	f := testenv.NewFleet(t, func(c *fleet.Config) {
		c.CallbackAllow, c.CallbackSecret = "127.0.0.1", callbackKey
		if tune != nil {
			tune(c)
		}
	}, simOpts...)
	mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	allow, err := f.Config.Callbacks()
	if err != nil {
		t.Fatal(err)
	}
	set := func(h http.Handler) {
		mu.Lock()
		handler = h
		mu.Unlock()
	}
	logs := &testenv.SyncBuffer{}
	dir := institutions.New(mxc, store.New(f.Redis.Client, f.Keys), 0, zerolog.New(logs))
	set(api.New(f.Client, mxc, api.Config{Tokens: []string{"other-token", token}, Callbacks: allow, WebhookSecret: webhookSecret, Institutions: dir}, zerolog.New(logs)))
	v := newValidator(t, front.URL)
	return &env{f: f, url: front.URL, hc: &http.Client{Transport: v, Timeout: 10 * time.Second}, v: v, events: rcv, log: logs, setHandler: set}
}

func (e *env) do(t testing.TB, method, path, tok string, body any) (int, []byte) {
	t.Helper()
	code, _, b := e.req(t, method, path, tok, body)
	return code, b
}

// req is do with the response headers.
func (e *env) req(t testing.TB, method, path, tok string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func (e *env) job(t testing.TB, id string) store.View {
	t.Helper()
	code, b := e.do(t, "GET", "/v1/jobs/"+id, token, nil)
	if code != 200 {
		t.Fatalf("GET job %s: %d %s", id, code, b)
	}
	var v store.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) waitFor(t testing.TB, id string, ok func(store.View) bool) store.View {
	t.Helper()
	var v store.View
	testenv.Until(t, testenv.Context(t, 30*time.Second), "job "+id, func() error {
		if v = e.job(t, id); !ok(v) {
			return fmt.Errorf("still %+v", v)
		}
		return nil
	})
	return v
}

func errCode(b []byte) string {
	var e api.Error
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

func mxbank(password string) map[string]any {
	return map[string]any{"institution_code": "mxbank", "credentials": map[string]string{"username": "mxuser", "password": password}}
}

func TestJobsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	body := map[string]any{"kind": "verify", "id": "api-1", "user": map[string]string{"id": "api-user"}, "member": mxbank("challenge")}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 200 {
		t.Fatalf("same id again: %d %s", code, b)
	}
	body["kind"] = "identify"
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 409 || errCode(b) != "id_conflict" {
		t.Fatalf("same id, other kind: %d %s", code, b)
	}
	v := e.waitFor(t, "api-1", func(v store.View) bool { return v.State == store.StateChallenged })
	code, b := e.do(t, "GET", "/v1/jobs?state=challenged&per_page=10", token, nil)
	if code != 200 || !strings.Contains(string(b), `"api-1"`) {
		t.Fatalf("list challenged: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/api-1/answers", token, map[string]any{"answers": map[string]string{"CRD-nope": "x"}}); code != 422 || errCode(b) != "challenge_mismatch" {
		t.Fatalf("mismatched answer: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/api-1/answers", token, map[string]any{"answers": map[string]string{v.Challenges[0].GUID: "correct"}}); code != 202 {
		t.Fatalf("answer: %d %s", code, b)
	}
	v = e.waitFor(t, "api-1", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.Result == nil || len(v.Result.AccountNumbers) == 0 {
		t.Fatalf("job: %+v", v)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/api-1/answers", token, map[string]any{"answers": map[string]string{"CRD-x": "y"}}); code != 409 || errCode(b) != "not_challenged" {
		t.Fatalf("answer an ended job: %d %s", code, b)
	}
	// follow: a member connected elsewhere, read without a new MX job.
	follow := map[string]any{"kind": "follow", "id": "api-follow", "user": map[string]string{"guid": v.UserGUID}, "member": map[string]string{"guid": v.MemberGUID}}
	if code, b := e.do(t, "POST", "/v1/jobs", token, follow); code != 202 {
		t.Fatalf("follow: %d %s", code, b)
	}
	verifies := e.f.Sim.Stats().Calls["verifyMember"]
	fv := e.waitFor(t, "api-follow", func(v store.View) bool { return v.State.Terminal() })
	if fv.State != store.StateSucceeded || len(fv.Result.AccountNumbers) == 0 || e.f.Sim.Stats().Calls["verifyMember"] != verifies {
		t.Fatalf("follow job %+v (verify calls %d → %d)", fv, verifies, e.f.Sim.Stats().Calls["verifyMember"])
	}
	if code, b := e.do(t, "DELETE", "/v1/jobs/api-1", token, nil); code != 204 {
		t.Fatalf("purge: %d %s", code, b)
	}
	if code, _ := e.do(t, "GET", "/v1/jobs/api-1", token, nil); code != 404 {
		t.Fatalf("after purge: %d", code)
	}
	e.v.check(t)
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	e := newEnv(t, nil)
	good := map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}, "member": mxbank("correct")}
	cases := []struct {
		name, method, path, tok string
		body                    any
		code                    int
		errCode                 string
	}{
		{"no token", "POST", "/v1/jobs", "", good, 401, "unauthorized"},
		{"wrong token", "GET", "/v1/jobs/x", "nope", nil, 401, "unauthorized"},
		{"malformed", "POST", "/v1/jobs", token, `{"kind":`, 400, "malformed_json"},
		{"unknown field", "POST", "/v1/jobs", token, `{"kind":"verify","user":{"id":"u"},"member":{"guid":"m"},"extra":1}`, 400, "unknown_field"},
		{"too large", "POST", "/v1/jobs", token, `{"kind":"verify","id":"` + strings.Repeat("a", api.MaxBody) + `"}`, 413, "too_large"},
		{"bad kind", "POST", "/v1/jobs", token, map[string]any{"kind": "steal", "user": map[string]string{"id": "u"}, "member": map[string]string{"guid": "m"}}, 400, "invalid_kind"},
		{"no member", "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}}, 400, "invalid_request"},
		{"odd id", "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "id": "../x", "user": map[string]string{"id": "u"}, "member": map[string]string{"guid": "m"}}, 400, "invalid_request"},
		{"callback host", "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}, "member": map[string]string{"guid": "m"}, "callback_url": "https://evil.example/x"}, 400, "callback_not_allowed"},
		{"unknown job", "GET", "/v1/jobs/nope", token, nil, 404, "not_found"},
		{"list other state", "GET", "/v1/jobs?state=running", token, nil, 400, "invalid_state"},
		{"answer unknown job", "POST", "/v1/jobs/nope/answers", token, map[string]any{"answers": map[string]string{"g": "v"}}, 404, "not_found"},
		{"webhook no token", "POST", "/v1/mx/webhooks", "", map[string]string{"member_guid": "MBR-1"}, 401, "unauthorized"},
		{"no route", "GET", "/v2/jobs", token, nil, 404, "not_found"},
		{"empty credential", "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}, "member": mxbank("")}, 400, "invalid_request"},
		{"get odd id", "GET", "/v1/jobs/-x", token, nil, 400, "invalid_id"},
		{"purge odd id", "DELETE", "/v1/jobs/-x", token, nil, 400, "invalid_id"},
		{"answer odd id", "POST", "/v1/jobs/-x/answers", token, map[string]any{"answers": map[string]string{"g": "v"}}, 400, "invalid_id"},
		{"answer empty value", "POST", "/v1/jobs/nope/answers", token, map[string]any{"answers": map[string]string{"g": ""}}, 400, "invalid_request"},
		{"answer too long", "POST", "/v1/jobs/nope/answers", token, map[string]any{"answers": map[string]string{"g": strings.Repeat("v", 1025)}}, 400, "invalid_request"},
	}
	for _, c := range cases {
		code, b := e.do(t, c.method, c.path, c.tok, c.body)
		if code != c.code || errCode(b) != c.errCode {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, truncate(b), c.code, c.errCode)
		}
	}
	if code, b := e.do(t, "GET", "/healthz", "", nil); code != 200 {
		t.Errorf("healthz: %d %s", code, b)
	}
	if code, b := e.do(t, "GET", "/v1/openapi.json", "", nil); code != 200 || !strings.Contains(string(b), `"openapi"`) {
		t.Errorf("openapi.json: %d", code)
	}
	e.v.check(t)
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// receiver is a callback endpoint that checks signatures.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	events []tasks.Event
	seen   map[string]int
	onEv   func(tasks.Event)
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := tasks.VerifySignature([]byte(callbackKey), req.Header.Get(tasks.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("callback signature: %v", err)
			w.WriteHeader(400)
			return
		}
		var ev tasks.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("callback body: %v", err)
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.seen[ev.ID]++
		on := r.onEv
		r.mu.Unlock()
		if on != nil {
			on(ev)
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestSignedCallbacks(t *testing.T) {
	e := newEnv(t, nil)
	done := make(chan tasks.Event, 4)
	e.events.mu.Lock()
	e.events.onEv = func(ev tasks.Event) {
		if ev.Type == "job.challenged" {
			if ev.Job.ETA == nil || ev.Job.ETA.WaitingOn != store.ETAEndUser || ev.Job.ETA.P50 != nil {
				t.Errorf("challenged event's eta: %+v, want waiting on the end user", ev.Job.ETA)
			}
			// answer from the callback, as an upstream would
			go func() {
				e.do(t, "POST", "/v1/jobs/"+ev.Job.ID+"/answers", token, map[string]any{"answers": map[string]string{ev.Job.Challenges[0].GUID: "correct"}})
			}()
		}
		if ev.Type == "job.succeeded" || ev.Type == "job.failed" {
			if ev.Job.ETA != nil {
				t.Errorf("ended job's event has an eta: %+v", ev.Job.ETA)
			}
			done <- ev
		}
	}
	e.events.mu.Unlock()
	for id, results := range map[string]bool{"cb-results": true, "cb-plain": false} {
		body := map[string]any{"kind": "identify", "id": id, "user": map[string]string{"id": "u-" + id}, "member": mxbank("challenge"),
			"callback_url": e.events.srv.URL + "/hook?k=1", "callback_results": results}
		if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
			t.Fatalf("create: %d %s", code, b)
		}
	}
	got := map[string]tasks.Event{}
	for range 2 {
		select {
		case ev := <-done:
			got[ev.Job.ID] = ev
		case <-time.After(30 * time.Second):
			t.Fatal("no final callback")
		}
	}
	if ev := got["cb-results"]; ev.Type != "job.succeeded" || ev.Job.Result == nil || len(ev.Job.Result.AccountOwners) == 0 {
		t.Fatalf("succeeded event with results: %+v", ev)
	}
	if ev := got["cb-plain"]; ev.Type != "job.succeeded" || ev.Job.Result != nil {
		t.Fatalf("succeeded event without results: %+v", ev)
	}
	// A duplicate would come from a callback task still to run: wait until
	// none is left (delivered tasks are kept, completed).
	testenv.Until(t, testenv.Context(t, 30*time.Second), "every callback task done", func() error {
		q, err := e.f.Inspector.GetQueueInfo(tasks.QueueCallbacks)
		if err != nil || q.Pending+q.Active+q.Scheduled+q.Retry+q.Aggregating > 0 {
			return fmt.Errorf("callback queue %+v (%v)", q, err)
		}
		return nil
	})
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	for id, n := range e.events.seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(e.events.seen) != 4 { // challenged + succeeded, two jobs
		t.Errorf("events: %v", e.events.seen)
	}
	if err := tasks.VerifySignature([]byte("wrong-secret-0123456"), tasks.Sign([]byte(callbackKey), time.Now(), []byte("x")), []byte("x"), time.Now(), time.Minute); err == nil {
		t.Error("a wrong secret verified")
	}
}

// validator checks every exchange against the API's own OpenAPI document.
type validator struct {
	router routers.Router
	mu     sync.Mutex
	errs   []string
	ops    map[string]int
}

func newValidator(t testing.TB, serverURL string) *validator {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{router: r, ops: map[string]int{}}
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, params, err := v.router.FindRoute(req)
	resp, rerr := http.DefaultTransport.RoundTrip(req)
	if rerr != nil || err != nil {
		return resp, rerr // routes not in the document are checked by status alone
	}
	rbody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(rbody))
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(rbody)), Options: in.Options}
	op := route.Operation.OperationID
	v.mu.Lock()
	v.ops[op]++
	v.mu.Unlock()
	// Requests are sent bad on purpose by some tests: only responses must
	// always match the document.
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.mu.Lock()
		v.errs = append(v.errs, fmt.Sprintf("%s %d: %v", op, resp.StatusCode, err))
		v.mu.Unlock()
	}
	return resp, nil
}

func (v *validator) check(t testing.TB) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		t.Errorf("response does not match openapi.json: %s", e)
	}
}

// With MX webhooks, a job finishes when MX says so, long before its next
// scheduled poll: here the first poll is 30 s after verify, MX takes 1 s.
func TestWebhookWakesTheParkedPoll(t *testing.T) {
	var e *env
	var payloads atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// the simulator's webhooks go to the API's endpoint with MX's
		// X-CALLBACK-PAYLOAD, the secret as basic auth (as MX offers it)
		if e == nil {
			w.WriteHeader(503)
			return
		}
		req, _ := http.NewRequest("POST", e.url+"/v1/mx/webhooks", r.Body)
		req.SetBasicAuth("mx", webhookSecret)
		if p := r.Header.Get("X-CALLBACK-PAYLOAD"); p != "" {
			req.Header.Set("X-CALLBACK-PAYLOAD", p)
			payloads.Add(1)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(hook.Close)
	e = newEnv(t, func(c *fleet.Config) { c.PollInitial, c.PollMax = 30*time.Second, time.Minute },
		mxsim.WithAggregationTime(time.Second), mxsim.WithWebhook(hook.URL))
	t.Cleanup(e.f.Sim.Close)
	start := time.Now()
	body := map[string]any{"kind": "verify", "id": "hooked", "user": map[string]string{"id": "u-hooked"}, "member": mxbank("correct")}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "hooked", func(v store.View) bool { return v.State.Terminal() })
	took := time.Since(start)
	if v.State != store.StateSucceeded || took > 10*time.Second {
		t.Fatalf("job %s after %s (the scheduled poll was 30 s away)", v.State, took)
	}
	if n := e.f.Sim.Stats().Calls["webhook_sent"]; n == 0 {
		t.Fatal("no webhook was sent")
	}
	if payloads.Load() == 0 {
		t.Error("no webhook carried the X-CALLBACK-PAYLOAD the fleet sent")
	}
	t.Logf("succeeded %s after submit with the first scheduled poll 24-36 s away; %d status reads", took.Round(time.Millisecond), e.f.Sim.Stats().Calls["readMemberStatus"])
}

// Every authenticated delivery is acknowledged, whatever it holds: MX
// retries failed deliveries. The job is found by X-CALLBACK-PAYLOAD when
// the webhook names one for its member.
func TestWebhookAcknowledgesEveryAuthenticatedDelivery(t *testing.T) {
	e := newEnv(t, nil)
	post := func(body string, hdr map[string]string, basic bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.url+"/v1/mx/webhooks", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if basic {
			req.SetBasicAuth("any-user", webhookSecret)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	tokenHdr := map[string]string{"X-Mxfleet-Webhook-Token": webhookSecret}
	for _, c := range []struct {
		name, body string
		hdr        map[string]string
		basic      bool
		code       int
		ignored    bool
	}{
		{"basic auth, unknown member", `{"type":"MEMBER","action":"UPDATED","guid":"MBR-nobody"}`, nil, true, 200, true},
		{"token, a type the fleet has no use for", `{"type":"STATEMENT","action":"member_data_updated","member_guid":"MBR-nobody"}`, tokenHdr, false, 200, true},
		{"no member guid", `{"type":"initial_data_ready","guid":"3af06dde"}`, tokenHdr, false, 200, true},
		{"not JSON", `<xml/>`, tokenHdr, false, 200, true},
		{"basic auth, wrong password", `{"member_guid":"MBR-1"}`, nil, false, 401, false},
	} {
		hdr := c.hdr
		if c.name == "basic auth, wrong password" {
			hdr = map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("mx:wrong"))}
		}
		code, out := post(c.body, hdr, c.basic)
		if code != c.code || c.ignored != (out["ignored"] != nil) {
			t.Errorf("%s: %d %v, want %d (ignored %v)", c.name, code, out, c.code, c.ignored)
		}
	}

	// A job parked on a poll 30 s away: the payload names it.
	body := map[string]any{"kind": "verify", "id": "named-by-payload", "user": map[string]string{"id": "u-payload"}, "member": mxbank("correct")}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "named-by-payload", func(v store.View) bool { return v.MemberGUID != "" })
	payload := base64.StdEncoding.EncodeToString([]byte("named-by-payload"))
	code, out := post(`{"type":"MEMBER","action":"UPDATED","guid":"`+v.MemberGUID+`"}`, map[string]string{"X-Mxfleet-Webhook-Token": webhookSecret, "X-CALLBACK-PAYLOAD": payload}, false)
	if code != 200 || out["job_id"] != "named-by-payload" {
		t.Errorf("webhook with the job's payload: %d %v", code, out)
	}
	// A payload that is no job id (not the fleet's) is acknowledged, and
	// the job found by its member.
	odd := base64.StdEncoding.EncodeToString([]byte("../not a job id"))
	code, out = post(`{"type":"MEMBER","action":"UPDATED","guid":"MBR-nobody"}`, map[string]string{"X-Mxfleet-Webhook-Token": webhookSecret, "X-CALLBACK-PAYLOAD": odd}, false)
	if code != 200 || out["ignored"] == nil {
		t.Errorf("webhook with a payload that is no job id: %d %v", code, out)
	}
	code, out = post(`{"type":"MEMBER","action":"UPDATED","guid":"`+v.MemberGUID+`"}`, map[string]string{"X-Mxfleet-Webhook-Token": webhookSecret, "X-CALLBACK-PAYLOAD": odd}, false)
	if code != 200 || out["job_id"] != "named-by-payload" {
		t.Errorf("webhook with a payload that is no job id, for the job's member: %d %v", code, out)
	}
	// A payload naming a job of another member is not believed.
	code, out = post(`{"type":"MEMBER","action":"UPDATED","guid":"MBR-other"}`, map[string]string{"X-Mxfleet-Webhook-Token": webhookSecret, "X-CALLBACK-PAYLOAD": payload}, false)
	if code != 200 || out["job_id"] == "named-by-payload" {
		t.Errorf("payload of another member's job: %d %v", code, out)
	}
	e.v.check(t)
}

// An event enqueued before its record change (a worker died in between)
// waits for the record instead of being dropped.
func TestCallbackWaitsForTheRecord(t *testing.T) {
	e := newEnv(t, func(c *fleet.Config) { c.RetryBase, c.RetryMax = 100*time.Millisecond, 200*time.Millisecond })
	ctx := context.Background()
	st := store.New(e.f.Redis.Client, e.f.Keys)
	if _, _, err := st.Create(ctx, &store.Job{Record: job.Record{ID: "early", Kind: store.KindVerify, State: store.StateRunning,
		CallbackURL: e.events.srv.URL + "/hook"}}); err != nil {
		t.Fatal(err)
	}
	task, err := tasks.NewCallbackTask(tasks.Callback{JobID: "early", State: store.StateSucceeded, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.f.Raw.EnqueueContext(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Until(t, testenv.Context(t, 30*time.Second), "the delivery tried, finding the record behind", func() error {
		ti, err := e.f.Inspector.GetTaskInfo(tasks.QueueCallbacks, info.ID)
		if err != nil || !strings.Contains(ti.LastErr, "has not recorded it yet") {
			return fmt.Errorf("callback task %+v (%v)", ti, err)
		}
		return nil
	})
	e.events.mu.Lock()
	early := len(e.events.events)
	e.events.mu.Unlock()
	if early != 0 {
		t.Fatalf("an event was delivered before its record: %+v", e.events.events)
	}
	if _, err := st.Update(ctx, "early", func(j *store.Job) error {
		j.State, j.Result = store.StateSucceeded, &store.Result{AccountNumbers: []store.AccountNumber{{GUID: "ACN-1"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Until(t, testenv.Context(t, 20*time.Second), "the event delivered after its record", func() error {
		e.events.mu.Lock()
		defer e.events.mu.Unlock()
		if n := e.events.seen["early.succeeded"]; n != 1 {
			return fmt.Errorf("delivered %d times", n)
		}
		return nil
	})
}

// pagingEnv is an API over its own redis-server holding n jobs parked on
// MFA, written through the store as a worker parks them (no worker runs:
// a fuzz worker process must stop within Go's two-second grace); it
// returns their ids in the order GET /v1/jobs lists them.
func pagingEnv(t testing.TB, n int) (*env, []string) {
	t.Helper()
	r := testenv.NewRedis(t)
	keys := seal.Ephemeral()
	c := tasks.NewClient(r.Client, keys)
	t.Cleanup(func() { _ = c.Close() })
	st := store.New(r.Client, keys)
	ctx := context.Background()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("page-%02d", i)
		if _, _, err := st.Create(ctx, &store.Job{Record: job.Record{ID: id, Kind: store.KindVerify, State: store.StateRunning}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Update(ctx, id, func(j *store.Job) error {
			j.State, j.Round, j.ChallengeExp = store.StateChallenged, 1, time.Now().Add(time.Hour)
			j.Challenges = []store.Challenge{{GUID: "CRD-" + id, Label: "code", Type: "TEXT"}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	h := api.New(c, nil, api.Config{Tokens: []string{token}}, zerolog.Nop())
	front := httptest.NewServer(h)
	t.Cleanup(front.Close)
	v := newValidator(t, front.URL)
	return &env{url: front.URL, hc: &http.Client{Transport: v, Timeout: 10 * time.Second}, v: v}, ids
}

// listPage asks for GET /v1/jobs?state=challenged&page=…&per_page=… (an
// empty value is sent as such). A handler that panics shows as a transport
// error, which fails the test.
func listPage(t testing.TB, e *env, page, per string) (int, []byte, api.JobList) {
	t.Helper()
	q := url.Values{"state": {"challenged"}, "page": {page}, "per_page": {per}}
	code, b := e.do(t, "GET", "/v1/jobs?"+q.Encode(), token, nil)
	var l api.JobList
	if code == 200 {
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("list body %s: %v", b, err)
		}
	}
	return code, b, l
}

func listedIDs(l api.JobList) []string {
	out := []string{}
	for _, j := range l.Jobs {
		out = append(out, j.ID)
	}
	return out
}

// Hostile paging values get a clear 400, never a panic (the issue: page
// 9223372036854775807 overflowed (page-1)*per_page and indexed out of
// range, and the client saw a closed connection).
func TestListJobsPaging(t *testing.T) {
	e, ids := pagingEnv(t, 3)
	for _, c := range []struct {
		page, per string
		code      int
		want      []string // the page's jobs, for 200
	}{
		{"", "", 200, ids},
		{"1", "2", 200, ids[:2]},
		{"2", "2", 200, ids[2:]},
		{"3", "2", 200, []string{}},
		{"+2", "1", 200, ids[1:2]},
		{"1", "500", 200, ids},
		{"1000000", "500", 200, []string{}},
		{"1000000", "1", 200, []string{}},
		{"9223372036854775807", "500", 400, nil},
		{"9223372036854775807", "1", 400, nil},
		{"4611686018427387904", "2", 400, nil},
		{"1000001", "1", 400, nil},
		{"1", "501", 400, nil},
		{"1", "9223372036854775807", 400, nil},
		{"99999999999999999999999", "", 400, nil},
		{"0", "", 400, nil},
		{"", "0", 400, nil},
		{"-1", "", 400, nil},
		{"-9223372036854775808", "500", 400, nil},
		{"", "-9223372036854775808", 400, nil},
		{"abc", "", 400, nil},
		{"1.5", "", 400, nil},
		{"0x10", "", 400, nil},
		{" 1", "", 400, nil},
		{"1e3", "", 400, nil},
		{"", "NaN", 400, nil},
	} {
		code, b, l := listPage(t, e, c.page, c.per)
		switch {
		case code != c.code:
			t.Errorf("page=%q per_page=%q: %d %s, want %d", c.page, c.per, code, truncate(b), c.code)
		case code == 400 && (errCode(b) != "invalid_paging" || !strings.Contains(string(b), "from 1 to")):
			t.Errorf("page=%q per_page=%q: %s, want invalid_paging naming the range", c.page, c.per, b)
		case code == 200 && (!slices.Equal(listedIDs(l), c.want) || l.Pagination.TotalEntries != len(ids)):
			t.Errorf("page=%q per_page=%q: jobs %v (total %d), want %v (total %d)", c.page, c.per, listedIDs(l), l.Pagination.TotalEntries, c.want, len(ids))
		}
	}
	e.v.check(t)
}

// The paging parameters under any bytes: 200 with exactly the page's
// slice of jobs when both are integers in range (or absent), else 400
// invalid_paging; never a panic. `go test` runs the seeds; go test
// -fuzz=FuzzListJobsPaging ./internal/api/ searches further.
func FuzzListJobsPaging(f *testing.F) {
	e, ids := pagingEnv(f, 7)
	for _, s := range [][2]string{{"", ""}, {"1", "2"}, {"2", "2"}, {"9223372036854775807", "500"}, {"-9223372036854775808", "500"},
		{"1000000", "500"}, {"1000001", "1"}, {"0", "0"}, {"1", "501"}, {"18446744073709551617", "1"}, {"3", "1"}, {"%", "&"}, {"1;2", "1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, page, per string) {
		p, pok := pagingValue(page, 1, api.MaxPage)
		n, nok := pagingValue(per, 50, api.MaxPerPage)
		code, b, l := listPage(t, e, page, per)
		if !pok || !nok {
			if code != 400 || errCode(b) != "invalid_paging" {
				t.Fatalf("page=%q per_page=%q: %d %s, want 400 invalid_paging", page, per, code, truncate(b))
			}
			return
		}
		from, to := min((p-1)*n, len(ids)), min(p*n, len(ids)) // in range: no overflow
		if code != 200 || !slices.Equal(listedIDs(l), ids[from:to]) || l.Pagination.Page != p || l.Pagination.PerPage != n {
			t.Fatalf("page=%q per_page=%q: %d %s, want 200 with %v", page, per, code, truncate(b), ids[from:to])
		}
		e.v.check(t)
	})
}

// pagingValue is what a paging parameter means: its default when empty,
// else a decimal integer that must be in 1..max.
func pagingValue(v string, def, max int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return int(n), err == nil && n >= 1 && n <= int64(max)
}

// A Redis outage is the fleet's trouble, not the client's: creating a job
// or answering one answers 503 unavailable with Retry-After and a message
// naming no internal address (the detail is logged), and the same request
// succeeds once Redis is back. Invalid requests are still 400 during the
// outage: they are refused before any Redis call. (Before: 400
// invalid_request quoting "dial tcp 127.0.0.1:…: connection refused".)
func TestRedisOutageIsUnavailable(t *testing.T) {
	e := newEnv(t, func(c *fleet.Config) { c.ChallengeTTL = 5 * time.Minute })
	sock := strings.TrimPrefix(e.f.Redis.URL, "redis-socket://")
	unavailable := func(what string, code int, h http.Header, b []byte) {
		t.Helper()
		if code != 503 || errCode(b) != "unavailable" {
			t.Fatalf("%s during the outage: %d %s, want 503 unavailable", what, code, b)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("%s: Retry-After %q", what, h.Get("Retry-After"))
		}
		for _, internal := range []string{sock, "127.0.0.1", "dial", "connect", "refused", "no such file", "unix", "tcp", "redis:"} {
			if strings.Contains(string(b), internal) {
				t.Errorf("%s: the body names internals (%q): %s", what, internal, b)
			}
		}
	}
	job := map[string]any{"kind": "verify", "id": "outage-1", "user": map[string]string{"id": "u-outage"}, "member": mxbank("challenge")}

	e.f.Redis.Stop(t)
	code, h, b := e.req(t, "POST", "/v1/jobs", token, job)
	unavailable("create", code, h, b)
	code, h, b = e.req(t, "GET", "/v1/jobs/outage-1", token, nil)
	unavailable("get", code, h, b)
	code, h, b = e.req(t, "GET", "/v1/jobs?state=challenged", token, nil)
	unavailable("list", code, h, b)
	code, h, b = e.req(t, "POST", "/v1/jobs/outage-1/answers", token, map[string]any{"answers": map[string]string{"CRD-1": "correct"}})
	unavailable("answer", code, h, b)
	if code, b := e.do(t, "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}}); code != 400 || errCode(b) != "invalid_request" {
		t.Errorf("an invalid job during the outage: %d %s, want 400 invalid_request", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/outage-1/answers", token, map[string]any{"answers": map[string]string{"CRD-1": ""}}); code != 400 || errCode(b) != "invalid_request" {
		t.Errorf("an invalid answer during the outage: %d %s, want 400 invalid_request", code, b)
	}
	if code, b := e.do(t, "GET", "/v1/jobs/-x", token, nil); code != 400 || errCode(b) != "invalid_id" {
		t.Errorf("an invalid id during the outage: %d %s, want 400 invalid_id", code, b)
	}
	e.f.Redis.Start(t)
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 202 {
		t.Fatalf("the same job once Redis is back: %d %s\n%s", code, b, e.log.String())
	}
	v := e.waitFor(t, "outage-1", func(v store.View) bool { return v.State == store.StateChallenged })

	answer := map[string]any{"answers": map[string]string{v.Challenges[0].GUID: "correct"}}
	e.f.Redis.Stop(t)
	code, h, b = e.req(t, "POST", "/v1/jobs/outage-1/answers", token, answer)
	unavailable("answer a challenged job", code, h, b)
	e.f.Redis.Start(t)
	if code, b := e.do(t, "POST", "/v1/jobs/outage-1/answers", token, answer); code != 202 {
		t.Fatalf("the same answer once Redis is back: %d %s", code, b)
	}
	if v := e.waitFor(t, "outage-1", func(v store.View) bool { return v.State.Terminal() }); v.State != store.StateSucceeded {
		t.Fatalf("job after the outages: %+v", v)
	}
	if logs := e.log.String(); !strings.Contains(logs, "job store unavailable") || (e.f.Redis.Real && !strings.Contains(logs, sock)) {
		t.Errorf("the API did not log the failure's detail: %s", logs)
	}
	e.v.check(t)
}

// The HTTP API examples of docs/api.md, run as written against an API started as
// the docs say (MXFLEET_CALLBACK_ALLOW naming the example's callback
// host, MX credentials for widget URLs); without the allowlist the
// example's job is refused with a message naming the variable.
func TestREADMEHTTPExamples(t *testing.T) {
	e := newEnv(t, func(c *fleet.Config) { c.ChallengeTTL = 5 * time.Minute })
	job := `{"kind":"verify","id":"order-1234",
  "user":{"id":"customer-42"},
  "member":{"institution_code":"mxbank","credentials":{"username":"mxuser","password":"challenge"}},
  "callback_url":"https://hooks.example.com/mx","callback_results":true}`
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 400 || errCode(b) != "callback_not_allowed" || !strings.Contains(string(b), "MXFLEET_CALLBACK_ALLOW") {
		t.Fatalf("the example's callback host, not allowed: %d %s", code, b)
	}
	allow, err := fleet.Config{CallbackAllow: "hooks.example.com", CallbackSecret: callbackKey}.Callbacks()
	if err != nil {
		t.Fatal(err)
	}
	mxc, err := mx.New(mx.WithBaseURL(e.f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := institutions.New(mxc, store.New(e.f.Redis.Client, e.f.Keys), 0, zerolog.Nop())
	e.setHandler(api.New(e.f.Client, mxc, api.Config{Tokens: []string{token}, Callbacks: allow, Institutions: dir}, zerolog.Nop()))
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "order-1234", func(v store.View) bool { return v.State == store.StateChallenged })
	if code, b := e.do(t, "GET", "/v1/jobs?state=challenged&page=1&per_page=50", token, nil); code != 200 || !strings.Contains(string(b), `"order-1234"`) {
		t.Fatalf("list: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/order-1234/answers", token, `{"answers":{"`+v.Challenges[0].GUID+`":"correct"}}`); code != 202 {
		t.Fatalf("answer: %d %s", code, b)
	}
	if v := e.waitFor(t, "order-1234", func(v store.View) bool { return v.State.Terminal() }); v.State != store.StateSucceeded {
		t.Fatalf("job: %+v", v)
	}
	testenv.Until(t, testenv.Context(t, 10*time.Second), "the purge done", func() error {
		code, b := e.do(t, "DELETE", "/v1/jobs/order-1234", token, nil)
		if code == 204 {
			return nil
		}
		if code != 409 || errCode(b) != "purge_incomplete" {
			t.Fatalf("purge: %d %s", code, b)
		}
		return fmt.Errorf("purge: %d %s", code, b) // 409: a task of the job is running; purge again
	})
	if code, b := e.do(t, "POST", "/v1/widget_urls", token, `{"user":{"id":"customer-42"}}`); code != 200 {
		t.Fatalf("widget url: %d %s", code, b)
	}
	if code, b := e.do(t, "GET", "/v1/institutions?name=mx%20bank", token, nil); code != 200 || !strings.Contains(string(b), `"mxbank"`) {
		t.Fatalf("institutions: %d %s", code, b)
	}
	if code, b := e.do(t, "GET", "/v1/institutions/mxbank", token, nil); code != 200 || !strings.Contains(string(b), `"PASSWORD"`) {
		t.Fatalf("institution: %d %s", code, b)
	}
	e.v.check(t)
}
