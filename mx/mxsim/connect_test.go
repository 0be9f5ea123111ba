package mxsim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// widgetURL asks the API for a widget URL and returns its path.
func (e *env) widgetURL(u string, req map[string]any) string {
	e.t.Helper()
	req["widget_type"] = "connect_widget"
	var out struct {
		WidgetURL struct{ URL string } `json:"widget_url"`
	}
	e.must(200, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": req}).into(e.t, &out)
	path, ok := strings.CutPrefix(out.WidgetURL.URL, e.srv.URL)
	if !ok || !strings.HasPrefix(path, "/_sim/connect/") {
		e.t.Fatalf("widget url %q", out.WidgetURL.URL)
	}
	return path
}

// widgetMember is what the widget polls.
type widgetMember struct {
	MemberGUID         string `json:"member_guid"`
	UserGUID           string `json:"user_guid"`
	ConnectionStatus   string `json:"connection_status"`
	ConnectionStatusID *int   `json:"connection_status_id"`
	IsBeingAggregated  bool   `json:"is_being_aggregated"`
	Challenges         []struct {
		GUID, Label, Type string
		Options           []struct{ GUID, Label, Value string }
	} `json:"challenges"`
}

// plain is a request without auth or Accept, as the widget page sends.
func (e *env) plain(want int, method, path string, body any) resp {
	e.t.Helper()
	r := e.send(e.newRequest(method, path, body))
	if r.status != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

func (e *env) widgetPoll(path, m string) widgetMember {
	e.t.Helper()
	var out widgetMember
	r := e.plain(200, "GET", path+"/members/"+m, nil)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Fatalf("content type %q", ct)
	}
	r.into(e.t, &out)
	if out.Challenges == nil || out.ConnectionStatusID == nil {
		e.t.Fatalf("poll: %s", r.body)
	}
	return out
}

func TestWidgetVerificationFlow(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("w")
	path := e.widgetURL(u, map[string]any{"mode": "verification", "color_scheme": "dark"})
	e.sim.SetFaults(mxsim.Faults{ErrorRate: 1}) // the widget is not subject to faults

	// bad requests
	e.plain(400, "POST", path+"/members", map[string]any{"institution_code": "mxbank"})
	e.plain(400, "POST", path+"/members", map[string]any{"institution_code": "mxbank", "credentials": map[string]string{"username": "mxuser"}})
	e.plain(400, "POST", path+"/members", map[string]any{"institution_code": "mxbank", "credentials": map[string]string{"username": "mxuser", "password": "x", "pin": "1"}})
	e.plain(404, "POST", path+"/members", map[string]any{"institution_code": "nobank", "credentials": map[string]string{"username": "mxuser", "password": "x"}})

	creds := map[string]any{"institution_code": "mxbank", "credentials": map[string]string{"username": "mxuser", "password": "challenge"}}
	var created widgetMember
	e.plain(200, "POST", path+"/members", creds).into(t, &created)
	m := created.MemberGUID
	if created.UserGUID != u || created.ConnectionStatus != "CREATED" || *created.ConnectionStatusID != 0 || !created.IsBeingAggregated {
		t.Fatalf("created: %+v", created)
	}
	e.plain(409, "POST", path+"/members", creds) // as createMember

	if st := e.widgetPoll(path, m); st.ConnectionStatus != "CREATED" || !st.IsBeingAggregated || len(st.Challenges) != 0 {
		t.Fatalf("running: %+v", st)
	}
	e.clock.Advance(aggTime)
	st := e.widgetPoll(path, m)
	if st.ConnectionStatus != "CHALLENGED" || *st.ConnectionStatusID != 3 || st.IsBeingAggregated || len(st.Challenges) != 1 || st.Challenges[0].Type != "TEXT" {
		t.Fatalf("challenged: %+v", st)
	}
	ch := st.Challenges[0].GUID
	e.plain(400, "PUT", path+"/members/"+m+"/resume", map[string]any{"answers": map[string]string{}})
	e.plain(400, "PUT", path+"/members/"+m+"/resume", map[string]any{"answers": map[string]string{"CRD-nope": "correct"}})
	var resumed widgetMember
	e.plain(202, "PUT", path+"/members/"+m+"/resume", map[string]any{"answers": map[string]string{ch: "correct"}}).into(t, &resumed)
	if resumed.ConnectionStatus != "RESUMED" || *resumed.ConnectionStatusID != 18 || !resumed.IsBeingAggregated {
		t.Fatalf("resumed: %+v", resumed)
	}
	e.plain(405, "PUT", path+"/members/"+m+"/resume", map[string]any{"answers": map[string]string{ch: "correct"}})
	e.clock.Advance(aggTime)
	if st := e.widgetPoll(path, m); st.ConnectionStatus != "CONNECTED" || *st.ConnectionStatusID != 6 || st.IsBeingAggregated {
		t.Fatalf("connected: %+v", st)
	}

	// the API sees the member, verified
	e.sim.SetFaults(mxsim.Faults{})
	if nums, _ := e.list("/users/"+u+"/members/"+m+"/account_numbers", "account_numbers"); len(nums) != 2 {
		t.Fatalf("account numbers: %v", nums)
	}
	calls := e.sim.Stats()
	if calls.Calls["createMember"] != 6 || calls.Calls["verifyMember"] != 1 || calls.Calls["aggregateMember"] != 0 ||
		calls.Members[m]["verifyMember"] != 1 || calls.Members[m]["resumeAggregation"] != 4 {
		t.Fatalf("stats: %+v", calls)
	}

	// another user's member is not reachable through this token
	other := e.createUser("other")
	om := e.createMember(other, "correct")
	e.plain(404, "GET", path+"/members/"+om, nil)
	e.plain(404, "PUT", path+"/members/"+om+"/resume", map[string]any{"answers": map[string]string{"x": "y"}})
}

func TestWidgetAggregationModeAndFailure(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("")
	path := e.widgetURL(u, map[string]any{}) // MX's default mode: aggregation
	var created widgetMember
	e.plain(200, "POST", path+"/members", map[string]any{"institution_code": "mxbank_noid",
		"credentials": map[string]string{"username": "mxuser", "password": "UNAUTHORIZED"}}).into(t, &created)
	e.clock.Advance(aggTime)
	if st := e.widgetPoll(path, created.MemberGUID); st.ConnectionStatus != "DENIED" || st.IsBeingAggregated {
		t.Fatalf("%+v", st)
	}
	if st := e.sim.Stats(); st.Members[created.MemberGUID]["aggregateMember"] != 1 || st.Calls["verifyMember"] != 0 {
		t.Fatalf("stats: %+v", st)
	}
	var out struct{ Members []member }
	e.must(200, "GET", "/users/"+u+"/members", nil).into(t, &out)
	if len(out.Members) != 1 || out.Members[0].ConnectionStatus != "DENIED" || out.Members[0].InstitutionCode != "mxbank_noid" {
		t.Fatalf("members: %+v", out.Members)
	}
}

func TestWidgetTokens(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("t")
	path := e.widgetURL(u, map[string]any{"mode": "verification"})

	// unknown tokens
	r := e.plain(404, "GET", "/_sim/connect/0123456789abcdef", nil)
	if !strings.Contains(string(r.body), "<title>MX Connect (simulated)</title>") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("404 page: %s", r.body)
	}
	e.plain(404, "GET", "/_sim/connect/0123456789abcdef/members/MBR-x", nil)
	e.plain(404, "POST", "/_sim/connect/0123456789abcdef/members", map[string]any{})
	e.plain(404, "GET", path+"/members/MBR-x", nil) // known token, unknown member

	// the page may be loaded again for 10 minutes
	e.plain(200, "GET", path, nil)
	e.clock.Advance(10*time.Minute - time.Second)
	e.plain(200, "GET", path, nil)
	e.clock.Advance(time.Second)
	e.plain(404, "GET", path, nil)
	// its JSON endpoints accept the token for an hour, so that a session
	// in progress can finish
	var created widgetMember
	e.plain(200, "POST", path+"/members", map[string]any{"institution_code": "mxbank",
		"credentials": map[string]string{"username": "mxuser", "password": "correct"}}).into(t, &created)
	e.clock.Advance(50*time.Minute - time.Second)
	e.widgetPoll(path, created.MemberGUID)
	e.clock.Advance(time.Second)
	e.plain(404, "GET", path+"/members/"+created.MemberGUID, nil)

	// a deleted user's token is dead
	u2 := e.createUser("t2")
	p2 := e.widgetURL(u2, map[string]any{})
	e.must(204, "DELETE", "/users/"+u2, nil)
	e.plain(404, "GET", p2, nil)
}

