package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mxfleet/mxfleet/internal/institutions"
)

// Institution search and detail over HTTP, every response checked against
// openapi.json: the second call of each answers from the fleet's cache
// (X-Cache: hit, no MX call), and bad input gets a clear 4xx.
func TestInstitutionsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	defer e.v.check(t)
	calls := func() int {
		st := e.f.Sim.Stats().Calls
		return st["listInstitutions"] + st["readInstitution"] + st["listInstitutionCredentials"]
	}
	for i, want := range []string{"miss", "hit"} {
		before := calls()
		code, h, b := e.req(t, "GET", "/v1/institutions?name=MX%20Bank", token, nil)
		var p institutions.Page
		if code != http.StatusOK || json.Unmarshal(b, &p) != nil || h.Get("X-Cache") != want || len(p.Institutions) == 0 {
			t.Fatalf("search %d: %d %s %s", i, code, h.Get("X-Cache"), truncate(b))
		}
		if want == "hit" && calls() != before {
			t.Fatalf("a cached search called MX")
		}
		before = calls()
		code, h, b = e.req(t, "GET", "/v1/institutions/mxbank", token, nil)
		var in institutions.Institution
		if code != http.StatusOK || json.Unmarshal(b, &in) != nil || h.Get("X-Cache") != want ||
			!in.SupportsVerification || len(in.Credentials) != 2 || in.Credentials[1].FieldName != "PASSWORD" {
			t.Fatalf("detail %d: %d %s %s", i, code, h.Get("X-Cache"), truncate(b))
		}
		if want == "hit" && calls() != before {
			t.Fatalf("a cached detail called MX")
		}
	}
	for _, c := range []struct {
		path string
		code int
		err  string
	}{
		{"/v1/institutions", 400, "invalid_request"},
		{"/v1/institutions?name=bank&page=0", 400, "invalid_paging"},
		{"/v1/institutions?name=bank&page=x", 400, "invalid_paging"},
		{"/v1/institutions/no_such_bank", 404, "not_found"},
		{"/v1/institutions/bad%20code", 400, "invalid_code"},
	} {
		code, b := e.do(t, "GET", c.path, token, nil)
		if code != c.code || errCode(b) != c.err {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, code, truncate(b), c.code, c.err)
		}
	}
	if code, _ := e.do(t, "GET", "/v1/institutions/mxbank", "", nil); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
}
