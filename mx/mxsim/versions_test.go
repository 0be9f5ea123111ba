package mxsim_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// createV2 creates an mxbank-like member in v20250224 with a data request
// (nil: none) and returns the answer.
func (e *env) createV2(u, inst, password string, products []string, header http.Header) resp {
	e.t.Helper()
	body := map[string]any{"member": map[string]any{"institution_code": inst,
		"credentials": e.credentials(inst, map[string]string{"username": "mxuser", "password": password})}}
	if products != nil {
		body["data_request"] = map[string]any{"products": products}
	}
	req := e.apiRequest("POST", "/users/"+u+"/members", body)
	maps.Copy(req.Header, header)
	return e.send(req)
}

func TestCreateMemberProducts(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	path := func(m string) string { return "/users/" + u + "/members/" + m }
	created := func(r resp, want int) member {
		t.Helper()
		if r.status != want {
			t.Fatalf("create: %d, want %d: %s", r.status, want, r.body)
		}
		var out struct{ Member member }
		r.into(t, &out)
		return out.Member
	}

	// account_verification: the verify job starts at once (202); /verify
	// is then a no-op (202, the same job type is running), /identify a 409
	m := created(e.createV2(u, "mxbank", "correct", []string{"account_verification"}, nil), 202)
	if !m.IsBeingAggregated || m.ConnectionStatus != "CREATED" {
		t.Fatalf("verification requested: %+v", m)
	}
	var again struct{ Member member }
	e.must(202, "POST", path(m.GUID)+"/verify", nil).into(t, &again)
	if !again.Member.IsBeingAggregated || again.Member.ConnectionStatus != "CREATED" {
		t.Fatalf("verify while verifying: %+v", again.Member)
	}
	e.must(409, "POST", path(m.GUID)+"/identify", nil)
	e.must(409, "POST", path(m.GUID)+"/aggregate", nil)
	if st := e.finish(u, m.GUID); st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
		t.Fatalf("verified: %+v", st)
	}
	if nums, _ := e.list(path(m.GUID)+"/account_numbers", "account_numbers"); len(nums) != 2 {
		t.Fatalf("numbers: %v", nums)
	}
	if st := e.sim.Stats(); st.Members[m.GUID]["verifyMember"] != 1 || st.Calls["createMember"] != 1 {
		t.Fatalf("stats: %+v", st)
	}

	// identity_verification: the identify job
	m = created(e.createV2(u, "mxbank", "correct+2", []string{"identity_verification", "transactions"}, nil), 202)
	e.must(202, "POST", path(m.GUID)+"/identify", nil)
	e.must(409, "POST", path(m.GUID)+"/verify", nil)
	e.finish(u, m.GUID)
	if owners, _ := e.list(path(m.GUID)+"/account_owners", "account_owners"); len(owners) != 2 {
		t.Fatalf("owners: %v", owners)
	}

	// both: one verify job, whose results hold numbers and owners
	m = created(e.createV2(u, "mxbank", "correct+3", []string{"account_verification", "identity_verification"}, nil), 202)
	e.must(202, "POST", path(m.GUID)+"/verify", nil)
	e.must(409, "POST", path(m.GUID)+"/identify", nil)
	e.finish(u, m.GUID)
	nums, _ := e.list(path(m.GUID)+"/account_numbers", "account_numbers")
	owners, _ := e.list(path(m.GUID)+"/account_owners", "account_owners")
	if len(nums) != 2 || len(owners) != 2 {
		t.Fatalf("both: %d numbers, %d owners", len(nums), len(owners))
	}

	// other products, or no data request: a standard aggregation
	for i, products := range [][]string{{"transactions"}, {"statements", "rewards"}, nil} {
		m = created(e.createV2(u, "mxbank", "correct+agg"+itoa(i), products, nil), 202)
		if !m.IsBeingAggregated {
			t.Fatalf("%v: %+v", products, m)
		}
		e.must(202, "POST", path(m.GUID)+"/aggregate", nil)
		e.must(409, "POST", path(m.GUID)+"/verify", nil)
		e.finish(u, m.GUID)
	}

	// an empty products list starts nothing (200)
	m = created(e.createV2(u, "mxbank", "correct+idle", []string{}, nil), 200)
	if m.IsBeingAggregated || m.ConnectionStatus != "CREATED" {
		t.Fatalf("idle: %+v", m)
	}

	// a product the institution does not support: 201, created, no job for it
	m = created(e.createV2(u, "mxbank_noid", "correct", []string{"identity_verification"}, nil), 201)
	if m.IsBeingAggregated || m.ConnectionStatus != "CREATED" {
		t.Fatalf("unsupported: %+v", m)
	}
	if st := e.finish(u, m.GUID); st.ConnectionStatus != "CREATED" || st.IsBeingAggregated {
		t.Fatalf("unsupported later: %+v", st)
	}
	m = created(e.createV2(u, "mxbank_noid", "correct+2", []string{"account_verification", "identity_verification"}, nil), 201)
	if !m.IsBeingAggregated {
		t.Fatalf("verification still runs: %+v", m)
	}
	e.must(202, "POST", path(m.GUID)+"/verify", nil)

	// refusals create nothing
	before, _ := e.list("/users/"+u+"/members?records_per_page=100", "members")
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"member": map[string]any{"institution_code": "mxbank", "skip_aggregation": true,
			"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "p1"})}},
			"skip_aggregation is not a field of v20250224; use data_request.products"},
		{map[string]any{"member": map[string]any{"institution_code": "mxbank", "skip_aggregation": false,
			"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "p2"})}},
			"skip_aggregation is not a field of v20250224"},
		{map[string]any{"member": map[string]any{"institution_code": "mxbank",
			"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "p3"})},
			"data_request": map[string]any{"products": []string{"account_verification", "payments"}}}, `payments\" is not one of`},
		{map[string]any{"member": map[string]any{"institution_code": "mxbank",
			"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "p4"})},
			"data_request": map[string]any{}}, "data_request.products is required"},
	} {
		r := e.must(400, "POST", "/users/"+u+"/members", tc.body)
		if !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%v: %s, want %s", tc.body, r.body, tc.want)
		}
	}
	if after, _ := e.list("/users/"+u+"/members?records_per_page=100", "members"); len(after) != len(before) {
		t.Fatalf("refusals created members: %d -> %d", len(before), len(after))
	}
}

func TestCreateMemberV1(t *testing.T) {
	e := newEnv(t).v1()
	u := e.createUser("u")
	creds := func(pw string) []map[string]string {
		return e.credentials("mxbank", map[string]string{"username": "mxuser", "password": pw})
	}
	var out struct{ Member member }
	// skip_aggregation: 200 and idle
	e.must(200, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mxbank",
		"credentials": creds("a"), "skip_aggregation": true}}).into(t, &out)
	if out.Member.IsBeingAggregated || out.Member.ConnectionStatus != "CREATED" {
		t.Fatalf("skipped: %+v", out.Member)
	}
	if st := e.finish(u, out.Member.GUID); st.IsBeingAggregated || st.ConnectionStatus != "CREATED" {
		t.Fatalf("skipped later: %+v", st)
	}
	// without: 200 and aggregating; a data_request is not a v20111101 field
	// and changes nothing
	e.must(200, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mxbank",
		"credentials": creds("b")}, "data_request": map[string]any{"products": []string{"account_verification"}}}).into(t, &out)
	if !out.Member.IsBeingAggregated {
		t.Fatalf("aggregating: %+v", out.Member)
	}
	e.must(202, "POST", "/users/"+u+"/members/"+out.Member.GUID+"/aggregate", nil)
	e.must(409, "POST", "/users/"+u+"/members/"+out.Member.GUID+"/verify", nil)
}

