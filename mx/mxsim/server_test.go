package mxsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

func TestAuthAcceptAndRoutes(t *testing.T) {
	e := newEnv(t)
	// no auth
	req := e.newRequest("GET", "/institutions/mxbank", nil)
	req.Header.Set("Accept", mxAccept)
	if r := e.send(req); r.status != 401 || r.obj(t)["error"] == nil {
		t.Fatalf("no auth: %d %s", r.status, r.body)
	}
	// wrong key
	req = e.newRequest("GET", "/institutions/mxbank", nil)
	req.Header.Set("Accept", mxAccept)
	req.Header.Set("Accept-Version", mxsim.VersionPrevious)
	req.SetBasicAuth(mxsim.DefaultClientID, "nope")
	if r := e.send(req); r.status != 401 {
		t.Fatalf("wrong key: %d", r.status)
	}
	// v20111101: no or wrong Accept
	for _, accept := range []string{"", "application/json", "application/vnd.mx.api.v2+json"} {
		req = e.v1().apiRequest("GET", "/institutions/mxbank", nil)
		req.Header.Del("Accept")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if r := e.send(req); r.status != 406 || r.header.Get("Content-Type") != mxAccept || r.obj(t)["error"] == nil {
			t.Fatalf("v20111101 Accept %q: %d %v %s", accept, r.status, r.header, r.body)
		}
	}
	r := e.v1().must(200, "GET", "/institutions/mxbank", nil)
	if ct := r.header.Get("Content-Type"); ct != mxAccept {
		t.Fatalf("v20111101 Content-Type %q", ct)
	}
	var inst struct{ Institution map[string]any }
	r.into(t, &inst)
	for _, f := range []string{"code", "name", "url", "supports_account_verification", "supports_account_identification",
		"forgot_password_url", "instructional_text_steps", "iso_country_code", "medium_logo_url", "supports_oauth"} {
		if _, ok := inst.Institution[f]; !ok {
			t.Errorf("v20111101 institution has no %s", f)
		}
	}
	// v20250224: Accept absent, */*, application/json or the vnd type
	for _, accept := range []string{"", "*/*", "application/json", mxAccept, "text/html, application/json;q=0.9"} {
		req = e.apiRequest("GET", "/institutions/mxbank", nil)
		req.Header.Del("Accept")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if r := e.send(req); r.status != 200 || r.header.Get("Content-Type") != jsonType {
			t.Fatalf("v20250224 Accept %q: %d %v %s", accept, r.status, r.header, r.body)
		}
	}
	for _, accept := range []string{"text/html", "application/vnd.mx.api.v2+json"} {
		req = e.apiRequest("GET", "/institutions/mxbank", nil)
		req.Header.Set("Accept", accept)
		if r := e.send(req); r.status != 406 || r.header.Get("Content-Type") != jsonType {
			t.Fatalf("v20250224 Accept %q: %d %s", accept, r.status, r.body)
		}
	}
	r = e.must(200, "GET", "/institutions/mxbank", nil)
	inst.Institution = nil
	r.into(t, &inst)
	for _, f := range []string{"code", "guid", "name", "url", "supported_products", "created_at", "is_hidden",
		"forgot_password_url", "instructional_text_steps", "iso_country_code", "medium_logo_url", "supports_oauth"} {
		if _, ok := inst.Institution[f]; !ok {
			t.Errorf("v20250224 institution has no %s", f)
		}
	}
	for _, f := range []string{"supports_account_verification", "supports_account_identification", "supports_account_statement", "supports_transaction_history"} {
		if _, ok := inst.Institution[f]; ok {
			t.Errorf("v20250224 institution has %s (not in its InstitutionResponse)", f)
		}
	}
	if r := e.do("GET", "/no/such/route", nil); r.status != 404 || r.obj(t)["error"] == nil {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "/users", nil); r.status != 404 {
		t.Fatalf("unknown method: %d", r.status)
	}
	// custom credentials
	e2 := newEnv(t, mxsim.WithAuth("id", "key"))
	req = e2.apiRequest("GET", "/institutions/mxbank", nil)
	req.SetBasicAuth("id", "key")
	if r := e2.send(req); r.status != 200 {
		t.Fatalf("WithAuth: %d", r.status)
	}
}

