package mxsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// hook is a webhook as received.
type hook struct {
	query       string
	contentType string
	callback    string // X-CALLBACK-PAYLOAD
	body        map[string]any
}

func (h hook) str(k string) string { s, _ := h.body[k].(string); return s }

// receiver is a webhook endpoint that hands what it receives to a channel.
type receiver struct {
	t    *testing.T
	srv  *httptest.Server
	got  chan hook
	fail bool
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{t: t, got: make(chan hook, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		if req.Method != http.MethodPost || json.Unmarshal(b, &body) != nil {
			t.Errorf("webhook: %s %s", req.Method, b)
		}
		r.got <- hook{query: req.URL.RawQuery, contentType: req.Header.Get("Content-Type"), callback: req.Header.Get("X-CALLBACK-PAYLOAD"), body: body}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next waits for the next webhook.
func (r *receiver) next() hook {
	r.t.Helper()
	select {
	case h := <-r.got:
		return h
	case <-time.After(5 * time.Second):
		r.t.Fatal("no webhook arrived")
		return hook{}
	}
}

// none checks that no webhook arrives for d.
func (r *receiver) none(d time.Duration) {
	r.t.Helper()
	select {
	case h := <-r.got:
		r.t.Fatalf("unexpected webhook %v", h.body)
	case <-time.After(d):
	}
}

// expect waits for the next webhook and checks its type and fields.
func (r *receiver) expect(typ string, fields map[string]any) hook {
	r.t.Helper()
	h := r.next()
	if h.str("type") != typ {
		r.t.Fatalf("webhook type %q, want %s: %v", h.str("type"), typ, h.body)
	}
	for k, want := range fields {
		if got := h.body[k]; got != want {
			r.t.Fatalf("%s webhook %s = %v (%T), want %v: %v", typ, k, got, got, want, h.body)
		}
	}
	return h
}

// realEnv is a simulator on the real clock, whose webhooks go to rcv.
func realEnv(t *testing.T, rcv *receiver, opts ...mxsim.Option) *env {
	t.Helper()
	sim := mxsim.New(append([]mxsim.Option{mxsim.WithAggregationTime(30 * time.Millisecond),
		mxsim.WithWebhook(rcv.srv.URL + "/mx/hooks?token=s3cret&x=1")}, opts...)...)
	t.Cleanup(sim.Close)
	return &env{t: t, sim: sim, srv: newServer(t, sim)}
}

// waitStat waits for a Stats call counter to reach n.
func waitStat(t *testing.T, sim *mxsim.Server, op string, n int) {
	t.Helper()
	testenv.Until(t, testenv.Context(t, 10*time.Second), fmt.Sprintf("%d %s", n, op), func() error {
		if calls := sim.Stats().Calls; calls[op] < n {
			return fmt.Errorf("stats %v", calls)
		}
		return nil
	})
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func TestWebhooksVerify(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv)
	u := e.createUser("hook-user")
	m := e.createMember(u, "correct")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	// nobody reads the member: the timer applies the outcome
	h := rcv.expect("MEMBER", map[string]any{"action": "UPDATED", "guid": m, "member_guid": m, "user_guid": u,
		"user_id": "hook-user", "id": nil, "institution_code": "mxbank", "connection_status": "CONNECTED",
		"connection_status_id": 6.0, "connection_status_message": "Connected to MX Bank", "is_being_aggregated": false})
	if h.query != "token=s3cret&x=1" || h.contentType != "application/json; charset=utf-8" {
		t.Fatalf("query %q, content type %q", h.query, h.contentType)
	}
	for _, k := range []string{"aggregated_at", "created_at"} {
		if v, ok := h.body[k].(float64); !ok || v < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Fatalf("%s: %v", k, h.body[k])
		}
	}
	v := rcv.expect("VERIFICATION", map[string]any{"action": "member_data_updated", "member_guid": m,
		"user_guid": u, "user_id": "hook-user"})
	if _, bg := v.body["is_background"]; bg || !dateRE.MatchString(v.str("completed_on")) || v.body["completed_at"] == nil {
		t.Fatalf("verification webhook: %v", v.body)
	}
	accounts, _ := v.body["accounts"].([]any)
	if len(accounts) != 2 {
		t.Fatalf("accounts: %v", v.body["accounts"])
	}
	nums, _ := e.list("/users/"+u+"/members/"+m+"/account_numbers", "account_numbers")
	for _, n := range nums {
		if !slices.Contains(accounts, n["account_guid"]) {
			t.Fatalf("account number of %v not in the webhook's accounts %v", n["account_guid"], accounts)
		}
	}
	waitStat(t, e.sim, "webhook_sent", 2)
	rcv.none(100 * time.Millisecond) // a CONNECTED verify sends exactly two
	if st := e.sim.Stats().Calls; st["webhook_failed"] != 0 {
		t.Fatalf("stats: %v", st)
	}
}

func TestWebhooksAggregateOnCreate(t *testing.T) {
	rcv := newReceiver(t, http.StatusNoContent)
	e := realEnv(t, rcv)
	u := e.createUser("")
	var out struct{ Member member }
	e.must(202, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mxbank",
		"id": "partner-member-1", "credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "correct"})}}).into(t, &out)
	m := out.Member.GUID
	rcv.expect("MEMBER", map[string]any{"member_guid": m, "user_id": nil, "id": "partner-member-1", "connection_status": "CONNECTED"})
	rcv.expect("AGGREGATION", map[string]any{"action": "member_data_updated", "member_guid": m, "is_background": false})
	waitStat(t, e.sim, "webhook_sent", 2)
}

func TestWebhooksChallenge(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv, mxsim.WithMFAWindow(300*time.Millisecond))
	u := e.createUser("c")
	m := e.createMember(u, "challenge")
	path := "/users/" + u + "/members/" + m
	e.must(200, "POST", path+"/verify", nil)
	rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "CHALLENGED", "connection_status_id": 3.0})
	rcv.expect("CONNECTION_STATUS", map[string]any{"action": "CHANGED", "member_guid": m, "user_guid": u,
		"connection_status": "CHALLENGED", "connection_status_id": 3.0,
		"connection_status_message": "MX Bank needs more information to connect"})
	e.answer(u, m, e.status(u, m), "correct")
	rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "CONNECTED"})
	rcv.expect("VERIFICATION", map[string]any{"member_guid": m})

	// left unanswered, the challenge expires by itself
	m2 := e.createMember(u, "challenge+2")
	e.must(202, "POST", "/users/"+u+"/members/"+m2+"/identify", nil)
	rcv.expect("MEMBER", map[string]any{"member_guid": m2, "connection_status": "CHALLENGED"})
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": m2, "connection_status": "CHALLENGED"})
	rcv.expect("MEMBER", map[string]any{"member_guid": m2, "connection_status": "EXPIRED", "connection_status_id": 19.0})
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": m2, "connection_status": "EXPIRED"})

	// a failure without MFA
	m3 := e.createMember(u, "LOCKED")
	e.must(200, "POST", "/users/"+u+"/members/"+m3+"/verify", nil)
	rcv.expect("MEMBER", map[string]any{"member_guid": m3, "connection_status": "LOCKED", "connection_status_id": 5.0})
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": m3, "connection_status": "LOCKED"})
	rcv.none(100 * time.Millisecond)
}