// TestChallengedStatusShape: the read member status of a CHALLENGED member
// is MX's MFA guide's, literally; then RESUMED and aggregating, then
// CONNECTED and not.
func TestChallengedStatusShape(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t).in(version)
			u := e.createUser("u")
			m := e.createMember(u, "challenge")
			path := "/users/" + u + "/members/" + m
			e.must(200, "POST", path+"/verify", nil)
			e.clock.Advance(aggTime)
			var st struct {
				Member map[string]json.RawMessage `json:"member"`
			}
			e.must(200, "GET", path+"/status", nil).into(t, &st)
			for k, want := range map[string]string{"connection_status": `"CHALLENGED"`, "guid": `"` + m + `"`,
				"is_authenticated": "false", "is_being_aggregated": "true", "successfully_aggregated_at": "null",
				"aggregated_at": `"2025-03-01T12:00:00.000Z"`} {
				if got := string(st.Member[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
			var chs []map[string]json.RawMessage
			if err := json.Unmarshal(st.Member["challenges"], &chs); err != nil || len(chs) != 1 {
				t.Fatalf("challenges %s: %v", st.Member["challenges"], err)
			}
			ch := chs[0]
			if keys := slices.Sorted(maps.Keys(ch)); !slices.Equal(keys, []string{"field_name", "guid", "label", "type"}) {
				t.Fatalf("challenge keys %v", keys)
			}
			if string(ch["field_name"]) != "null" || string(ch["type"]) != "0" || string(ch["label"]) != `"What city were you born in?"` ||
				!strings.HasPrefix(string(ch["guid"]), `"CRD-`) {
				t.Fatalf("challenge %v", ch)
			}
			// GET …/challenges keeps the spec's string type
			list, _ := e.list(path+"/challenges", "challenges")
			if len(list) != 1 || list[0]["type"] != "TEXT" || `"`+list[0]["guid"].(string)+`"` != string(ch["guid"]) {
				t.Fatalf("challenges list %v", list)
			}
			var guid string
			_ = json.Unmarshal(ch["guid"], &guid)
			e.must(202, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{{"guid": guid, "value": "correct"}}}})
			if s := e.status(u, m); s.ConnectionStatus != "RESUMED" || !s.IsBeingAggregated || len(s.Challenges) != 0 {
				t.Fatalf("resumed: %+v", s)
			}
			e.clock.Advance(aggTime / 2)
			if s := e.status(u, m); s.ConnectionStatus != "RESUMED" || !s.IsBeingAggregated {
				t.Fatalf("resuming: %+v", s)
			}
			if s := e.finish(u, m); s.ConnectionStatus != "CONNECTED" || s.IsBeingAggregated || !s.IsAuthenticated {
				t.Fatalf("connected: %+v", s)
			}
		})
	}
}

