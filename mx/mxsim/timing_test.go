package mxsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// Through the API: a run lasts its institution's drawn time (sigma 0 here,
// so exactly the median), a resume its resume time, and an institution
// without a distribution the fixed aggregation time.
func TestAggregationDistributionThroughTheAPI(t *testing.T) {
	e := newEnv(t, mxsim.WithAggregationDistribution(map[string]mxsim.LogNormal{
		"mxbank":             {Median: 7 * time.Second},
		"mxbank_noid/verify": {Median: 11 * time.Second},
	}, 1), mxsim.WithResumeDistribution(map[string]mxsim.LogNormal{"mxbank": {Median: 4 * time.Second}}))
	u := e.createUser("u")
	wait := func(m string, d time.Duration, want string) {
		t.Helper()
		e.clock.Advance(d - time.Millisecond)
		if st := e.status(u, m); !st.IsBeingAggregated {
			t.Fatalf("%v in (1 ms early): %+v", d, st)
		}
		e.clock.Advance(time.Millisecond)
		if st := e.status(u, m); st.ConnectionStatus != want {
			t.Fatalf("%v in: %+v, want %s", d, st, want)
		}
	}
	m := e.createMember(u, "challenge")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	wait(m, 7*time.Second, "CHALLENGED")
	e.answer(u, m, e.status(u, m), "correct")
	wait(m, 4*time.Second, "CONNECTED")

	noid := e.createMemberAt(u, "mxbank_noid", map[string]string{"username": "mxuser", "password": "correct"})
	e.must(200, "POST", "/users/"+u+"/members/"+noid+"/verify", nil)
	wait(noid, 11*time.Second, "CONNECTED")

	other := e.createMemberAt(u, "filler_bank_01", map[string]string{"username": "mxuser", "password": "correct"})
	e.must(200, "POST", "/users/"+u+"/members/"+other+"/verify", nil)
	wait(other, 2*time.Second, "CONNECTED") // newEnv's WithAggregationTime
}

// The webhook timer goes off at the drawn time, not the fixed one.
func TestAggregationDistributionWebhook(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv, mxsim.WithAggregationDistribution(map[string]mxsim.LogNormal{"mxbank": {Median: 400 * time.Millisecond}}, 1))
	u := e.createUser("hook-user")
	m := e.createMember(u, "correct")
	start := time.Now()
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "CONNECTED"})
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("CONNECTED webhook %v after the verify, before the drawn 400ms (the fixed time is 30ms)", d)
	}
}
