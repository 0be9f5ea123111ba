package mxsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// microdeposit is the simulator's micro-deposit answer as these tests read it.
type microdeposit struct {
	GUID            string  `json:"guid"`
	AccountName     string  `json:"account_name"`
	AccountNumber   string  `json:"account_number"`
	AccountType     string  `json:"account_type"`
	Email           string  `json:"email"`
	FirstName       string  `json:"first_name"`
	LastName        string  `json:"last_name"`
	RoutingNumber   string  `json:"routing_number"`
	InstitutionCode string  `json:"institution_code"`
	Status          string  `json:"status"`
	ErrorMessage    *string `json:"error_message"`
	UpdatedAt       string  `json:"updated_at"`
	VerifiedAt      *string `json:"verified_at"`
}

func mdBody(fields map[string]any) map[string]any { return map[string]any{"micro_deposit": fields} }

func validMD() map[string]any {
	return map[string]any{"account_name": "My test account", "account_number": "333312345", "account_type": "CHECKING",
		"email": "josh@example.com", "first_name": "Josh", "last_name": "Grobanne", "routing_number": "091000019"}
}

func (e *env) createMD(u string, fields map[string]any) microdeposit {
	e.t.Helper()
	var out struct {
		MicroDeposit microdeposit `json:"micro_deposit"`
	}
	e.must(200, "POST", "/users/"+u+"/micro_deposits", mdBody(fields)).into(e.t, &out)
	return out.MicroDeposit
}

func (e *env) readMD(u, guid string) microdeposit {
	e.t.Helper()
	var out struct {
		MicroDeposit microdeposit `json:"micro_deposit"`
	}
	e.must(200, "GET", "/users/"+u+"/micro_deposits/"+guid, nil).into(e.t, &out)
	return out.MicroDeposit
}

func (e *env) verifyMD(want int, guid string, a1, a2 float64) microdeposit {
	e.t.Helper()
	var out struct {
		MicroDeposit microdeposit `json:"micro_deposit"`
	}
	r := e.must(want, "PUT", "/micro_deposits/"+guid+"/verify", mdBody(map[string]any{"deposit_amount_1": a1, "deposit_amount_2": a2}))
	if want == 200 {
		r.into(e.t, &out)
	}
	return out.MicroDeposit
}

// amounts reads the deposited amounts at the simulator's /_sim/ route.
func (e *env) amounts(guid string) (float64, float64) {
	e.t.Helper()
	var out struct {
		A1 float64 `json:"deposit_amount_1"`
		A2 float64 `json:"deposit_amount_2"`
	}
	r := e.send(e.newRequest("GET", "/_sim/micro_deposits/"+guid, nil))
	if r.status != 200 {
		e.t.Fatalf("/_sim/micro_deposits: %d %s", r.status, r.body)
	}
	r.into(e.t, &out)
	if out.A1 <= 0 || out.A1 >= 1 || out.A2 <= 0 || out.A2 >= 1 || out.A1 == out.A2 {
		e.t.Fatalf("amounts %v %v", out.A1, out.A2)
	}
	return out.A1, out.A2
}

// TestMicrodepositsConformance runs the whole micro-deposit flow in both
// versions, every exchange checked against that version's spec.
func TestMicrodepositsConformance(t *testing.T) {
	sc := checkedVersions(t, microdepositFlow)
	sc.Report(t, "createMicrodeposit", "readUserMicrodeposit", "listUserMicrodeposits", "verifyMicrodeposit", "deleteMicrodeposit")
	if sc.Violations() != 0 {
		t.Fatalf("%d violations", sc.Violations())
	}
}