// TestNonTextChallengesInStatus: other challenge types keep the spec's
// string type in the status too.
func TestNonTextChallengesInStatus(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	for pw, typ := range map[string]string{"options": "OPTIONS", "image": "IMAGE_DATA", "token": "TOKEN", "image_options": "IMAGE_OPTIONS"} {
		m := e.createMember(u, pw)
		e.must(202, "POST", "/users/"+u+"/members/"+m+"/identify", nil)
		st := e.finish(u, m)
		if len(st.Challenges) != 1 || st.Challenges[0].Type != typ || st.Challenges[0].FieldName == nil || !st.IsBeingAggregated {
			t.Errorf("%s: %+v", pw, st)
		}
	}
}

// TestIdentifiers: v20250224's {user_identifier} and {member_identifier}
// take MX's guid or the partner's id; v20111101's take the guid.
func TestIdentifiers(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("partner-u")
	var out struct{ Member member }
	e.must(200, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mxbank", "id": "partner-m",
		"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "correct"})},
		"data_request": map[string]any{"products": []string{}}}).into(t, &out)
	var user struct{ User map[string]any }
	e.must(200, "GET", "/users/partner-u", nil).into(t, &user)
	if user.User["guid"] != u {
		t.Fatalf("user by id: %v", user.User)
	}
	var got struct{ Member member }
	e.must(200, "GET", "/users/partner-u/members/partner-m", nil).into(t, &got)
	if got.Member.GUID != out.Member.GUID {
		t.Fatalf("member by id: %+v", got.Member)
	}
	e.must(200, "POST", "/users/partner-u/members/partner-m/verify", nil)
	e.finish(u, out.Member.GUID)
	e.must(200, "GET", "/users/partner-u/members/partner-m/account_owners", nil)
	// account numbers by member still take guids in v20250224
	e.must(404, "GET", "/users/partner-u/members/partner-m/account_numbers", nil)
	e.must(200, "GET", "/users/"+u+"/members/"+out.Member.GUID+"/account_numbers", nil)
	// v20111101: guids only
	e.v1().must(404, "GET", "/users/partner-u", nil)
	e.v1().must(404, "GET", "/users/"+u+"/members/partner-m", nil)
}