// TestVersionRequired: MX wants Accept-Version on every call since
// 2026-08-12 (406 without it, also with v20111101's Accept alone), and
// answers 406 to a version it does not know. Auth comes first, routes
// after.
func TestVersionRequired(t *testing.T) {
	e := newEnv(t)
	errMessage := func(r resp) string {
		t.Helper()
		var out struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		r.into(t, &out)
		return out.Error.Message
	}
	for _, accept := range []string{"", mxAccept, jsonType} {
		req := e.apiRequest("GET", "/institutions/mxbank", nil)
		req.Header.Del("Accept-Version")
		req.Header.Del("Accept")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		r := e.send(req)
		if r.status != 406 || r.header.Get("Content-Type") != jsonType ||
			string(r.body) != `{"error":{"message":"Accept-Version header is required (e.g. v20250224)"}}` {
			t.Fatalf("no Accept-Version, Accept %q: %d %v %s", accept, r.status, r.header, r.body)
		}
	}
	// blank is missing
	req := e.apiRequest("GET", "/institutions/mxbank", nil)
	req.Header.Set("Accept-Version", " ")
	if r := e.send(req); r.status != 406 || errMessage(r) != "Accept-Version header is required (e.g. v20250224)" {
		t.Fatalf("blank Accept-Version: %d %s", r.status, r.body)
	}
	for _, v := range []string{"v20250225", "20250224", "V20250224", "v1"} {
		req := e.apiRequest("GET", "/institutions/mxbank", nil)
		req.Header.Set("Accept-Version", v)
		r := e.send(req)
		if msg := errMessage(r); r.status != 406 || !strings.Contains(msg, v) ||
			!strings.Contains(msg, mxsim.VersionCurrent) || !strings.Contains(msg, mxsim.VersionPrevious) {
			t.Fatalf("Accept-Version %q: %d %s", v, r.status, r.body)
		}
	}
	// order: auth (401) before version (406) before route (404)
	req = e.newRequest("GET", "/no/such/route", nil)
	if r := e.send(req); r.status != 401 {
		t.Fatalf("no auth, no version: %d", r.status)
	}
	req = e.apiRequest("GET", "/no/such/route", nil)
	req.Header.Del("Accept-Version")
	if r := e.send(req); r.status != 406 {
		t.Fatalf("no version, unknown route: %d", r.status)
	}
	// refused calls are not counted
	if st := e.sim.Stats(); len(st.Calls) != 0 {
		t.Fatalf("counted: %v", st.Calls)
	}
	// faults come before all of it, in the version's media type
	e.sim.SetFaults(mxsim.Faults{ErrorRate: 1})
	if r := e.v1().do("GET", "/institutions/mxbank", nil); r.status < 500 || r.header.Get("Content-Type") != mxAccept {
		t.Fatalf("v20111101 fault: %d %v", r.status, r.header)
	}
	if r := e.do("GET", "/institutions/mxbank", nil); r.status < 500 || r.header.Get("Content-Type") != jsonType {
		t.Fatalf("v20250224 fault: %d %v", r.status, r.header)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("partner-1")
	if r := e.do("POST", "/users", map[string]any{"user": map[string]any{"id": "partner-1"}}); r.status != 409 {
		t.Fatalf("duplicate user id: %d", r.status)
	}
	e.createUser("partner-2")
	if r := e.do("POST", "/users", "{not json"); r.status != 400 {
		t.Fatalf("malformed: %d", r.status)
	}
	if r := e.do("POST", "/users", map[string]any{}); r.status != 400 {
		t.Fatalf("no user: %d", r.status)
	}
	users, pg := e.list("/users?id=partner-1", "users")
	if len(users) != 1 || users[0]["guid"] != u || pg["total_entries"] != 1 {
		t.Fatalf("by id: %v %v", users, pg)
	}
	if users, _ := e.list("/users?email=partner-2@example.com", "users"); len(users) != 1 || users[0]["id"] != "partner-2" {
		t.Fatalf("by email: %v", users)
	}
	if users, _ := e.list("/users", "users"); len(users) != 2 {
		t.Fatalf("all: %v", users)
	}
	var got struct{ User map[string]any }
	e.must(200, "GET", "/users/"+u, nil).into(t, &got)
	for _, f := range []string{"guid", "id", "email", "is_disabled", "metadata"} {
		if _, ok := got.User[f]; !ok {
			t.Errorf("user has no %s", f)
		}
	}
	if !strings.HasPrefix(u, "USR-") {
		t.Errorf("user guid %s", u)
	}
	if r := e.do("DELETE", "/users/"+u, nil); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	e.must(404, "GET", "/users/"+u, nil)
	e.must(404, "GET", "/users/"+u+"/members", nil)
}

func TestInstitutions(t *testing.T) {
	e := newEnv(t)
	e.must(400, "GET", "/institutions", nil)
	e.must(400, "GET", "/institutions?name=", nil)
	e.must(400, "GET", "/institutions?name=bank&page=x", nil)
	items, pg := e.list("/institutions?name=BANK&records_per_page=10", "institutions")
	if len(items) != 10 || pg["total_entries"] != 34 || pg["total_pages"] != 4 || pg["per_page"] != 10 {
		t.Fatalf("page 1: %d %v", len(items), pg)
	}
	if items, pg := e.list("/institutions?name=bank&records_per_page=10&page=4", "institutions"); len(items) != 4 || pg["current_page"] != 4 {
		t.Fatalf("page 4: %d %v", len(items), pg)
	}
	if _, pg := e.list("/institutions?name=bank&records_per_page=101", "institutions"); pg["per_page"] != 25 {
		t.Fatalf("above max: %v", pg)
	}
	if items, _ := e.list("/institutions?name=www.mxbank.com", "institutions"); len(items) != 1 || items[0]["code"] != "mxbank" {
		t.Fatalf("by url: %v", items)
	}
	// v20111101's boolean filters
	v1 := e.v1()
	if items, _ := v1.list("/institutions?name=mx%20bank&supports_account_identification=true", "institutions"); len(items) != 3 || items[0]["code"] != "mxbank" || items[1]["code"] != "mx_bank_oauth" || items[2]["code"] != "mxbank_noverify" {
		t.Fatalf("identification filter: %v", items)
	}
	if items, _ := v1.list("/institutions?name=mx%20bank&supports_account_verification=true", "institutions"); len(items) != 3 {
		t.Fatalf("verification filter: %v", items)
	}
	v1.must(400, "GET", "/institutions?name=bank&supports_account_verification=maybe", nil)
	e.must(404, "GET", "/institutions/nope", nil)
	e.must(404, "GET", "/institutions/nope/credentials", nil)
	// MX Bank's login fields, the same in both versions
	for _, env := range []*env{e, v1} {
		creds, _ := env.list("/institutions/mxbank/credentials", "credentials")
		want := []map[string]any{
			{"guid": "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1", "field_name": "LOGIN", "label": "Username", "field_type": "TEXT", "type": "TEXT", "display_order": 1.0},
			{"guid": "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d", "field_name": "PASSWORD", "label": "Password", "field_type": "PASSWORD", "type": "PASSWORD", "display_order": 2.0},
		}
		if len(creds) != 2 || !maps.Equal(creds[0], want[0]) || !maps.Equal(creds[1], want[1]) {
			t.Fatalf("%s mxbank credentials: %v", env.version, creds)
		}
		noid, _ := env.list("/institutions/mxbank_noid/credentials", "credentials")
		if len(noid) != 2 || noid[0]["guid"] == creds[0]["guid"] || noid[0]["field_name"] != "LOGIN" || noid[1]["field_name"] != "PASSWORD" ||
			noid[0]["label"] != "Username" || noid[1]["label"] != "Password" {
			t.Fatalf("%s mxbank_noid credentials: %v", env.version, noid)
		}
		fill, _ := env.list("/institutions/filler_bank_07/credentials", "credentials")
		if len(fill) != 2 || fill[0]["field_name"] != "LOGIN" || fill[1]["field_name"] != "PASSWORD" {
			t.Fatalf("%s filler credentials: %v", env.version, fill)
		}
	}
}

// TestSupportedProducts: v20250224's institutions carry supported_products
// and list institutions filters on them.
func TestSupportedProducts(t *testing.T) {
	e := newEnv(t)
	products := func(path string) map[string][]any {
		t.Helper()
		items, _ := e.list(path, "institutions")
		out := map[string][]any{}
		for _, it := range items {
			out[it["code"].(string)], _ = it["supported_products"].([]any)
		}
		return out
	}
	got := products("/institutions?name=mx%20bank")
	want := map[string][]any{
		"mxbank":          {"account_verification", "identity_verification", "transactions", "transaction_history"},
		"mxbank_noid":     {"account_verification", "transactions", "transaction_history"},
		"mxbank_noverify": {"identity_verification", "transactions", "transaction_history"},
	}
	if len(got) != 4 || !slices.Equal(got["mx_bank_oauth"], want["mxbank"]) || !slices.Equal(got["mxbank"], want["mxbank"]) || !slices.Equal(got["mxbank_noid"], want["mxbank_noid"]) ||
		!slices.Equal(got["mxbank_noverify"], want["mxbank_noverify"]) {
		t.Fatalf("supported_products: %v", got)
	}
	var one struct{ Institution map[string]any }
	e.must(200, "GET", "/institutions/mxbank_noid", nil).into(t, &one)
	if !slices.Equal(one.Institution["supported_products"].([]any), want["mxbank_noid"]) {
		t.Fatalf("read: %v", one.Institution)
	}
	for query, codes := range map[string][]string{
		"supported_products=identity_verification":                                         {"mxbank", "mx_bank_oauth", "mxbank_noverify"},
		"supported_products[]=identity_verification":                                       {"mxbank", "mx_bank_oauth", "mxbank_noverify"},
		"supported_products=account_verification":                                          {"mxbank", "mx_bank_oauth", "mxbank_noid"},
		"supported_products=account_verification&supported_products=identity_verification": {"mxbank", "mx_bank_oauth"},
		"supported_products=account_verification,identity_verification":                    {"mxbank", "mx_bank_oauth"},
		"supported_products=history":                                                       {"mxbank", "mx_bank_oauth", "mxbank_noid", "mxbank_noverify"},
		"supported_products=transaction_history":                                           {"mxbank", "mx_bank_oauth", "mxbank_noid", "mxbank_noverify"},
		"supported_products=statements":                                                    {},
		"supports_account_identification=true":                                             {"mxbank", "mx_bank_oauth", "mxbank_noid", "mxbank_noverify"}, // not a v20250224 filter
	} {
		got := products("/institutions?name=mx%20bank&" + query)
		if len(got) != len(codes) {
			t.Errorf("%s: %v, want %v", query, got, codes)
		}
		for _, c := range codes {
			if _, ok := got[c]; !ok {
				t.Errorf("%s: %v, want %v", query, got, codes)
			}
		}
	}
	e.must(400, "GET", "/institutions?name=bank&supported_products=payments", nil)
	// filler banks: every third lacks identification
	if items, pg := e.list("/institutions?name=filler&supported_products=identity_verification&records_per_page=100", "institutions"); len(items) != 20 || pg["total_entries"] != 20 {
		t.Fatalf("filler identification: %d %v", len(items), pg)
	}
}

func TestVerifyConnects(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u1")
	m := e.createMember(u, "correct")
	if !strings.HasPrefix(m, "MBR-") {
		t.Fatalf("member guid %s", m)
	}
	// nothing to read before a job connected
	if items, _ := e.list("/users/"+u+"/members/"+m+"/account_numbers", "account_numbers"); len(items) != 0 {
		t.Fatalf("numbers before: %v", items)
	}
	var out struct{ Member map[string]any }
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil).into(t, &out)
	for _, f := range []string{"aggregated_at", "background_aggregation_is_disabled", "connection_status", "connection_status_message",
		"guid", "id", "institution_code", "institution_guid", "is_being_aggregated", "is_managed_by_user", "is_manual", "is_oauth",
		"metadata", "most_recent_job_detail_code", "most_recent_job_detail_text", "most_recent_job_guid", "name",
		"needs_updated_credentials", "oauth_window_uri", "successfully_aggregated_at", "use_cases", "user_guid", "user_id"} {
		if _, ok := out.Member[f]; !ok {
			t.Errorf("member has no %s", f)
		}
	}
	if g, _ := out.Member["most_recent_job_guid"].(string); !strings.HasPrefix(g, "JOB-") {
		t.Errorf("most_recent_job_guid %v, want the job's guid (a string in v20250224)", out.Member["most_recent_job_guid"])
	}
	var v1 struct{ Member map[string]any }
	e.v1().must(200, "GET", "/users/"+u+"/members/"+m, nil).into(t, &v1)
	if g, ok := v1.Member["most_recent_job_guid"]; !ok || g != nil {
		t.Errorf("v20111101 most_recent_job_guid %v, want null (typed boolean in its spec)", g)
	}
	if out.Member["is_being_aggregated"] != true || out.Member["connection_status"] != "CREATED" ||
		!strings.HasPrefix(out.Member["institution_guid"].(string), "INS-") {
		t.Fatalf("verify started: %v", out.Member)
	}
	e.clock.Advance(aggTime / 2)
	if st := e.status(u, m); !st.IsBeingAggregated || st.ConnectionStatus != "CREATED" {
		t.Fatalf("half way: %+v", st)
	}
	e.clock.Advance(aggTime / 2)
	st := e.status(u, m)
	if st.IsBeingAggregated || st.ConnectionStatus != "CONNECTED" || !st.IsAuthenticated || st.SuccessfullyAggregatedAt == nil {
		t.Fatalf("done: %+v", st)
	}
	if _, err := time.Parse(time.RFC3339, *st.SuccessfullyAggregatedAt); err != nil || !strings.HasSuffix(*st.SuccessfullyAggregatedAt, "Z") {
		t.Fatalf("timestamp %q: %v", *st.SuccessfullyAggregatedAt, err)
	}
	nums, pg := e.list("/users/"+u+"/members/"+m+"/account_numbers", "account_numbers")
	if len(nums) != 2 || pg["total_entries"] != 2 || pg["total_pages"] != 1 || pg["current_page"] != 1 || pg["per_page"] != 25 {
		t.Fatalf("numbers: %v %v", nums, pg)
	}
	for _, n := range nums {
		if n["routing_number"] != "091000019" || n["passed_validation"] != true || !strings.HasPrefix(n["guid"].(string), "ACN-") ||
			!strings.HasPrefix(n["account_guid"].(string), "ACT-") || n["member_guid"] != m || n["user_guid"] != u {
			t.Fatalf("number: %v", n)
		}
	}
	owners, _ := e.list("/users/"+u+"/members/"+m+"/account_owners", "account_owners")
	if len(owners) != 2 {
		t.Fatalf("owners: %v", owners)
	}
	for _, f := range []string{"guid", "account_guid", "member_guid", "user_guid", "owner_name", "first_name", "last_name",
		"address", "city", "state", "postal_code", "country", "email", "phone"} {
		if v, _ := owners[0][f].(string); v == "" {
			t.Errorf("owner field %s empty", f)
		}
	}
	// by account
	acct := nums[0]["account_guid"].(string)
	byAcct, _ := e.list("/users/"+u+"/accounts/"+acct+"/account_numbers", "account_numbers")
	if len(byAcct) != 1 || byAcct[0]["guid"] != nums[0]["guid"] {
		t.Fatalf("by account: %v", byAcct)
	}
	e.must(404, "GET", "/users/"+u+"/accounts/ACT-nope/account_numbers", nil)
	// identify on the same member runs and connects too; the data stays
	e.must(202, "POST", "/users/"+u+"/members/"+m+"/identify", nil)
	if st := e.status(u, m); st.ConnectionStatus != "CONNECTED" || !st.IsBeingAggregated {
		t.Fatalf("second job: %+v", st)
	}
	if st := e.finish(u, m); st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
		t.Fatalf("second job done: %+v", st)
	}
	if again, _ := e.list("/users/"+u+"/members/"+m+"/account_numbers", "account_numbers"); again[0]["account_guid"] != acct {
		t.Fatalf("account guids changed: %v", again)
	}
}

