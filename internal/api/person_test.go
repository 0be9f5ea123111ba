package api_test

import (
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
)

// An identify job with a person over HTTP: the job shows person_given, then
// the owner match (per owner and field, the verdict and the thresholds),
// never the person; every exchange matches openapi.json; the same id with
// another person is a conflict; misplaced, empty, unknown and oversized
// person data are refused at submit; the API logs none of it.
func TestIdentifyWithPersonOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	job := `{"kind":"identify","id":"kyc-1",
  "user":{"id":"customer-42"},
  "member":{"institution_code":"mxbank","credentials":{"username":"mxuser","password":"correct"}},
  "person":{"name":"DARKO, DONALD","email":"Donnie.Darko@Example.com","phone":"(555) 555-1000",
    "address":{"line1":"100 MAIN ST","city":"Middlesex","state":"Virginia","postal_code":"00000","country":"USA"}}}`
	secrets := []string{"DARKO, DONALD", "Donnie.Darko@Example.com", "(555) 555-1000", "100 MAIN ST", "Virginia"}
	code, b := e.do(t, "POST", "/v1/jobs", token, job)
	if code != 202 || !strings.Contains(string(b), `"person_given":true`) {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "kyc-1", func(v store.View) bool { return v.State.Terminal() })
	m := v.Match
	if v.State != store.StateSucceeded || m == nil {
		t.Fatalf("job: %+v", v)
	}
	if m.Verdict != match.Match || m.Best != 0 || m.MatchThreshold != 85 || m.PartialThreshold != 50 || len(m.Owners) != len(v.Result.AccountOwners) {
		t.Fatalf("match: %+v", m)
	}
	for f, want := range map[match.Field]int{match.FieldName: 95, match.FieldAddress: 100, match.FieldPhone: 100, match.FieldEmail: 100} {
		if got := m.Owners[0].Field(f); got.Score != want || got.Verdict != match.Match {
			t.Errorf("first owner's %s: %+v, want %d", f, got, want)
		}
	}
	if m.Owners[1].Verdict != match.NoMatch {
		t.Errorf("second owner (Gretchen Ross): %+v", m.Owners[1])
	}
	code, b = e.do(t, "GET", "/v1/jobs/kyc-1", token, nil)
	if code != 200 || !strings.Contains(string(b), `"match":{"verdict":"match"`) {
		t.Fatalf("GET: %d %s", code, b)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the job shows the person's %q back", s)
		}
	}
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 200 {
		t.Fatalf("the same request again: %d %s", code, b)
	}
	other := strings.Replace(job, "(555) 555-1000", "555-555-9999", 1)
	if code, b := e.do(t, "POST", "/v1/jobs", token, other); code != 409 || errCode(b) != "id_conflict" || !strings.Contains(string(b), "person") {
		t.Fatalf("another person under the same id: %d %s", code, b)
	}

	base := func(kind, person string) string {
		return `{"kind":"` + kind + `","user":{"id":"u"},"member":{"institution_code":"mxbank","credentials":{"username":"mxuser","password":"correct"}},"person":` + person + `}`
	}
	for _, c := range []struct {
		name, body, code, says string
	}{
		{"verify", base("verify", `{"name":"Donnie Darko"}`), "invalid_request", "only identify jobs"},
		{"follow", `{"kind":"follow","user":{"guid":"USR-1"},"member":{"guid":"MBR-1"},"person":{"name":"Donnie Darko"}}`, "invalid_request", "only identify jobs"},
		{"empty", base("identify", `{}`), "invalid_request", "at least one"},
		{"blank", base("identify", `{"name":" ","address":{}}`), "invalid_request", "at least one"},
		{"unknown field", base("identify", `{"name":"Donnie Darko","ssn":"123-45-6789"}`), "unknown_field", "ssn"},
		{"unknown address field", base("identify", `{"address":{"street":"100 Main St"}}`), "unknown_field", "street"},
		{"not a string", base("identify", `{"name":42}`), "malformed_json", "person.name"},
		{"too long", base("identify", `{"name":"`+strings.Repeat("D", 257)+`"}`), "invalid_request", "person: name is 257 bytes, at most 256"},
		{"control character", base("identify", `{"email":"a@b.c\r\nBcc: x"}`), "invalid_request", "person: email holds a control character"},
	} {
		code, b := e.do(t, "POST", "/v1/jobs", token, c.body)
		if code != 400 || errCode(b) != c.code || !strings.Contains(string(b), c.says) || strings.Contains(string(b), "Darko") {
			t.Errorf("%s: %d %s, want 400 %s saying %q", c.name, code, b, c.code, c.says)
		}
	}
	for _, s := range secrets {
		if strings.Contains(e.log.String(), s) {
			t.Errorf("the API logged the person's %q", s)
		}
	}
	e.v.check(t)
}

