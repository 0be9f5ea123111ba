package mxsim_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/mxfleet/mxfleet/internal/harness/mxspec"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// check hands one exchange of the tests' env to the spec checker.
func check(c *mxspec.Checker) func(req *http.Request, r resp) {
	return func(req *http.Request, r resp) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
		}
		c.Check(req, body, r.status, r.header, r.body)
	}
}

// checkedVersions runs fn in each API version, as a subtest, on one env
// whose every exchange is checked against its version's spec; the checker
// is returned for its report.
func checkedVersions(t *testing.T, fn func(e *env)) *mxspec.Checker {
	base := newEnv(t)
	sc := mxspec.NewChecker(t, base.srv.URL)
	base.observe = check(sc)
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		t.Run(version, func(t *testing.T) {
			e := base.in(version)
			e.t = t
			fn(e)
		})
	}
	return sc
}

// TestConformanceWithMXSpecs checks every request these tests write by
// hand, and every answer, against the spec of the request's version (the
// client's conformance test does the same through the client). The shapes
// MX documents outside its spec are mxspec.Departures.
func TestConformanceWithMXSpecs(t *testing.T) {
	sc := checkedVersions(t, func(e *env) {
		for _, s := range mxsim.Scenarios() {
			for _, kind := range s.Kinds {
				e.t.Run(s.Name+"/"+kind, func(t *testing.T) {
					e := e.in(e.version)
					e.t = t
					driveScenario(e, s, kind)
				})
			}
		}
		e.t.Run("other calls", func(t *testing.T) {
			e := e.in(e.version)
			e.t = t
			exerciseEveryCall(e)
		})
	})
	sc.Report(t, "createUser", "readUser", "listUsers", "updateUser", "deleteUser", "listInstitutions", "readInstitution",
		"listInstitutionCredentials", "createMember", "readMember", "listMembers", "updateMember", "deleteMember", "readMemberStatus",
		"identifyMember", "verifyMember", "aggregateMember", "listMemberChallenges", "resumeAggregation", "listAccountOwnersByMember",
		"listAccountNumbersByMember", "listAccountNumbersByAccount", "requestWidgetURL", "requestOAuthWindowURI")
	for _, d := range mxspec.Departures {
		if sc.Departed(d.Name) == 0 {
			t.Errorf("departure %q never exercised", d.Name)
		}
	}
}