func TestMemberCRUD(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u1")
	mxbank := func(pw string) []map[string]string {
		return e.credentials("mxbank", map[string]string{"username": "mxuser", "password": pw})
	}
	path := "/users/" + u + "/members"
	e.must(400, "POST", path, "{")
	e.must(400, "POST", path, map[string]any{"member": map[string]any{"credentials": mxbank("x")}})
	e.must(400, "POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank"}})
	e.must(404, "POST", path, map[string]any{"member": map[string]any{"institution_code": "nope", "credentials": mxbank("x")}})
	e.must(400, "POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank",
		"credentials": []map[string]string{{"guid": "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1", "value": "mxuser"}}}})
	e.must(400, "POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank",
		"credentials": append(mxbank("x"), map[string]string{"guid": "CRD-unknown", "value": "v"})}})
	e.must(404, "POST", "/users/USR-nope/members", map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": mxbank("x")}})

	// created without a data request: a standard aggregation runs (202)
	var out struct{ Member member }
	e.must(202, "POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": mxbank("correct"), "id": "mine"}}).into(t, &out)
	m := out.Member.GUID
	if !out.Member.IsBeingAggregated || out.Member.ConnectionStatus != "CREATED" {
		t.Fatalf("created: %+v", out.Member)
	}
	// duplicate: same user, institution, credential values (either version)
	if r := e.v1().do("POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": mxbank("correct"), "skip_aggregation": true}}); r.status != 409 ||
		!strings.Contains(string(r.body), "member already exists") {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	if r := e.do("POST", path, map[string]any{"member": map[string]any{"institution_code": "mxbank", "credentials": mxbank("correct")},
		"data_request": map[string]any{"products": []string{}}}); r.status != 409 {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	// another password is another member
	other := e.createMember(u, "other")
	// different job running: 409; same job: no-op 202
	e.must(409, "POST", path+"/"+m+"/verify", nil)
	e.must(409, "POST", path+"/"+m+"/identify", nil)
	e.must(202, "POST", path+"/"+m+"/aggregate", nil)
	if st := e.finish(u, m); st.ConnectionStatus != "CONNECTED" {
		t.Fatalf("aggregation: %+v", st)
	}
	e.must(200, "POST", path+"/"+m+"/verify", nil)
	e.must(202, "POST", path+"/"+m+"/verify", nil) // same kind: no-op, 202 (MX's errors page)
	e.must(409, "POST", path+"/"+m+"/aggregate", nil)
	e.finish(u, m)

	members, _ := e.list(path, "members")
	if len(members) != 2 || members[0]["guid"] != m || members[1]["guid"] != other {
		t.Fatalf("list: %v (static members are not listed)", members)
	}
	// update: metadata only, then a password change that aggregates (UPDATED)
	var upd struct{ Member map[string]any }
	e.v1().must(200, "PUT", path+"/"+m, map[string]any{"member": map[string]any{"metadata": "meta", "skip_aggregation": true}}).into(t, &upd)
	if upd.Member["metadata"] != "meta" || upd.Member["is_being_aggregated"] != false {
		t.Fatalf("update metadata: %v", upd.Member)
	}
	// v20250224 has no skip_aggregation
	if r := e.must(400, "PUT", path+"/"+m, map[string]any{"member": map[string]any{"metadata": "x", "skip_aggregation": true}}); !strings.Contains(string(r.body), "skip_aggregation") {
		t.Fatalf("v20250224 skip_aggregation: %s", r.body)
	}
	e.must(200, "PUT", path+"/"+m, map[string]any{"member": map[string]any{"metadata": "meta2"}}).into(t, &upd)
	if upd.Member["metadata"] != "meta2" || upd.Member["is_being_aggregated"] != false {
		t.Fatalf("update metadata: %v", upd.Member)
	}
	e.must(400, "PUT", path+"/"+m, map[string]any{})
	e.must(400, "PUT", path+"/"+m, map[string]any{"member": map[string]any{"credentials": []map[string]string{{"guid": "CRD-x", "value": "y"}}}})
	e.must(200, "PUT", path+"/"+m, map[string]any{"member": map[string]any{"credentials": []map[string]string{
		{"guid": "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d", "value": "LOCKED"}}}}).into(t, &upd)
	if upd.Member["connection_status"] != "UPDATED" || upd.Member["is_being_aggregated"] != true {
		t.Fatalf("update credentials: %v", upd.Member)
	}
	if st := e.finish(u, m); st.ConnectionStatus != "LOCKED" {
		t.Fatalf("after password LOCKED: %+v", st)
	}
	e.must(200, "GET", path+"/"+m, nil)
	if r := e.do("DELETE", path+"/"+m, nil); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d", r.status)
	}
	e.must(404, "GET", path+"/"+m, nil)
	e.must(404, "GET", path+"/"+m+"/status", nil)
	e.must(404, "POST", path+"/"+m+"/verify", nil)
}