// An identify job's own thresholds over HTTP: refused at submit when they
// make no sense or have no owner match to decide (400, before anything is
// stored), else kept and shown with the verdict they decided, with each
// owner's flags; the same id with other thresholds is a conflict.
func TestIdentifyThresholdsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	const bank = `"user":{"id":"u-th"},"member":{"institution_code":"mxbank","credentials":{"username":"mxuser","password":"correct"}}`
	const person = `"person":{"name":"DARKO, DONALD","phone":"(555) 555-1000","address":{"line1":"100 MAIN ST","city":"Middlesex","state":"VA","postal_code":"00000"}}`
	for _, c := range []struct {
		name, body, code, says string
	}{
		{"partial above match", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":60,"partial":70}}`, "invalid_request", "thresholds: the partial threshold (70) must not be above the match threshold (60)"},
		{"match over 100", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":101}}`, "invalid_request", "the match threshold must be from 1 to 100, not 101"},
		{"partial zero", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"partial":0}}`, "invalid_request", "the partial threshold must be from 1 to 100, not 0"},
		{"below the default partial", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":40}}`, "invalid_request", "the partial threshold (50) must not be above the match threshold (40)"},
		{"no person", `{"kind":"identify",` + bank + `,"thresholds":{"match":90}}`, "invalid_request", "give the person too"},
		{"verify", `{"kind":"verify",` + bank + `,"thresholds":{"match":90}}`, "invalid_request", "only identify jobs given a person"},
		{"microdeposit", `{"kind":"microdeposit","user":{"id":"u"},"account":{"account_number":"1234567890","routing_number":"011000015","account_type":"CHECKING"},"thresholds":{"match":90}}`, "invalid_request", "identify jobs only"},
		{"unknown field", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":90,"name":80}}`, "unknown_field", "name"},
		{"not a number", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":"90"}}`, "malformed_json", "thresholds.match"},
		{"a fraction", `{"kind":"identify",` + bank + `,` + person + `,"thresholds":{"match":90.5}}`, "malformed_json", "thresholds.match"},
	} {
		code, b := e.do(t, "POST", "/v1/jobs", token, strings.Replace(c.body, `{"kind"`, `{"id":"th-refused","kind"`, 1))
		if code != 400 || errCode(b) != c.code || !strings.Contains(string(b), c.says) || strings.Contains(string(b), "DARKO") {
			t.Errorf("%s: %d %s, want 400 %s saying %q", c.name, code, b, c.code, c.says)
		}
	}
	if code, b := e.do(t, "GET", "/v1/jobs/th-refused", token, nil); code != 404 {
		t.Errorf("a refused job was stored: %d %s", code, b)
	}

	// 99/60: Donnie Darko scores 98, a match under the defaults, partial
	// here.
	job := `{"kind":"identify","id":"kyc-th",` + bank + `,` + person + `,"thresholds":{"match":99,"partial":60}}`
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "kyc-th", func(v store.View) bool { return v.State.Terminal() })
	m := v.Match
	if v.State != store.StateSucceeded || m == nil {
		t.Fatalf("job: %+v", v)
	}
	if m.Verdict != match.Partial || m.Score != 98 || m.Best != 0 || m.MatchThreshold != 99 || m.PartialThreshold != 60 {
		t.Fatalf("match: %+v", m)
	}
	if o := m.Owners[0]; o.MatchThreshold != 99 || o.Field(match.FieldName).Verdict != match.Partial ||
		o.Flags != (match.Flags{NicknameMatch: true, PostalCodeMatch: true}) {
		t.Errorf("Donnie Darko: %+v", o)
	}
	code, b := e.do(t, "GET", "/v1/jobs/kyc-th", token, nil)
	if code != 200 || !strings.Contains(string(b), `"match":{"verdict":"partial","score":98,"match_threshold":99,"partial_threshold":60`) ||
		!strings.Contains(string(b), `"is_nickname_match":true`) {
		t.Fatalf("GET: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs", token, job); code != 200 {
		t.Fatalf("the same request again: %d %s", code, b)
	}
	other := strings.Replace(job, `"match":99`, `"match":95`, 1)
	if code, b := e.do(t, "POST", "/v1/jobs", token, other); code != 409 || !strings.Contains(string(b), "thresholds") {
		t.Fatalf("other thresholds under the same id: %d %s", code, b)
	}
	e.v.check(t)
}