// microdepositFlow: statuses in MX's order, right amounts, wrong amounts up
// to PREVENTED, ERRORED, expiry, list and delete.
func microdepositFlow(e *env) {
	t := e.t
	u := e.createUser("md-" + e.version)
	md := e.createMD(u, validMD())
	if md.Status != "INITIATED" || !strings.HasPrefix(md.GUID, "MIC-") || md.AccountNumber != "333312345" || md.RoutingNumber != "091000019" ||
		md.AccountType != "CHECKING" || md.InstitutionCode != "mxbank" || md.ErrorMessage != nil || md.VerifiedAt != nil {
		t.Fatalf("created: %+v", md)
	}
	e.verifyMD(409, md.GUID, 0.01, 0.02) // not DEPOSITED yet
	steps := []struct {
		after time.Duration
		want  string
	}{{59 * time.Second, "INITIATED"}, {time.Second, "REQUESTED"}, {119 * time.Second, "REQUESTED"}, {time.Second, "DEPOSITED"}}
	for _, s := range steps {
		e.clock.Advance(s.after)
		if got := e.readMD(u, md.GUID); got.Status != s.want {
			t.Fatalf("after %v: %s, want %s", s.after, got.Status, s.want)
		}
	}
	a1, a2 := e.amounts(md.GUID)
	// The verdict is on the next read (verifyMicrodeposit's description:
	// "Poll the read microdeposit endpoint until you see this status").
	got := e.verifyMD(200, md.GUID, a2, a1) // either order
	if got.Status != "DEPOSITED" || got.VerifiedAt != nil {
		t.Fatalf("verify's answer: %+v", got)
	}
	if got := e.readMD(u, md.GUID); got.Status != "VERIFIED" || got.VerifiedAt == nil || got.ErrorMessage != nil {
		t.Fatalf("verified: %+v", got)
	}
	e.verifyMD(409, md.GUID, a1, a2) // already VERIFIED

	// wrong amounts: DENIED, and MX takes amounts again (MX's Connect
	// widget); PREVENTED at the third
	wrong := e.createMD(u, validMD())
	e.clock.Advance(3 * time.Minute)
	w1, w2 := e.amounts(wrong.GUID)
	// off is an amount a cent off a.
	off := func(a float64) float64 {
		if a >= 0.99 {
			return a - 0.01
		}
		return a + 0.01
	}
	bad := off(w1)
	before := "DEPOSITED"
	for i, want := range []string{"DENIED", "DENIED", "PREVENTED"} {
		if got := e.verifyMD(200, wrong.GUID, bad, w2); got.Status != before {
			t.Fatalf("wrong attempt %d, answer: %+v", i+1, got)
		}
		got := e.readMD(u, wrong.GUID)
		if got.Status != want || got.ErrorMessage == nil {
			t.Fatalf("wrong attempt %d: %+v", i+1, got)
		}
		if strings.Contains(*got.ErrorMessage, "0.") {
			t.Fatalf("error message quotes an amount: %q", *got.ErrorMessage)
		}
		before = want
	}
	e.verifyMD(409, wrong.GUID, w1, w2) // PREVENTED: the process can no longer continue

	// a wrong pair, then the right one; a verify settles the verdict
	// before it (no read between them)
	again := e.createMD(u, validMD())
	e.clock.Advance(3 * time.Minute)
	g1, g2 := e.amounts(again.GUID)
	e.verifyMD(200, again.GUID, off(g1), g2)
	if got := e.verifyMD(200, again.GUID, g1, g2); got.Status != "DENIED" {
		t.Fatalf("right pair after a wrong one, answer: %+v", got)
	}
	if got := e.readMD(u, again.GUID); got.Status != "VERIFIED" {
		t.Fatalf("right pair after a wrong one: %+v", got)
	}

	// accounts beginning 33339: the verdict in the verify's answer
	now := validMD()
	now["account_number"] = "333391234"
	inAnswer := e.createMD(u, now)
	e.clock.Advance(3 * time.Minute)
	n1, n2 := e.amounts(inAnswer.GUID)
	if got := e.verifyMD(200, inAnswer.GUID, off(n1), n2); got.Status != "DENIED" {
		t.Fatalf("wrong pair, verdict in the answer: %+v", got)
	}
	if got := e.verifyMD(200, inAnswer.GUID, n1, n2); got.Status != "VERIFIED" || got.VerifiedAt == nil {
		t.Fatalf("right pair, verdict in the answer: %+v", got)
	}

	// an account number MX's integration environment does not take as valid
	errored := validMD()
	errored["account_number"] = "1234567"
	er := e.createMD(u, errored)
	e.clock.Advance(3 * time.Minute)
	if got := e.readMD(u, er.GUID); got.Status != "ERRORED" || got.ErrorMessage == nil {
		t.Fatalf("errored: %+v", got)
	}

	// MX soft-deletes what waits 21 days; VERIFIED and failed ones stay
	waiting := e.createMD(u, validMD())
	e.clock.Advance(21 * 24 * time.Hour)
	e.must(404, "GET", "/users/"+u+"/micro_deposits/"+waiting.GUID, nil)
	e.must(404, "PUT", "/micro_deposits/"+waiting.GUID+"/verify", mdBody(map[string]any{"deposit_amount_1": 0.01, "deposit_amount_2": 0.02}))
	var list struct {
		MicroDeposits []microdeposit `json:"micro_deposits"`
		Pagination    struct {
			TotalEntries int `json:"total_entries"`
		}
	}
	e.must(200, "GET", "/users/"+u+"/micro_deposits", nil).into(t, &list)
	statuses := map[string]string{}
	for _, m := range list.MicroDeposits {
		statuses[m.GUID] = m.Status
	}
	if len(statuses) != 5 || statuses[md.GUID] != "VERIFIED" || statuses[wrong.GUID] != "PREVENTED" || statuses[er.GUID] != "ERRORED" {
		t.Fatalf("list: %v", statuses)
	}
	e.must(204, "DELETE", "/users/"+u+"/micro_deposits/"+md.GUID, nil)
	e.must(404, "GET", "/users/"+u+"/micro_deposits/"+md.GUID, nil)
	e.must(404, "DELETE", "/users/"+u+"/micro_deposits/"+md.GUID, nil)
	other := e.createUser("md-other-" + e.version)
	e.must(404, "GET", "/users/"+other+"/micro_deposits/"+wrong.GUID, nil) // another user's
	e.must(404, "GET", "/users/USR-nope/micro_deposits", nil)
}