func TestIdentifyUnsupported(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u1")
	m := e.createMemberAt(u, "mxbank_noid", map[string]string{"username": "mxuser", "password": "correct"})
	r := e.must(400, "POST", "/users/"+u+"/members/"+m+"/identify", nil)
	if !strings.Contains(string(r.body), "Member's institution does not support account identification.") {
		t.Fatalf("message: %s", r.body)
	}
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
}

func TestChallenges(t *testing.T) {
	cases := []struct {
		password string
		answers  []string
		want     string
		rounds   []string // challenge type of each round
	}{
		{"challenge", []string{"correct"}, "CONNECTED", []string{"TEXT"}},
		{"challenge", []string{"wrong"}, "REJECTED", []string{"TEXT"}},
		{"challenge", []string{"challenge", "correct"}, "CONNECTED", []string{"TEXT", "TEXT"}},
		{"challenge", []string{"challenge", "nope"}, "REJECTED", []string{"TEXT", "TEXT"}},
		{"challenge_again", []string{"correct", "correct"}, "CONNECTED", []string{"TEXT", "TEXT"}},
		{"options", []string{"correct"}, "CONNECTED", []string{"OPTIONS"}},
		{"options", []string{"submarine"}, "REJECTED", []string{"OPTIONS"}},
		{"two_step", []string{"@first", "123456"}, "CONNECTED", []string{"OPTIONS", "TEXT"}},
		{"two_step", []string{"@first", "000000"}, "REJECTED", []string{"OPTIONS", "TEXT"}},
		{"image", []string{"correct"}, "CONNECTED", []string{"IMAGE_DATA"}},
		{"image_options", []string{"correct"}, "CONNECTED", []string{"IMAGE_OPTIONS"}},
		{"image_options", []string{"@data_uri"}, "CONNECTED", []string{"IMAGE_OPTIONS"}},
		{"image_options", []string{"image_1"}, "REJECTED", []string{"IMAGE_OPTIONS"}},
		{"token", []string{"correct"}, "CONNECTED", []string{"TOKEN"}},
	}
	for _, tc := range cases {
		t.Run(tc.password+"/"+strings.Join(tc.answers, ","), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.createUser("u")
			m := e.createMember(u, tc.password)
			path := "/users/" + u + "/members/" + m
			if r := e.do("GET", path+"/challenges", nil); r.status != 204 || len(r.body) != 0 {
				t.Fatalf("challenges before: %d %s", r.status, r.body)
			}
			e.must(405, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{{"guid": "CRD-x", "value": "y"}}}})
			e.must(200, "POST", path+"/verify", nil)
			seen := map[string]bool{}
			for round, a := range tc.answers {
				// waiting for answers, the job is still being aggregated
				st := e.finish(u, m)
				if st.ConnectionStatus != "CHALLENGED" || !st.IsBeingAggregated || st.IsAuthenticated || len(st.Challenges) != 1 {
					t.Fatalf("round %d: %+v", round+1, st)
				}
				ch := st.Challenges[0]
				if typeName(ch.Type) != tc.rounds[round] || !strings.HasPrefix(ch.GUID, "CRD-") || seen[ch.GUID] {
					t.Fatalf("round %d challenge: %+v", round+1, ch)
				}
				// TEXT is written as MX's MFA guide shows it: type 0, field_name null
				if tc.rounds[round] == "TEXT" && (ch.Type != 0.0 || ch.FieldName != nil) || tc.rounds[round] != "TEXT" && ch.Type != tc.rounds[round] {
					t.Fatalf("round %d challenge type %#v field_name %v", round+1, ch.Type, ch.FieldName)
				}
				var read struct{ Member member }
				e.must(200, "GET", path, nil).into(t, &read)
				if !read.Member.IsBeingAggregated || read.Member.ConnectionStatus != "CHALLENGED" {
					t.Fatalf("read while challenged: %+v", read.Member)
				}
				if members, _ := e.list("/users/"+u+"/members", "members"); members[0]["is_being_aggregated"] != true {
					t.Fatalf("list while challenged: %v", members)
				}
				seen[ch.GUID] = true
				switch ch.Type {
				case "OPTIONS":
					if len(ch.Options) < 2 || ch.Options[0].GUID == "" {
						t.Fatalf("options: %+v", ch)
					}
				case "IMAGE_DATA":
					if ch.ImageData == nil || !strings.HasPrefix(*ch.ImageData, "data:image/png;base64,") {
						t.Fatalf("image data: %+v", ch)
					}
				case "IMAGE_OPTIONS":
					if len(ch.ImageOptions) < 2 || !strings.HasPrefix(ch.ImageOptions[0].DataURI, "data:image/") {
						t.Fatalf("image options: %+v", ch)
					}
				}
				// the challenges endpoint agrees with the status, with the
				// spec's string type
				list, pg := e.list(path+"/challenges", "challenges")
				if len(list) != 1 || list[0]["guid"] != ch.GUID || pg["total_entries"] != 1 || list[0]["type"] != tc.rounds[round] {
					t.Fatalf("challenges: %v", list)
				}
				// bad answers: unknown guid, missing answer, malformed
				e.must(400, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{{"guid": "CRD-x", "value": "y"}}}})
				e.must(400, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{}}})
				e.must(400, "PUT", path+"/resume", "{")
				switch a {
				case "@first":
					a = ch.Options[0].Value
				case "@data_uri":
					for _, o := range ch.ImageOptions {
						if o.Value == "correct" {
							a = o.DataURI
						}
					}
				}
				e.answer(u, m, st, a)
				e.must(405, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{{"guid": ch.GUID, "value": a}}}})
				if r := e.do("GET", path+"/challenges", nil); r.status != 204 {
					t.Fatalf("challenges while resumed: %d", r.status)
				}
			}
			st := e.finish(u, m)
			if st.ConnectionStatus != tc.want || st.IsBeingAggregated || len(st.Challenges) != 0 {
				t.Fatalf("end: %+v, want %s", st, tc.want)
			}
			nums, _ := e.list(path+"/account_numbers", "account_numbers")
			if (tc.want == "CONNECTED") != (len(nums) > 0) {
				t.Fatalf("%s with %d numbers", tc.want, len(nums))
			}
		})
	}
}

