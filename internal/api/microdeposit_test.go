package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// A micro-deposit job over HTTP, woken by MX's microdeposit webhooks (its
// scheduled polls are 30 s apart): submit, the amounts as answers, the
// verified numbers; bad accounts and amounts are 400s.
func TestMicrodepositOverHTTP(t *testing.T) {
	t.Parallel()
	var e *env
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e == nil {
			w.WriteHeader(503)
			return
		}
		req, _ := http.NewRequest("POST", e.url+"/v1/mx/webhooks?token="+webhookSecret, r.Body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(hook.Close)
	e = newEnv(t, func(c *fleet.Config) { c.MicrodepositPoll = 30 * time.Second },
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}),
		mxsim.WithWebhook(hook.URL))
	t.Cleanup(e.f.Sim.Close)
	account := map[string]string{"account_number": "333355555", "routing_number": "091000019", "account_type": "CHECKING",
		"first_name": "Dave", "last_name": "Doe", "email": "dave@example.com"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range account {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"bad routing checksum", map[string]any{"kind": "microdeposit", "user": map[string]string{"id": "u"}, "account": with("routing_number", "091000018")}},
		{"letters in the account number", map[string]any{"kind": "microdeposit", "user": map[string]string{"id": "u"}, "account": with("account_number", "12ab")}},
		{"account type", map[string]any{"kind": "microdeposit", "user": map[string]string{"id": "u"}, "account": with("account_type", "LOAN")}},
		{"no account", map[string]any{"kind": "microdeposit", "user": map[string]string{"id": "u"}}},
		{"account on a verify job", map[string]any{"kind": "verify", "user": map[string]string{"id": "u"}, "account": account}},
		{"member on a microdeposit job", map[string]any{"kind": "microdeposit", "user": map[string]string{"id": "u"}, "account": account, "member": mxbank("correct")}},
	} {
		if code, b := e.do(t, "POST", "/v1/jobs", token, tc.body); code != 400 || errCode(b) != "invalid_request" {
			t.Errorf("%s: %d %s", tc.name, code, b)
		}
	}
	start := time.Now()
	body := map[string]any{"kind": "microdeposit", "id": "md-http", "user": map[string]string{"id": "u-md"}, "account": account}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "md-http", func(v store.View) bool { return v.State != store.StatePending && v.State != store.StateRunning })
	if v.State != store.StateChallenged || len(v.Challenges) != 2 {
		t.Fatalf("want the job waiting for the amounts, got %+v", v)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("deposited after %s: the webhooks did not wake the job (its polls are 30 s apart)", took)
	}
	path := "/v1/jobs/md-http/answers"
	if code, b := e.do(t, "POST", path, token, map[string]any{"answers": map[string]string{job.AmountGUID1: "12", job.AmountGUID2: "0.10"}}); code != 400 || errCode(b) != "invalid_request" {
		t.Errorf("an amount that is none: %d %s", code, b)
	}
	a, b, _ := e.f.Sim.MicrodepositAmounts(v.MemberGUID)
	answers := map[string]string{job.AmountGUID1: fmt.Sprintf("%.2f", a), job.AmountGUID2: fmt.Sprintf("%.2f", b)}
	if code, body := e.do(t, "POST", path, token, map[string]any{"answers": answers}); code != 202 {
		t.Fatalf("answer: %d %s", code, body)
	}
	v = e.waitFor(t, "md-http", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.Result == nil || len(v.Result.AccountNumbers) != 1 ||
		v.Result.AccountNumbers[0].AccountNumber != account["account_number"] || v.Result.AccountNumbers[0].RoutingNumber != account["routing_number"] {
		t.Fatalf("after the right amounts: %+v", v)
	}
}
