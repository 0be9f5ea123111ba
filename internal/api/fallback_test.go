package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// A verify job with a fallback_account over HTTP at an institution
// without instant verification: it falls back to micro-deposits (via
// microdeposit, kind verify), takes the amounts as answers and succeeds
// with the verified numbers. The fallback is refused on identify, follow
// and microdeposit jobs, and checked as a microdeposit job's account.
func TestVerifyFallbackOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *fleet.Config) { c.MicrodepositPoll, c.MicrodepositDeadline = 200*time.Millisecond, time.Minute },
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}))
	account := map[string]string{"account_number": "333366666", "routing_number": "091000019", "account_type": "SAVINGS"}
	noVerify := map[string]any{"institution_code": "mxbank_noverify", "credentials": map[string]string{"username": "mxuser", "password": "correct"}}
	user := map[string]string{"id": "u-fb"}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"bad routing checksum", map[string]any{"kind": "verify", "user": user, "member": noVerify,
			"fallback_account": map[string]string{"account_number": "333366666", "routing_number": "091000018", "account_type": "SAVINGS"}}},
		{"identify", map[string]any{"kind": "identify", "user": user, "member": noVerify, "fallback_account": account}},
		{"follow", map[string]any{"kind": "follow", "user": user, "member": map[string]any{"guid": "MBR-1"}, "fallback_account": account}},
		{"microdeposit", map[string]any{"kind": "microdeposit", "user": user, "account": account, "fallback_account": account}},
	} {
		code, b := e.do(t, "POST", "/v1/jobs", token, tc.body)
		if code != 400 || errCode(b) != "invalid_request" || !strings.Contains(string(b), "fallback_account") {
			t.Errorf("%s: %d %s", tc.name, code, b)
		}
		if strings.Contains(string(b), "333366666") {
			t.Errorf("%s: the error quotes the account number: %s", tc.name, b)
		}
	}
	body := map[string]any{"kind": "verify", "id": "fb-http", "user": user, "member": noVerify, "fallback_account": account}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 || !strings.Contains(string(b), `"fallback":"microdeposit"`) {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "fb-http", func(v store.View) bool { return v.State != store.StatePending && v.State != store.StateRunning })
	if v.State != store.StateChallenged || v.Kind != store.KindVerify || v.Via != store.KindMicrodeposit ||
		!strings.HasPrefix(v.MemberGUID, "MIC-") || !strings.HasPrefix(v.InstantMemberGUID, "MBR-") || len(v.Challenges) != 2 {
		t.Fatalf("want the job fallen back and waiting for the amounts, got %+v", v)
	}
	a, b, _ := e.f.Sim.MicrodepositAmounts(v.MemberGUID)
	answers := map[string]string{job.AmountGUID1: fmt.Sprintf("%.2f", a), job.AmountGUID2: fmt.Sprintf("%.2f", b)}
	if code, body := e.do(t, "POST", "/v1/jobs/fb-http/answers", token, map[string]any{"answers": answers}); code != 202 {
		t.Fatalf("answer: %d %s", code, body)
	}
	v = e.waitFor(t, "fb-http", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.Via != store.KindMicrodeposit || v.Result == nil || len(v.Result.AccountNumbers) != 1 ||
		v.Result.AccountNumbers[0].AccountNumber != account["account_number"] || v.Result.AccountNumbers[0].RoutingNumber != account["routing_number"] {
		t.Fatalf("after the right amounts: %+v", v)
	}
	// The same request again is the same job; another account is a conflict.
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 200 {
		t.Errorf("the same request again: %d %s", code, b)
	}
	other := map[string]any{"kind": "verify", "id": "fb-http", "user": user, "member": noVerify}
	if code, b := e.do(t, "POST", "/v1/jobs", token, other); code != 409 || !strings.Contains(string(b), "fallback_account") {
		t.Errorf("the same id without the fallback: %d %s", code, b)
	}
}