func TestChallengedJobCollisions(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	m := e.createMember(u, "challenge")
	path := "/users/" + u + "/members/" + m
	e.must(200, "POST", path+"/verify", nil)
	e.finish(u, m)
	// waiting for MFA is still the verify job: a no-op (202)
	var out struct{ Member member }
	e.must(202, "POST", path+"/verify", nil).into(t, &out)
	if out.Member.ConnectionStatus != "CHALLENGED" || !out.Member.IsBeingAggregated {
		t.Fatalf("verify again: %+v", out.Member)
	}
	e.must(409, "POST", path+"/identify", nil)
}

func TestFailures(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	for pw, want := range map[string]string{"UNAUTHORIZED": "DENIED", "LOCKED": "LOCKED", "IMPEDED": "IMPEDED",
		"DISABLED": "DISABLED", "BAD_REQUEST": "FAILED", "correct": "CONNECTED", "password": "CONNECTED"} {
		m := e.createMember(u, pw)
		e.must(202, "POST", "/users/"+u+"/members/"+m+"/identify", nil)
		if st := e.finish(u, m); st.ConnectionStatus != want || st.IsBeingAggregated {
			t.Errorf("password %s: %+v, want %s", pw, st, want)
		}
	}
	m := e.createMemberAt(u, "mxbank", map[string]string{"username": "someone", "password": "correct"})
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	if st := e.finish(u, m); st.ConnectionStatus != "DENIED" {
		t.Errorf("other username: %+v", st)
	}
	var got struct{ Member map[string]any }
	e.must(200, "GET", "/users/"+u+"/members/"+m, nil).into(t, &got)
	if got.Member["needs_updated_credentials"] != true {
		t.Errorf("denied member: %v", got.Member)
	}
	// DEGRADED: the first job degrades, a retry connects
	m = e.createMember(u, "DEGRADED")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	if st := e.finish(u, m); st.ConnectionStatus != "DEGRADED" {
		t.Fatalf("degraded first: %+v", st)
	}
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	if st := e.finish(u, m); st.ConnectionStatus != "CONNECTED" {
		t.Fatalf("degraded retry: %+v", st)
	}
}

