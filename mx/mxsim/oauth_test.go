package mxsim_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// oauthMember is what these tests read of a member.
type oauthMember struct {
	GUID              string  `json:"guid"`
	ConnectionStatus  string  `json:"connection_status"`
	IsBeingAggregated bool    `json:"is_being_aggregated"`
	IsOAuth           bool    `json:"is_oauth"`
	OAuthWindowURI    *string `json:"oauth_window_uri"`
}

// createOAuth creates an OAuth member at mx_bank_oauth asking for
// verification (v20250224: data_request; v20111101: the standard
// aggregation MX starts after authorization), with extra body fields.
func (e *env) createOAuth(u string, extra map[string]any) oauthMember {
	e.t.Helper()
	body := map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth", "credentials": []any{}, "is_oauth": true}}
	want := 200
	if e.current() {
		body["data_request"] = map[string]any{"products": []string{"account_verification"}}
		want = 202
	}
	for k, v := range extra {
		body[k] = v
	}
	var out struct{ Member oauthMember }
	e.must(want, "POST", "/users/"+u+"/members", body).into(e.t, &out)
	return out.Member
}

func (e *env) readOAuth(u, m string) oauthMember {
	e.t.Helper()
	var out struct{ Member oauthMember }
	e.must(200, "GET", "/users/"+u+"/members/"+m, nil).into(e.t, &out)
	return out.Member
}

// browser is a plain HTTP client that does not follow redirects, as the
// end user's browser at the OAuth page.
func (e *env) browser() *http.Client {
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// page loads an oauth_window_uri: its status and HTML.
func (e *env) page(uri string) (int, string) {
	e.t.Helper()
	res, err := e.browser().Get(uri)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// click submits the page's form for decision ("approve" or "deny") as a
// browser does: a POST of the form to its action.
func (e *env) click(uri, decision string) *http.Response {
	e.t.Helper()
	status, html := e.page(uri)
	if status != 200 || !strings.Contains(html, `id="`+decision+`"`) {
		e.t.Fatalf("OAuth page: %d %s", status, html)
	}
	action := between(html, `action="`, `"`)
	target, err := url.Parse(uri)
	if err != nil {
		e.t.Fatal(err)
	}
	target = target.ResolveReference(&url.URL{Path: action})
	res, err := e.browser().PostForm(target.String(), url.Values{"decision": {decision}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	out, _, _ := strings.Cut(rest, to)
	return out
}

func bodyOf(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOAuthApproveConnects: created PENDING with an oauth_window_uri; the
// end user approves at the page; MX aggregates by itself and the member
// ends CONNECTED with results, one job, the URI used up.
func TestOAuthApproveConnects(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t).in(version)
			u := e.createUser("oauth-" + version)
			m := e.createOAuth(u, nil)
			if m.ConnectionStatus != "PENDING" || !m.IsOAuth || m.IsBeingAggregated || m.OAuthWindowURI == nil ||
				!strings.HasPrefix(*m.OAuthWindowURI, e.srv.URL+"/_sim/oauth/") {
				t.Fatalf("created: %+v", m)
			}
			// no job before the end user acts; PENDING stays PENDING
			e.must(400, "POST", "/users/"+u+"/members/"+m.GUID+"/verify", nil)
			e.clock.Advance(time.Minute)
			if st := e.status(u, m.GUID); st.ConnectionStatus != "PENDING" || st.IsBeingAggregated {
				t.Fatalf("before approval: %+v", st)
			}
			res := e.click(*m.OAuthWindowURI, "approve")
			if html := bodyOf(t, res); res.StatusCode != 200 || !strings.Contains(html, `id="oauth-success"`) ||
				!strings.Contains(html, "oauthComplete/success") || !strings.Contains(html, m.GUID) {
				t.Fatalf("approve: %d %s", res.StatusCode, html)
			}
			if got := e.readOAuth(u, m.GUID); got.ConnectionStatus != "CREATED" || !got.IsBeingAggregated || got.OAuthWindowURI != nil {
				t.Fatalf("after approval: %+v", got)
			}
			if st := e.finish(u, m.GUID); st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
				t.Fatalf("after the run: %+v", st)
			}
			if nums, _ := e.list("/users/"+u+"/members/"+m.GUID+"/account_numbers", "account_numbers"); len(nums) == 0 {
				t.Fatal("no account numbers after an approved OAuth verification")
			}
			if status, html := e.page(*m.OAuthWindowURI); status != http.StatusGone || !strings.Contains(html, `id="gone"`) {
				t.Fatalf("a used URI: %d", status)
			}
			if jobs := e.sim.Stats().Jobs[m.GUID]; jobs != 1 {
				t.Fatalf("jobs: %d, want 1", jobs)
			}
		})
	}
}