func TestWidgetPage(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("p")
	page := func(path string) string {
		t.Helper()
		res, err := http.Get(e.srv.URL + path) // no auth
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("page: %d %s", res.StatusCode, b)
		}
		return string(b)
	}
	p := page(e.widgetURL(u, map[string]any{"mode": "verification", "color_scheme": "dark"}))
	for _, want := range []string{
		"<title>MX Connect (simulated)</title>",
		`"data-institution"`, `"code":"mxbank"`, `"code":"mxbank_noid"`,
		`cr.type === "PASSWORD" ? "password"`, `name: cr.name`, `"name":"username","field_name":"LOGIN","label":"Username"`,
		`"name":"password","field_name":"PASSWORD","label":"Password"`,
		`id: "connect"`, `id: "submit-mfa"`, `"data-challenge"`, `"data-value"`,
		`id: "connected", "data-member-guid"`, `id: "failed", "data-status"`,
		"mx/connect/memberStatusUpdate", "mx/connect/memberConnected", "window.mxEvents",
		"{mx: true, type: type, metadata: md}", "window.parent.postMessage(ev, target)", "window.opener",
		"mx/connect/loaded", "mx/connect/stepChange", "mx/connect/selectedInstitution", "mx/connect/enterCredentials",
		"mx/connect/createMemberError", "mx/connect/submitMFA", "mx/connect/backToSearch", `"/members"`, `"/resume"`, "300",
		`"mode":"verification"`, `"color_scheme":"dark"`, `"current_institution":null`, `"user_guid":"` + u + `"`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, bad := range []string{"/*CONFIG*/", "<link", `src="http`, "<script src"} {
		if strings.Contains(p, bad) {
			t.Errorf("page has %s", bad)
		}
	}
	// a current institution skips the search; a current member is tracked
	p = page(e.widgetURL(u, map[string]any{"current_institution_code": "mxbank", "current_member_guid": "MBR-1</script>"}))
	if !strings.Contains(p, `"current_institution":{"code":"mxbank"`) || !strings.Contains(p, `"current_member_guid":"MBR-1\u003c/script\u003e"`) {
		t.Fatalf("page config: %s", p)
	}
	if st := e.sim.Stats(); len(st.Calls) != 2 || st.Calls["requestWidgetURL"] != 2 { // pages are not counted
		t.Fatalf("stats: %+v", st)
	}
}