// TestMicrodepositValidation: what MX's integration environment refuses
// (docs.mx.com/nexus/microdeposits/api-testing) is a 400 that never repeats
// a number; only email and names pre-initiate.
func TestMicrodepositValidation(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("md-valid")
	with := func(k string, v any) map[string]any {
		m := validMD()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"no account number", with("account_number", nil)},
		{"no routing number", with("routing_number", nil)},
		{"no account type", with("account_type", nil)},
		{"bad checksum", with("routing_number", "091000018")},
		{"named as refused 222222226", with("routing_number", "222222226")},
		{"named as refused 021000021", with("routing_number", "021000021")},
		{"short routing", with("routing_number", "09100001")},
		{"account number too long", with("account_number", "333312345678901234")},
		{"account number not digits", with("account_number", "3333ABC")},
		{"account type not CHECKING or SAVINGS", with("account_type", "LOAN")},
		{"special character in a name", with("first_name", "D#ve")},
		{"long last name", with("last_name", strings.Repeat("a", 51))},
		{"bad email", with("email", "not-an-email")},
		{"long account name", with("account_name", strings.Repeat("a", 51))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in("")
			e.t = t
			r := e.must(400, "POST", "/users/"+u+"/micro_deposits", mdBody(tc.body))
			for _, k := range []string{"account_number", "routing_number"} {
				if v, _ := tc.body[k].(string); len(v) > 3 && strings.Contains(string(r.body), v) {
					t.Fatalf("error repeats %s: %s", k, r.body)
				}
			}
		})
	}
	e.must(400, "POST", "/users/"+u+"/micro_deposits", map[string]any{})
	e.must(400, "POST", "/users/"+u+"/micro_deposits", "{")
	pre := e.createMD(u, map[string]any{"email": "p@example.com", "first_name": "Pat", "last_name": "Lee"})
	if pre.Status != "PREINITIATED" {
		t.Fatalf("pre-initiated: %+v", pre)
	}
	e.clock.Advance(time.Hour)
	if got := e.readMD(u, pre.GUID); got.Status != "PREINITIATED" {
		t.Fatalf("pre-initiated later: %+v", got)
	}
	md := e.createMD(u, with("account_type", "SAVINGS"))
	e.must(400, "PUT", "/micro_deposits/"+md.GUID+"/verify", mdBody(map[string]any{"deposit_amount_1": 0.1}))
	e.must(400, "PUT", "/micro_deposits/"+md.GUID+"/verify", `{"micro_deposit":{"deposit_amount_1":"0.12x"`)
	if r := e.send(e.newRequest("GET", "/_sim/micro_deposits/MIC-nope", nil)); r.status != 404 {
		t.Fatalf("/_sim/ unknown: %d", r.status)
	}
}