// TestOAuthDenyThenNewWindow: Deny ends the member DENIED (MX's OAuth
// error reason DENIED); a new window brings the same member back to
// PENDING, and approving it connects.
func TestOAuthDenyThenNewWindow(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("oauth-deny")
	m := e.createOAuth(u, nil)
	res := e.click(*m.OAuthWindowURI, "deny")
	if html := bodyOf(t, res); res.StatusCode != 200 || !strings.Contains(html, `id="oauth-error"`) ||
		!strings.Contains(html, "oauthComplete/error") || !strings.Contains(html, "DENIED") {
		t.Fatalf("deny: %d %s", res.StatusCode, html)
	}
	if st := e.status(u, m.GUID); st.ConnectionStatus != "DENIED" || st.IsBeingAggregated {
		t.Fatalf("after deny: %+v", st)
	}
	var w struct {
		Member struct {
			GUID           string `json:"guid"`
			OAuthWindowURI string `json:"oauth_window_uri"`
		}
	}
	e.must(200, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri", nil).into(t, &w)
	if w.Member.GUID != m.GUID || w.Member.OAuthWindowURI == "" || w.Member.OAuthWindowURI == *m.OAuthWindowURI {
		t.Fatalf("new window: %+v", w.Member)
	}
	if got := e.readOAuth(u, m.GUID); got.ConnectionStatus != "PENDING" || got.OAuthWindowURI == nil || *got.OAuthWindowURI != w.Member.OAuthWindowURI {
		t.Fatalf("after a new window: %+v", got)
	}
	e.click(w.Member.OAuthWindowURI, "approve")
	if st := e.finish(u, m.GUID); st.ConnectionStatus != "CONNECTED" {
		t.Fatalf("after approval: %+v", st)
	}
	if ms, _ := e.list("/users/"+u+"/members", "members"); len(ms) != 1 {
		t.Fatalf("members: %d, want 1", len(ms))
	}
}

// TestOAuthWindowExpires: a window unused past WithOAuthWindow turns the
// member EXPIRED and the page gone; asking for a new one is PENDING again.
// A newer window replaces the older one at once (one-time use).
func TestOAuthWindowExpires(t *testing.T) {
	e := newEnv(t, mxsim.WithOAuthWindow(time.Minute))
	u := e.createUser("oauth-expiry")
	m := e.createOAuth(u, nil)
	e.clock.Advance(59 * time.Second)
	if st := e.status(u, m.GUID); st.ConnectionStatus != "PENDING" {
		t.Fatalf("before expiry: %+v", st)
	}
	e.clock.Advance(time.Second)
	if st := e.status(u, m.GUID); st.ConnectionStatus != "EXPIRED" || st.IsBeingAggregated {
		t.Fatalf("after expiry: %+v", st)
	}
	if status, _ := e.page(*m.OAuthWindowURI); status != http.StatusGone {
		t.Fatalf("expired page: %d", status)
	}
	var w1, w2 struct {
		Member struct {
			OAuthWindowURI string `json:"oauth_window_uri"`
		}
	}
	e.must(200, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri", nil).into(t, &w1)
	e.must(200, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri", nil).into(t, &w2)
	if status, _ := e.page(w1.Member.OAuthWindowURI); status != http.StatusGone {
		t.Fatalf("a replaced window: %d", status)
	}
	if st := e.status(u, m.GUID); st.ConnectionStatus != "PENDING" {
		t.Fatalf("after a new window: %+v", st)
	}
	e.click(w2.Member.OAuthWindowURI, "approve")
	if st := e.finish(u, m.GUID); st.ConnectionStatus != "CONNECTED" {
		t.Fatalf("after approval: %+v", st)
	}
}

// TestOAuthRedirectsToClient: with referral_source APP and a
// client_redirect_url, the end user is sent there with the member guid and
// how it ended.
func TestOAuthRedirectsToClient(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("oauth-redirect")
	m := e.createOAuth(u, map[string]any{"referral_source": "APP", "client_redirect_url": "https://app.example/done?x=1"})
	res := e.click(*m.OAuthWindowURI, "approve")
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil || loc.Host != "app.example" ||
		loc.Query().Get("status") != "success" || loc.Query().Get("member_guid") != m.GUID || loc.Query().Get("x") != "1" {
		t.Fatalf("approve redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	m2 := e.createOAuth(u, nil)
	var w struct {
		Member struct {
			OAuthWindowURI string `json:"oauth_window_uri"`
		}
	}
	e.must(200, "GET", "/users/"+u+"/members/"+m2.GUID+"/oauth_window_uri?referral_source=APP&client_redirect_url="+
		url.QueryEscape("https://app.example/cb")+"&enable_app2app=false&ui_message_webview_url_scheme=myapp", nil).into(t, &w)
	res = e.click(w.Member.OAuthWindowURI, "deny")
	loc, _ = url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc.Query().Get("status") != "error" || loc.Query().Get("error_reason") != "DENIED" ||
		loc.Query().Get("member_guid") != m2.GUID {
		t.Fatalf("deny redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// BROWSER (the default) stays on MX's OAuth complete page
	m3 := e.createOAuth(u, map[string]any{"client_redirect_url": "https://app.example/cb"})
	if res := e.click(*m3.OAuthWindowURI, "approve"); res.StatusCode != 200 {
		t.Fatalf("browser: %d", res.StatusCode)
	}
}

// TestOAuthSkipAggregation: a window asked with skip_aggregation leaves
// the approved member CREATED and idle; the caller's verify then runs.
func TestOAuthSkipAggregation(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t).in(version)
			u := e.createUser("oauth-skip")
			m := e.createOAuth(u, nil)
			var w struct {
				Member struct {
					OAuthWindowURI string `json:"oauth_window_uri"`
				}
			}
			e.must(200, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri?skip_aggregation=true", nil).into(t, &w)
			e.click(w.Member.OAuthWindowURI, "approve")
			if st := e.status(u, m.GUID); st.ConnectionStatus != "CREATED" || st.IsBeingAggregated {
				t.Fatalf("approved, skipped: %+v", st)
			}
			e.must(409, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri", nil) // approved: nothing to authorize
			e.must(200, "POST", "/users/"+u+"/members/"+m.GUID+"/verify", nil)
			e.must(409, "GET", "/users/"+u+"/members/"+m.GUID+"/oauth_window_uri", nil) // running
			if st := e.finish(u, m.GUID); st.ConnectionStatus != "CONNECTED" {
				t.Fatalf("verified: %+v", st)
			}
			if jobs := e.sim.Stats().Jobs[m.GUID]; jobs != 1 {
				t.Fatalf("jobs: %d, want 1", jobs)
			}
		})
	}
}

// TestOAuthRefusals: what MX documents an OAuth member cannot be, and the
// simulator's own checks.
func TestOAuthRefusals(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("oauth-refusals")
	members := "/users/" + u + "/members"
	e.must(400, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth", "is_oauth": true,
		"credentials": []map[string]string{{"guid": "CRD-x", "value": "secret"}}}})
	e.must(400, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mxbank", "is_oauth": true, "credentials": []any{}}})
	e.must(400, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth", "credentials": []any{}}})
	e.must(400, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth", "is_oauth": true,
		"credentials": []any{}}, "referral_source": "PHONE"})
	m := e.createOAuth(u, nil)
	e.must(400, "GET", members+"/"+m.GUID+"/oauth_window_uri?referral_source=PHONE", nil)
	e.must(400, "GET", members+"/"+m.GUID+"/oauth_window_uri?skip_aggregation=maybe", nil)
	e.must(400, "GET", members+"/"+m.GUID+"/oauth_window_uri?client_redirect_url=not-a-url", nil)
	plain := e.createMember(u, "correct")
	e.must(400, "GET", members+"/"+plain+"/oauth_window_uri", nil)
	e.must(404, "GET", members+"/MBR-nope/oauth_window_uri", nil)
	if status, _ := e.page(e.srv.URL + "/_sim/oauth/nope"); status != http.StatusGone {
		t.Fatalf("unknown token: %d", status)
	}
	res, err := e.browser().PostForm(*m.OAuthWindowURI, url.Values{"decision": {"maybe"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("bad decision: %d", res.StatusCode)
	}
	var inst struct{ Institution map[string]any }
	e.must(200, "GET", "/institutions/mx_bank_oauth", nil).into(t, &inst)
	if inst.Institution["supports_oauth"] != true {
		t.Fatalf("mx_bank_oauth: %v", inst.Institution)
	}
	e.must(200, "GET", "/institutions/mxbank", nil).into(t, &inst)
	if inst.Institution["supports_oauth"] != false {
		t.Fatalf("mxbank: %v", inst.Institution)
	}
}

// TestReauthenticateSameMember: a DENIED member given the good password by
// update member, then verified, connects on the same guid; no second
// member. v20111101 skips the update's aggregation; in v20250224 the
// update aggregates (no skip_aggregation) and a verify meanwhile is 409.
// Creating the member again with the now-current credentials is MX's 409.
func TestReauthenticateSameMember(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t).in(version)
			u := e.createUser("reauth")
			m := e.createMember(u, "UNAUTHORIZED")
			path := "/users/" + u + "/members/" + m
			e.must(200, "POST", path+"/verify", nil)
			if st := e.finish(u, m); st.ConnectionStatus != "DENIED" {
				t.Fatalf("bad password: %+v", st)
			}
			good := e.credentials("mxbank", map[string]string{"username": "mxuser", "password": "correct"})
			upd := map[string]any{"credentials": good}
			if version == mxsim.VersionPrevious {
				upd["skip_aggregation"] = true
			}
			e.must(200, "PUT", path, map[string]any{"member": upd})
			jobs := 1
			if version == mxsim.VersionCurrent {
				if st := e.status(u, m); !st.IsBeingAggregated || st.ConnectionStatus != "UPDATED" {
					t.Fatalf("v20250224 update: %+v", st)
				}
				e.must(409, "POST", path+"/verify", nil)
				if st := e.finish(u, m); st.ConnectionStatus != "CONNECTED" {
					t.Fatalf("the update's aggregation: %+v", st)
				}
				jobs++
			} else if st := e.status(u, m); st.IsBeingAggregated || st.ConnectionStatus != "DENIED" {
				t.Fatalf("v20111101 update with skip_aggregation: %+v", st)
			}
			e.must(200, "POST", path+"/verify", nil)
			if st := e.finish(u, m); st.ConnectionStatus != "CONNECTED" {
				t.Fatalf("verify after new credentials: %+v", st)
			}
			jobs++
			if nums, _ := e.list(path+"/account_numbers", "account_numbers"); len(nums) == 0 {
				t.Fatal("no account numbers")
			}
			body := map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": good}}
			e.must(409, "POST", "/users/"+u+"/members", body)
			if ms, _ := e.list("/users/"+u+"/members", "members"); len(ms) != 1 || ms[0]["guid"] != m || ms[0]["institution_code"] != "mxbank" {
				t.Fatalf("members: %v", ms)
			}
			if got := e.sim.Stats().Jobs[m]; got != jobs {
				t.Fatalf("jobs on the member: %d, want %d", got, jobs)
			}
		})
	}
}

// TestOAuthWebhooks: with nobody reading the member, approval ends in the
// MEMBER and VERIFICATION webhooks of the run it started (carrying the
// create's X-CALLBACK-PAYLOAD), Deny in MEMBER and CONNECTION_STATUS
// (DENIED is end-user-actionable), and a window that passes in EXPIRED.
func TestOAuthWebhooks(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	e := realEnv(t, rcv, mxsim.WithOAuthWindow(300*time.Millisecond))
	u := e.createUser("oauth-hooks")
	req := e.apiRequest("POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth",
		"is_oauth": true, "credentials": []any{}}, "data_request": map[string]any{"products": []string{"account_verification"}}})
	req.Header.Set("X-CALLBACK-PAYLOAD", "am9iLTE=")
	var created struct{ Member oauthMember }
	if r := e.send(req); r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.body)
	} else {
		r.into(t, &created)
	}
	m := created.Member
	e.click(*m.OAuthWindowURI, "approve")
	if h := rcv.expect("MEMBER", map[string]any{"member_guid": m.GUID, "connection_status": "CONNECTED"}); h.callback != "am9iLTE=" {
		t.Fatalf("MEMBER webhook payload %q", h.callback)
	}
	rcv.expect("VERIFICATION", map[string]any{"member_guid": m.GUID})

	d := e.createOAuth(u, nil)
	e.click(*d.OAuthWindowURI, "deny")
	rcv.expect("MEMBER", map[string]any{"member_guid": d.GUID, "connection_status": "DENIED", "connection_status_id": 2.0})
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": d.GUID, "connection_status": "DENIED"})

	x := e.createOAuth(u, nil)
	rcv.expect("MEMBER", map[string]any{"member_guid": x.GUID, "connection_status": "EXPIRED", "connection_status_id": 19.0})
	rcv.expect("CONNECTION_STATUS", map[string]any{"member_guid": x.GUID, "connection_status": "EXPIRED"})
	rcv.none(100 * time.Millisecond)
}