// A read that applies an outcome (here on a clock the test moves, which
// timers cannot follow) sends the same webhooks.
func TestWebhooksFromReads(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := newEnv(t, mxsim.WithWebhook(rcv.srv.URL))
	t.Cleanup(e.sim.Close)
	u := e.createUser("r")
	m := e.createMember(u, "DEGRADED")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	rcv.none(50 * time.Millisecond)
	if st := e.finish(u, m); st.ConnectionStatus != "DEGRADED" {
		t.Fatalf("%+v", st)
	}
	rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "DEGRADED", "connection_status_id": 9.0})
	if st := e.status(u, m); st.ConnectionStatus != "DEGRADED" {
		t.Fatalf("%+v", st)
	}
	rcv.none(50 * time.Millisecond) // applied once, sent once
}

func TestWebhookFailuresCounted(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError)
	e := realEnv(t, rcv)
	u := e.createUser("f")
	m := e.createMember(u, "UNAUTHORIZED")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	rcv.expect("MEMBER", map[string]any{"connection_status": "DENIED"})
	rcv.expect("CONNECTION_STATUS", map[string]any{"connection_status": "DENIED"})
	waitStat(t, e.sim, "webhook_failed", 2)
	rcv.none(100 * time.Millisecond) // one attempt each
	if st := e.sim.Stats().Calls; st["webhook_sent"] != 0 {
		t.Fatalf("stats: %v", st)
	}

	// nobody listening
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	sim := mxsim.New(mxsim.WithAggregationTime(10*time.Millisecond), mxsim.WithWebhook(url))
	t.Cleanup(sim.Close)
	e2 := &env{t: t, sim: sim, srv: newServer(t, sim)}
	u2 := e2.createUser("d")
	e2.must(200, "POST", "/users/"+u2+"/members/"+e2.createMember(u2, "correct")+"/verify", nil)
	waitStat(t, sim, "webhook_failed", 2)
}