func TestManyPaging(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	m := e.createMember(u, "many")
	path := "/users/" + u + "/members/" + m
	e.must(200, "POST", path+"/verify", nil)
	e.finish(u, m)
	seen := map[any]bool{}
	for page, want := range map[int]int{1: 25, 2: 25, 3: 10, 4: 0} {
		items, pg := e.list(path+"/account_numbers?page="+itoa(page), "account_numbers")
		if len(items) != want || pg["total_entries"] != 60 || pg["total_pages"] != 3 || pg["current_page"] != page || pg["per_page"] != 25 {
			t.Fatalf("page %d: %d %v", page, len(items), pg)
		}
		for _, it := range items {
			seen[it["guid"]] = true
		}
	}
	if len(seen) != 60 {
		t.Fatalf("%d distinct numbers", len(seen))
	}
	if owners, pg := e.list(path+"/account_owners?records_per_page=100", "account_owners"); len(owners) != 30 || pg["total_pages"] != 1 {
		t.Fatalf("owners: %d %v", len(owners), pg)
	}
	if _, pg := e.list(path+"/account_numbers?records_per_page=5", "account_numbers"); pg["per_page"] != 10 || pg["total_pages"] != 6 {
		t.Fatalf("below min: %v", pg)
	}
	if _, pg := e.list(path+"/account_numbers?records_per_page=5000", "account_numbers"); pg["per_page"] != 25 {
		t.Fatalf("above max: %v", pg)
	}
	if items, pg := e.list(path+"/account_numbers?records_per_page=1000", "account_numbers"); len(items) != 60 || pg["per_page"] != 1000 {
		t.Fatalf("max: %d %v", len(items), pg)
	}
	e.must(400, "GET", path+"/account_numbers?records_per_page=ten", nil)
	e.must(400, "GET", path+"/account_owners?page=1.5", nil)
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStaticMembers(t *testing.T) {
	e := newEnv(t)
	a, b := e.createUser("a"), e.createUser("b")
	count := func(u, m, what string) int {
		items, _ := e.list("/users/"+u+"/members/"+m+"/"+what, what)
		return len(items)
	}
	for m, want := range map[string][2]int{"test_nexus_member": {2, 2}, "unverified": {0, 2}, "unidentified": {2, 0}} {
		if n, o := count(a, m, "account_numbers"), count(a, m, "account_owners"); n != want[0] || o != want[1] {
			t.Errorf("%s: %d numbers, %d owners; want %v", m, n, o, want)
		}
		var got struct{ Member member }
		e.must(200, "GET", "/users/"+a+"/members/"+m, nil).into(t, &got)
		if got.Member.ConnectionStatus != "CONNECTED" || got.Member.InstitutionCode != "mxbank" {
			t.Errorf("%s: %+v", m, got.Member)
		}
	}
	if members, _ := e.list("/users/"+a+"/members", "members"); len(members) != 0 {
		t.Fatalf("static members are listed: %v", members)
	}
	// a job on a's static member does not touch b's
	e.must(200, "POST", "/users/"+a+"/members/unverified/verify", nil)
	if st := e.status(a, "unverified"); !st.IsBeingAggregated {
		t.Fatalf("a: %+v", st)
	}
	if st := e.status(b, "unverified"); st.IsBeingAggregated {
		t.Fatalf("b: %+v", st)
	}
	if st := e.finish(a, "unverified"); st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
		t.Fatalf("a after: %+v", st)
	}
	if n := count(a, "unverified", "account_numbers"); n != 0 {
		t.Fatalf("unverified got %d numbers", n)
	}
	e.must(202, "POST", "/users/"+b+"/members/unidentified/identify", nil)
	e.must(404, "GET", "/users/USR-nope/members/test_nexus_member", nil)
	// the static accounts are reachable by account
	nums, _ := e.list("/users/"+a+"/members/test_nexus_member/account_numbers", "account_numbers")
	if items, _ := e.list("/users/"+a+"/accounts/"+nums[0]["account_guid"].(string)+"/account_numbers", "account_numbers"); len(items) != 1 {
		t.Fatalf("static by account: %v", items)
	}
	e.must(404, "GET", "/users/"+b+"/accounts/"+nums[0]["account_guid"].(string)+"/account_numbers", nil)
}

func TestChallengeExpires(t *testing.T) {
	e := newEnv(t, mxsim.WithMFAWindow(time.Minute))
	u := e.createUser("u")
	m := e.createMember(u, "challenge")
	path := "/users/" + u + "/members/" + m
	e.must(200, "POST", path+"/verify", nil)
	challenged := e.finish(u, m)
	if challenged.ConnectionStatus != "CHALLENGED" {
		t.Fatalf("%+v", challenged)
	}
	e.clock.Advance(time.Minute - time.Second)
	if st := e.status(u, m); st.ConnectionStatus != "CHALLENGED" {
		t.Fatalf("before the window: %+v", st)
	}
	e.clock.Advance(time.Second)
	if st := e.status(u, m); st.ConnectionStatus != "EXPIRED" || st.IsBeingAggregated || len(st.Challenges) != 0 {
		t.Fatalf("after the window: %+v", st)
	}
	e.must(405, "PUT", path+"/resume", map[string]any{"member": map[string]any{"challenges": []map[string]string{{"guid": challenged.Challenges[0].GUID, "value": "correct"}}}})
	if r := e.do("GET", path+"/challenges", nil); r.status != 204 {
		t.Fatalf("challenges: %d", r.status)
	}
	// a new job starts over
	e.must(202, "POST", path+"/identify", nil)
	if st := e.finish(u, m); st.ConnectionStatus != "CHALLENGED" {
		t.Fatalf("new job: %+v", st)
	}
}

func TestWidgetURL(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("partner-7")
	e.must(400, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"mode": "verification"}})
	e.must(400, "POST", "/users/"+u+"/widget_urls", map[string]any{})
	e.must(404, "POST", "/users/USR-x/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget"}})
	var out struct {
		WidgetURL struct {
			Type, URL string
			UserID    string `json:"user_id"`
		} `json:"widget_url"`
	}
	e.must(200, "POST", "/users/"+u+"/widget_urls", map[string]any{"widget_url": map[string]any{"widget_type": "connect_widget", "mode": "verification"}}).into(t, &out)
	if out.WidgetURL.Type != "connect_widget" || out.WidgetURL.UserID != "partner-7" || !strings.HasPrefix(out.WidgetURL.URL, e.srv.URL+"/_sim/connect/") {
		t.Fatalf("%+v", out)
	}
	res, err := http.Get(out.WidgetURL.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(page), "<title>MX Connect (simulated)</title>") {
		t.Fatalf("page: %d %s", res.StatusCode, page)
	}
}