func TestWidgetURLProducts(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("w")
	mode := func(env *env, req map[string]any) string {
		t.Helper()
		path := env.widgetURL(u, req)
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, m := range []string{"verification", "aggregation"} {
			if strings.Contains(string(b), `"mode":"`+m+`"`) {
				return m
			}
		}
		return "?"
	}
	dr := func(p ...string) map[string]any { return map[string]any{"products": p} }
	for _, tc := range []struct {
		env  *env
		req  map[string]any
		want string
	}{
		{e, map[string]any{"data_request": dr("account_verification")}, "verification"},
		{e, map[string]any{"data_request": dr("account_verification", "identity_verification")}, "verification"},
		{e, map[string]any{"data_request": dr("transactions")}, "aggregation"},
		{e, map[string]any{"data_request": dr("transactions"), "mode": "verification"}, "aggregation"}, // data_request wins
		{e, map[string]any{"mode": "verification", "include_identity": true}, "verification"},          // still declared by the v20250224 spec
		{e, map[string]any{}, "aggregation"},
		{e.v1(), map[string]any{"mode": "verification", "include_identity": true}, "verification"},
		{e.v1(), map[string]any{"data_request": dr("account_verification")}, "aggregation"}, // not a v20111101 field
	} {
		if got := mode(tc.env, tc.req); got != tc.want {
			t.Errorf("%s %v: mode %s, want %s", tc.env.version, tc.req, got, tc.want)
		}
	}
	e.must(400, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget",
		"data_request": dr("payments")}})
	e.must(400, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget",
		"data_request": map[string]any{}}})
}

func TestCallbackPayloadValidation(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	m := e.createMember(u, "correct")
	path := "/users/" + u + "/members/" + m
	call := func(payload string, method, p string, body any) resp {
		t.Helper()
		req := e.apiRequest(method, p, body)
		req.Header.Set("X-CALLBACK-PAYLOAD", payload)
		return e.send(req)
	}
	long := strings.Repeat("QUJD", 257) // 1028 characters
	for _, bad := range []string{long, "not base64!", "@@@@"} {
		for _, op := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/users/" + u + "/members", map[string]any{"member": map[string]any{"institution_code": "mxbank",
				"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "other"})}}},
			{"PUT", path, map[string]any{"member": map[string]any{"metadata": "x"}}},
			{"POST", path + "/verify", nil},
			{"POST", path + "/aggregate", nil},
			{"POST", path + "/identify", nil},
			{"POST", "/users/" + u + "/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget"}}},
		} {
			if r := call(bad, op.method, op.path, op.body); r.status != 400 || !strings.Contains(string(r.body), "X-CALLBACK-PAYLOAD") {
				t.Errorf("%s %s with %.10q: %d %s", op.method, op.path, bad, r.status, r.body)
			}
		}
	}
	if members, _ := e.list("/users/"+u+"/members", "members"); len(members) != 1 {
		t.Fatalf("a refused create created a member: %v", members)
	}
	if st := e.status(u, m); st.IsBeingAggregated {
		t.Fatalf("a refused job started: %+v", st)
	}
	// 1024 characters, padded or not, standard or URL alphabet (the
	// spec's own example is a uuid)
	for _, good := range []string{strings.Repeat("QUJD", 256), "eyJ0YXNrIjoiMSJ9", "eyJ0YXNrIjoiMSJ", "ab-_", "813e50bd-4a7e-4517-b6bb-9eef65a68cbd"} {
		if r := call(good, "PUT", path, map[string]any{"member": map[string]any{"metadata": "x"}}); r.status != 200 {
			t.Errorf("%.20q: %d %s", good, r.status, r.body)
		}
	}
}