// exerciseEveryCall makes the calls the scenarios do not.
func exerciseEveryCall(e *env) {
	t := e.t
	var out struct{ User map[string]any }
	e.must(200, "POST", "/users", map[string]any{"user": map[string]any{"id": "every-" + e.version, "email": "e@example.com", "metadata": "m"}}).into(t, &out)
	u := out.User["guid"].(string)
	e.must(200, "POST", "/users", map[string]any{"user": map[string]any{"metadata": "no email"}}) // email null / absent
	e.must(200, "GET", "/users/"+u, nil)
	e.must(200, "GET", "/users?records_per_page=100", nil)
	e.must(200, "GET", "/users?id=every-"+e.version, nil)
	e.must(200, "PUT", "/users/"+u, map[string]any{"user": map[string]any{"metadata": "n"}})
	e.must(200, "GET", "/institutions?name=bank&records_per_page=10&page=2", nil)
	if e.current() {
		e.must(200, "GET", "/institutions?name=mx&supported_products=account_verification&supported_products=identity_verification", nil)
	} else {
		e.must(200, "GET", "/institutions?name=mx&supports_account_verification=true", nil)
	}
	e.must(200, "GET", "/institutions/mxbank", nil)
	e.must(200, "GET", "/institutions/mxbank/credentials", nil)

	creds := func(pw string) []map[string]string {
		return e.credentials("mxbank", map[string]string{"username": "mxuser", "password": pw})
	}
	members := "/users/" + u + "/members"
	var created struct{ Member map[string]any }
	if e.current() {
		e.must(202, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": creds("a"), "id": "pm",
			"metadata": "x", "use_cases": []string{"PFM"}}, "data_request": map[string]any{"products": []string{"account_verification"}},
			"client_redirect_url": "https://example.com", "enable_app2app": false, "referral_source": "APP"}).into(t, &created)
		e.must(201, "POST", "/users/"+u+"/members", map[string]any{"member": map[string]any{"institution_code": "mxbank_noid",
			"credentials": e.credentials("mxbank_noid", map[string]string{"username": "mxuser", "password": "b"})},
			"data_request": map[string]any{"products": []string{"identity_verification"}}})
	} else {
		e.must(200, "POST", members, map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": creds("a"), "id": "pm",
			"metadata": "x", "use_cases": []string{"PFM"}, "skip_aggregation": false}}).into(t, &created)
	}
	m := created.Member["guid"].(string)
	path := members + "/" + m
	e.must(200, "GET", path, nil)
	e.must(200, "GET", members, nil)
	e.status(u, m)
	if e.current() {
		e.must(202, "POST", path+"/verify", nil)
	} else {
		e.must(202, "POST", path+"/aggregate", nil)
	}
	e.finish(u, m)
	e.must(200, "POST", path+"/verify", nil)
	e.must(202, "POST", path+"/verify", nil)
	e.finish(u, m)
	e.must(202, "POST", path+"/identify", nil)
	e.finish(u, m)
	e.must(202, "POST", path+"/aggregate", nil)
	e.finish(u, m)
	nums, _ := e.list(path+"/account_numbers", "account_numbers")
	e.list(path+"/account_owners", "account_owners")
	e.list("/users/"+u+"/accounts/"+nums[0]["account_guid"].(string)+"/account_numbers", "account_numbers")
	e.must(200, "PUT", path, map[string]any{"member": map[string]any{"metadata": "y", "credentials": creds("challenge")}})
	if st := e.finish(u, m); st.ConnectionStatus != "CHALLENGED" || !slices.ContainsFunc(st.Challenges, func(c struct {
		GUID         string  `json:"guid"`
		Label        string  `json:"label"`
		FieldName    *string `json:"field_name"`
		Type         any     `json:"type"`
		ImageData    *string `json:"image_data"`
		Options      []struct{ GUID, Label, Value string }
		ImageOptions []struct {
			GUID, Label, Value string
			DataURI            string `json:"data_uri"`
		} `json:"image_options"`
	}) bool {
		return typeName(c.Type) == "TEXT"
	}) {
		t.Fatalf("challenged: %+v", st)
	}
	e.list(path+"/challenges", "challenges")
	e.answer(u, m, e.status(u, m), "correct")
	e.finish(u, m)
	e.must(204, "GET", path+"/challenges", nil)
	e.must(200, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget",
		"mode": "verification", "color_scheme": "dark"}})
	if e.current() {
		e.must(200, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget",
			"data_request": map[string]any{"products": []string{"account_verification"}}}})
	}
	// OAuth: a member without credentials, its window URI with every
	// documented option
	e.list("/institutions/mx_bank_oauth/credentials", "credentials")
	oauth := map[string]any{"member": map[string]any{"institution_code": "mx_bank_oauth", "is_oauth": true, "credentials": []any{}, "id": "om"},
		"client_redirect_url": "https://example.com/cb", "enable_app2app": false, "referral_source": "APP", "ui_message_webview_url_scheme": "myapp"}
	want := 200
	if e.current() {
		oauth["data_request"] = map[string]any{"products": []string{"identity_verification"}}
		want = 202
	}
	var om struct{ Member map[string]any }
	e.must(want, "POST", members, oauth).into(t, &om)
	opath := members + "/" + om.Member["guid"].(string)
	e.must(200, "GET", opath+"/oauth_window_uri?client_redirect_url="+url.QueryEscape("https://example.com/cb")+
		"&enable_app2app=false&referral_source=APP&skip_aggregation=false&ui_message_webview_url_scheme=myapp", nil)
	e.must(200, "GET", opath+"/oauth_window_uri", nil)
	e.must(200, "GET", opath, nil)
	e.status(u, om.Member["guid"].(string))
	e.must(404, "GET", "/users/"+u+"/members/MBR-nope", nil)
	e.must(204, "DELETE", path, nil)
	e.must(204, "DELETE", "/users/"+u, nil)
}