func TestWebhooksClose(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	sim := mxsim.New(mxsim.WithAggregationTime(150*time.Millisecond), mxsim.WithWebhook(rcv.srv.URL))
	e := &env{t: t, sim: sim, srv: newServer(t, sim)}
	u := e.createUser("x")
	m := e.createMember(u, "correct")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	m2 := e.createMember(u, "challenge")
	e.must(200, "POST", "/users/"+u+"/members/"+m2+"/verify", nil)
	sim.Close()
	sim.Close() // idempotent
	rcv.none(400 * time.Millisecond)
	// the API still works, lazily, without webhooks
	if st := e.status(u, m); st.ConnectionStatus != "CONNECTED" {
		t.Fatalf("%+v", st)
	}
	e.must(202, "POST", "/users/"+u+"/members/"+m+"/aggregate", nil)
	rcv.none(300 * time.Millisecond)
	if st := sim.Stats().Calls; st["webhook_sent"]+st["webhook_failed"] != 0 {
		t.Fatalf("stats: %v", st)
	}
	mxsim.New().Close() // without webhooks
}

// A deleted member's timer does nothing.
func TestWebhooksDeletedMember(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv, mxsim.WithAggregationTime(100*time.Millisecond))
	u := e.createUser("del")
	m := e.createMember(u, "correct")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	e.must(204, "DELETE", "/users/"+u+"/members/"+m, nil)
	u2 := e.createUser("del2")
	m2 := e.createMember(u2, "correct")
	e.must(200, "POST", "/users/"+u2+"/members/"+m2+"/verify", nil)
	e.must(204, "DELETE", "/users/"+u2, nil)
	rcv.none(300 * time.Millisecond)
}

// Close aborts a delivery in flight and returns without waiting for the
// receiver's timeout; nothing is counted or sent afterwards.
func TestWebhooksCloseAbortsDelivery(t *testing.T) {
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	sim := mxsim.New(mxsim.WithAggregationTime(10*time.Millisecond), mxsim.WithWebhook(slow.URL))
	e := &env{t: t, sim: sim, srv: newServer(t, sim)}
	u := e.createUser("slow")
	e.must(200, "POST", "/users/"+u+"/members/"+e.createMember(u, "correct")+"/verify", nil)
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook arrived")
	}
	start := time.Now()
	sim.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	select {
	case <-arrived:
		t.Fatal("a webhook after Close")
	case <-time.After(200 * time.Millisecond):
	}
	if st := sim.Stats().Calls; st["webhook_sent"]+st["webhook_failed"] != 0 {
		t.Fatalf("stats: %v", st)
	}
}