// TestInstitutionVariety: the connection methods MX's institutions
// overview names, across the simulator's institutions.
func TestInstitutionVariety(t *testing.T) {
	e := newEnv(t)
	var inst struct{ Institution map[string]any }
	e.must(200, "GET", "/institutions/filler_bank_04", nil).into(t, &inst)
	if inst.Institution["supports_oauth"] != true {
		t.Fatalf("filler_bank_04: %v", inst.Institution)
	}
	if creds, _ := e.list("/institutions/filler_bank_05/credentials", "credentials"); len(creds) != 2 || creds[0]["label"] != "Email" {
		t.Fatalf("filler_bank_05 credentials: %v", creds)
	}
	if creds, _ := e.list("/institutions/mx_bank_oauth/credentials", "credentials"); len(creds) != 0 {
		t.Fatalf("mx_bank_oauth credentials: %v", creds)
	}
	u := e.createUser("variety")
	// an institution offering both: OAuth, or credentials
	e.must(202, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "filler_bank_04",
		"is_oauth": true, "credentials": []any{}}, "data_request": map[string]any{"products": []string{"account_verification"}}})
	e.createMemberAt(u, "filler_bank_04", map[string]string{"username": "mxuser", "password": "correct"})
	// a deleted member's window is gone
	m := e.createOAuth(u, nil)
	e.must(204, "DELETE", "/users/"+u+"/members/"+m.GUID, nil)
	if status, _ := e.page(*m.OAuthWindowURI); status != http.StatusGone {
		t.Fatalf("deleted member's page: %d", status)
	}
}