func TestScenarioTable(t *testing.T) {
	e := newEnv(t)
	req := e.newRequest("GET", "/_sim/scenarios", nil)
	r := e.send(req)
	var out struct{ Scenarios []mxsim.Scenario }
	r.into(t, &out)
	var names []string
	for _, sc := range out.Scenarios {
		names = append(names, sc.Name)
	}
	want := []string{"success", "challenge", "challenge_followup", "challenge_again", "challenge_wrong", "options", "two_step",
		"image", "image_options", "token", "denied", "locked", "impeded", "disabled", "bad_request", "degraded", "expired",
		"many", "kyc_match", "kyc_no_match", "test_nexus_member", "unverified", "unidentified"}
	if !slices.Equal(names, want) {
		t.Fatalf("scenarios %v\nwant %v", names, want)
	}
	local, _ := json.Marshal(mxsim.Scenarios())
	served, _ := json.Marshal(out.Scenarios)
	if string(local) != string(served) {
		t.Fatalf("GET /_sim/scenarios differs from Scenarios()")
	}
	if !strings.Contains(string(r.body), `"answers": []`) {
		t.Errorf("answers must be a list, never null")
	}
	documented := []string{"success", "challenge", "challenge_followup", "challenge_wrong", "options", "image", "denied", "bad_request"}
	for _, sc := range out.Scenarios {
		switch {
		case slices.Contains(documented, sc.Name):
			if sc.Source != mxsim.SourceMXDocs || sc.Doc != "https://docs.mx.com/resources/test-platform/mxbank/" ||
				sc.InstitutionCode != "mxbank" || sc.Credentials["username"] != "mxuser" {
				t.Errorf("%s: %+v", sc.Name, sc)
			}
		case sc.Source != mxsim.SourceSimulator:
			t.Errorf("%s: source %q", sc.Name, sc.Source)
		}
	}
	if !strings.Contains(string(r.body), `"source": "mx-docs"`) || !strings.Contains(string(r.body), `"source": "simulator"`) {
		t.Errorf("sources not served")
	}
}

// TestScenariosEndToEnd drives every scenario of the table straight
// through the API, as a fleet would, in both versions, and checks the
// expected status.
func TestScenariosEndToEnd(t *testing.T) {
	for _, version := range []string{mxsim.VersionCurrent, mxsim.VersionPrevious} {
		for _, sc := range mxsim.Scenarios() {
			for _, kind := range sc.Kinds {
				t.Run(version+"/"+sc.Name+"/"+kind, func(t *testing.T) {
					t.Parallel()
					driveScenario(newEnv(t).in(version), sc, kind)
				})
			}
		}
	}
}