// TestCallbackPayloadWebhooks: the X-CALLBACK-PAYLOAD of the request that
// started a job comes back as a header of its MEMBER and
// member_data_updated webhooks (not CONNECTION_STATUS).
func TestCallbackPayloadWebhooks(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv)
	u := e.createUser("cb")
	const payload = "eyJ0YXNrIjoidC0xIn0=" // {"task":"t-1"}
	r := e.createV2(u, "mxbank", "correct", []string{"account_verification"}, http.Header{"X-Callback-Payload": {payload}})
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var out struct{ Member member }
	r.into(t, &out)
	m := out.Member.GUID
	h := rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "CONNECTED"})
	if h.callback != payload {
		t.Fatalf("MEMBER webhook X-CALLBACK-PAYLOAD %q", h.callback)
	}
	if h = rcv.expect("VERIFICATION", map[string]any{"member_guid": m}); h.callback != payload {
		t.Fatalf("VERIFICATION webhook X-CALLBACK-PAYLOAD %q", h.callback)
	}

	// a job started without the header: no header
	e.must(202, "POST", "/users/"+u+"/members/"+m+"/aggregate", nil)
	if h = rcv.expect("MEMBER", map[string]any{"member_guid": m}); h.callback != "" {
		t.Fatalf("no payload: %q", h.callback)
	}
	if h = rcv.expect("AGGREGATION", map[string]any{"member_guid": m}); h.callback != "" {
		t.Fatalf("no payload: %q", h.callback)
	}

	// update member (v20111101 too) with new credentials: the aggregation's
	// webhooks carry its payload; CONNECTION_STATUS does not
	const p2 = "dGFzay0y"
	req := e.v1().apiRequest("PUT", "/users/"+u+"/members/"+m, map[string]any{"member": map[string]any{"credentials": []map[string]string{
		{"guid": "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d", "value": "LOCKED"}}}})
	req.Header.Set("X-CALLBACK-PAYLOAD", p2)
	if r := e.send(req); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if h = rcv.expect("MEMBER", map[string]any{"member_guid": m, "connection_status": "LOCKED"}); h.callback != p2 {
		t.Fatalf("update MEMBER payload %q", h.callback)
	}
	if h = rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": m}); h.callback != "" {
		t.Fatalf("CONNECTION_STATUS payload %q", h.callback)
	}

	// verify with a payload, through MFA: every MEMBER webhook of the job
	m2 := e.createMember(u, "challenge")
	req = e.apiRequest("POST", "/users/"+u+"/members/"+m2+"/verify", nil)
	req.Header.Set("X-CALLBACK-PAYLOAD", "dGFzay0z")
	if r := e.send(req); r.status != 200 {
		t.Fatalf("verify: %d", r.status)
	}
	if h = rcv.expect("MEMBER", map[string]any{"member_guid": m2, "connection_status": "CHALLENGED", "is_being_aggregated": true}); h.callback != "dGFzay0z" {
		t.Fatalf("challenged payload %q", h.callback)
	}
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": m2})
	e.answer(u, m2, e.status(u, m2), "correct")
	if h = rcv.expect("MEMBER", map[string]any{"member_guid": m2, "connection_status": "CONNECTED", "is_being_aggregated": false}); h.callback != "dGFzay0z" {
		t.Fatalf("resumed payload %q", h.callback)
	}
	if h = rcv.expect("VERIFICATION", map[string]any{"member_guid": m2}); h.callback != "dGFzay0z" {
		t.Fatalf("verification payload %q", h.callback)
	}
	rcv.none(100 * time.Millisecond)
}