// TestMicrodepositShapes: the fields of the answer, in both versions, as
// the spec's MicrodepositResponse and MicrodepositElements name them.
func TestMicrodepositShapes(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t).in(version)
			u := e.createUser("shape")
			r := e.must(200, "POST", "/users/"+u+"/micro_deposits", mdBody(validMD()))
			// both specs declare application/json for these answers (v20111101's
			// other operations declare application/vnd.mx.api.v1+json)
			if ct := r.header.Get("Content-Type"); ct != jsonType {
				t.Fatalf("content type %q", ct)
			}
			obj, _ := r.obj(t)["micro_deposit"].(map[string]any)
			for _, k := range []string{"account_name", "account_number", "account_type", "email", "first_name", "last_name",
				"routing_number", "error_message", "guid", "institution_code", "institution_name", "status", "updated_at", "verified_at"} {
				if _, has := obj[k]; !has {
					t.Errorf("no %s in %v", k, obj)
				}
			}
			if obj["error_message"] != nil || obj["verified_at"] != nil {
				t.Errorf("nullable fields: %v", obj)
			}
			other := validMD()
			other["routing_number"] = "011000015" // not MX Bank: no institution
			r = e.must(200, "POST", "/users/"+u+"/micro_deposits", mdBody(other))
			obj, _ = r.obj(t)["micro_deposit"].(map[string]any)
			if _, has := obj["institution_code"]; has {
				t.Errorf("institution for an unknown routing number: %v", obj)
			}
		})
	}
}

// TestMicrodepositWebhooks: MX's microdeposit webhook, "created" and then
// "updated" at each status change, with real (short) timing.
func TestMicrodepositWebhooks(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	sim := mxsim.New(mxsim.WithWebhook(rcv.srv.URL),
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 20 * time.Millisecond, Deposit: 20 * time.Millisecond}))
	t.Cleanup(sim.Close)
	e := &env{t: t, sim: sim, srv: newServer(t, sim)}
	u := e.createUser("md-hooks")
	md := e.createMD(u, validMD())
	want := []struct{ action, status string }{{"created", "INITIATED"}, {"updated", "REQUESTED"}, {"updated", "DEPOSITED"}}
	ids := map[string]float64{"INITIATED": 0, "REQUESTED": 1, "DEPOSITED": 2, "VERIFIED": 3}
	check := func(h hook, action, status string) {
		t.Helper()
		m, _ := h.body["micro_deposit"].(map[string]any)
		if h.str("action") != action || h.body["version"] != float64(1) || m["guid"] != md.GUID || m["status_name"] != status ||
			m["status"] != ids[status] || m["account_type"] != float64(1) || m["user_guid"] != u || m["user_id"] != "md-hooks" ||
			m["routing_number"] != "091000019" || m["account_number"] != "333312345" || m["created_at"] == nil || m["updated_at"] == nil {
			t.Fatalf("webhook %v, want %s %s", h.body, action, status)
		}
	}
	for _, w := range want {
		check(rcv.next(), w.action, w.status)
	}
	a1, a2, okay := sim.MicrodepositAmounts(md.GUID)
	if !okay {
		t.Fatal("no amounts")
	}
	e.verifyMD(200, md.GUID, a1, a2)
	h := rcv.next()
	check(h, "updated", "VERIFIED")
	if m, _ := h.body["micro_deposit"].(map[string]any); m["verified_at"] == nil {
		t.Fatalf("verified_at: %v", h.body)
	}
	rcv.none(100 * time.Millisecond)
}