// driveScenario runs a scenario's job of a kind to its end on a fresh
// user and checks that it ends as the scenario says.
func driveScenario(e *env, sc mxsim.Scenario, kind string) {
	t := e.t
	t.Helper()
	u := e.createUser(e.version + "-" + sc.Name + "-" + kind) // unique in a shared simulator
	m := sc.MemberGUID
	if m == "" {
		m = e.createMemberAt(u, sc.InstitutionCode, sc.Credentials)
	}
	path := "/users/" + u + "/members/" + m
	start := func() {
		if kind == "verify" {
			e.must(200, "POST", path+"/verify", nil)
		} else {
			e.must(202, "POST", path+"/identify", nil)
		}
	}
	start()
	rounds, restarts := 0, 0
	var st member
	for {
		st = e.finish(u, m)
		if st.ConnectionStatus == "CHALLENGED" {
			e.do("GET", path+"/challenges", nil)
			if rounds == len(sc.Answers) {
				e.clock.Advance(mxsim.DefaultMFAWindow) // left unanswered
				st = e.status(u, m)
				break
			}
			a := sc.Answers[rounds]
			if a == "@first" {
				a = st.Challenges[0].Options[0].Value
			}
			e.answer(u, m, st, a)
			rounds++
			continue
		}
		if st.ConnectionStatus == "DEGRADED" && restarts == 0 {
			restarts++
			start()
			continue
		}
		break
	}
	want := sc.Expect.ConnectionStatus
	if sc.Expect.ErrorCode == "challenge_expired" {
		want = "EXPIRED"
	}
	if st.ConnectionStatus != want || rounds != len(sc.Answers) {
		t.Fatalf("ended %s after %d rounds, want %s after %d", st.ConnectionStatus, rounds, want, len(sc.Answers))
	}
	what := map[string]string{"verify": "account_numbers", "identify": "account_owners"}[kind]
	items, _ := e.list(path+"/"+what+"?records_per_page=1000", what)
	if sc.Expect.State == "succeeded" && len(items) == 0 || sc.Expect.ErrorCode == "no_results" && len(items) != 0 {
		t.Fatalf("%s: %d %s", sc.Expect.State, len(items), what)
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("u")
	m := e.createMember(u, "correct")
	e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	e.must(202, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
	e.status(u, m)
	e.must(404, "GET", "/users/"+u+"/members/MBR-nope", nil)
	st := e.sim.Stats()
	if st.Calls["createUser"] != 1 || st.Calls["createMember"] != 1 || st.Calls["verifyMember"] != 2 ||
		st.Calls["readMemberStatus"] != 1 || st.Calls["listInstitutionCredentials"] != 1 || st.Calls["readMember"] != 1 {
		t.Fatalf("calls %v", st.Calls)
	}
	if st.Members[m]["verifyMember"] != 2 || st.Members[m]["readMemberStatus"] != 1 || st.Members["MBR-nope"]["readMember"] != 1 {
		t.Fatalf("members %v", st.Members)
	}
	st.Calls["createUser"] = 99 // a copy
	st.Members[m]["verifyMember"] = 99
	if e.sim.Stats().Calls["createUser"] != 1 || e.sim.Stats().Members[m]["verifyMember"] != 2 {
		t.Fatal("Stats shares its maps")
	}
	// unauthenticated calls do not count
	req := e.newRequest("GET", "/users/"+u, nil)
	req.Header.Set("Accept", mxAccept)
	e.send(req)
	if e.sim.Stats().Calls["readUser"] != 0 {
		t.Fatal("counted an unauthenticated call")
	}
	var served mxsim.Stats
	e.send(e.newRequest("GET", "/_sim/stats", nil)).into(t, &served)
	if served.Calls["verifyMember"] != 2 || served.Members[m]["verifyMember"] != 2 {
		t.Fatalf("served %+v", served)
	}
	if r := e.send(e.newRequest("POST", "/_sim/reset-stats", nil)); r.status != 200 {
		t.Fatalf("reset: %d", r.status)
	}
	if st := e.sim.Stats(); len(st.Calls) != 0 || len(st.Members) != 0 {
		t.Fatalf("after reset %+v", st)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	e.sim.SetFaults(mxsim.Faults{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond})
	r := e.do("GET", "/institutions/mxbank", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "2" || r.obj(t)["error"] == nil {
		t.Fatalf("429: %d %v %s", r.status, r.header, r.body)
	}
	e.sim.SetFaults(mxsim.Faults{RateLimitRate: 1})
	if r := e.do("GET", "/institutions/mxbank", nil); r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After at least 1: %v", r.header)
	}
	e.sim.SetFaults(mxsim.Faults{ErrorRate: 1})
	for range 10 {
		if r := e.do("GET", "/institutions/mxbank", nil); r.status < 500 || r.status > 503 || r.obj(t)["error"] == nil {
			t.Fatalf("5xx: %d %s", r.status, r.body)
		}
	}
	// the simulator's own routes never fail
	if r := e.send(e.newRequest("GET", "/_sim/scenarios", nil)); r.status != 200 {
		t.Fatalf("/_sim under faults: %d", r.status)
	}
	if n := e.sim.Stats().Calls["readInstitution"]; n != 0 {
		t.Fatalf("faulted calls counted: %d", n)
	}
	e.sim.SetFaults(mxsim.Faults{DropRate: 1})
	req := e.newRequest("GET", "/institutions/mxbank", nil)
	req.SetBasicAuth(mxsim.DefaultClientID, mxsim.DefaultAPIKey)
	req.Header.Set("Accept", mxAccept)
	if res, err := e.srv.Client().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("drop: got %d", res.StatusCode)
	}
	// latency honours cancellation
	e.sim.SetFaults(mxsim.Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req = e.newRequest("GET", "/institutions/mxbank", nil).WithContext(ctx)
	begin := time.Now()
	if res, err := e.srv.Client().Do(req); err == nil {
		res.Body.Close()
		t.Fatal("latency: answered")
	}
	if time.Since(begin) > 5*time.Second {
		t.Fatal("latency ignored the cancellation")
	}
	e.sim.SetFaults(mxsim.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond})
	begin = time.Now()
	e.must(200, "GET", "/institutions/mxbank", nil)
	if d := time.Since(begin); d < 20*time.Millisecond {
		t.Fatalf("latency: answered in %v", d)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	e := newEnv(t, mxsim.WithFaults(mxsim.Faults{Latency: time.Millisecond}))
	var f map[string]any
	e.send(e.newRequest("GET", "/_sim/faults", nil)).into(t, &f)
	if f["latency"] != "1ms" {
		t.Fatalf("initial faults %v", f)
	}
	r := e.send(e.newRequest("POST", "/_sim/faults", `{"latency":"50ms","jitter":"10ms","error_rate":0.5,"rate_limit_rate":0.25,"retry_after":"3s","drop_rate":0.1,"forbidden_rate":0.2}`))
	if r.status != 200 {
		t.Fatalf("set: %d %s", r.status, r.body)
	}
	want := mxsim.Faults{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, ErrorRate: 0.5, RateLimitRate: 0.25, RetryAfter: 3 * time.Second, DropRate: 0.1, ForbiddenRate: 0.2}
	var got mxsim.Faults
	e.send(e.newRequest("GET", "/_sim/faults", nil)).into(t, &got)
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	b, _ := json.Marshal(want)
	if !strings.Contains(string(b), `"retry_after":"3s"`) {
		t.Fatalf("marshal: %s", b)
	}
	for _, bad := range []string{`{"error_rate":2}`, `{"latency":"soon"}`, `{`} {
		if r := e.send(e.newRequest("POST", "/_sim/faults", bad)); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	e.sim.SetFaults(mxsim.Faults{})
}

// TestConcurrentUse runs members in parallel against one simulator under
// the race detector, on the real clock.
func TestConcurrentUse(t *testing.T) {
	sim := mxsim.New(mxsim.WithAggregationTime(5 * time.Millisecond))
	srv := newServer(t, sim)
	for i := range 8 {
		t.Run("member"+itoa(i), func(t *testing.T) {
			t.Parallel()
			e := &env{t: t, sim: sim, srv: srv}
			u := e.createUser("c" + itoa(i))
			m := e.createMember(u, "correct")
			e.must(200, "POST", "/users/"+u+"/members/"+m+"/verify", nil)
			testenv.Until(t, testenv.Context(t, 10*time.Second), "member "+m+" connected", func() error {
				if st := e.status(u, m); st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
					return fmt.Errorf("%+v", st)
				}
				_ = sim.Stats()
				return nil
			})
		})
	}
}

// Updating a member's credentials to those of another member of the same
// user at the same institution is MX's duplicate member, 409 (MX's
// "Creating a New Member" guide); the member keeps its credentials and no
// job starts. The same credentials on the member itself, or on a member
// of another user, are no duplicate. Both versions; every exchange is
// checked against the version's spec.
func TestUpdateMemberDuplicate(t *testing.T) {
	sc := checkedVersions(t, func(e *env) {
		t := e.t
		u := e.createUser("dup-" + e.version)
		kept := e.createMember(u, "correct")
		m := e.createMember(u, "UNAUTHORIZED")
		path := "/users/" + u + "/members/" + m
		update := func(password string) map[string]any {
			mb := map[string]any{"credentials": e.credentials("mxbank", map[string]string{"username": "mxuser", "password": password})}
			if !e.current() {
				mb["skip_aggregation"] = true
			}
			return map[string]any{"member": mb}
		}
		r := e.must(409, "PUT", path, update("correct"))
		if !strings.Contains(string(r.body), "member already exists") || strings.Contains(string(r.body), kept) {
			t.Fatalf("duplicate update: %s", r.body)
		}
		if st := e.status(u, m); st.IsBeingAggregated || st.ConnectionStatus != "CREATED" {
			t.Fatalf("after the refused update: %+v", st)
		}
		if n := e.sim.Stats().Jobs[m]; n != 0 {
			t.Fatalf("jobs on %s: %d", m, n)
		}
		// its own credentials again: no duplicate
		e.must(200, "PUT", path, update("UNAUTHORIZED"))
		if e.current() {
			e.finish(u, m)
		}
		// another user's member with those credentials: no duplicate
		other := e.createUser("dup-other-" + e.version)
		om := e.createMember(other, "LOCKED")
		e.must(200, "PUT", "/users/"+other+"/members/"+om, update("correct"))
	})
	sc.Report(t, "updateMember")
}
