package mx_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
)

// exchange is one request a recording server saw.
type exchange struct {
	method, path, accept, version, callback string
	body                                    map[string]any
}

// recorder serves canned answers by path suffix and records requests.
func recorder(t *testing.T, version mx.Version, answers map[string]string) (*mx.Client, func() []exchange) {
	t.Helper()
	var mu sync.Mutex
	var seen []exchange
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ex := exchange{method: r.Method, path: r.URL.Path, accept: r.Header.Get("Accept"),
			version: r.Header.Get("Accept-Version"), callback: r.Header.Get("X-CALLBACK-PAYLOAD")}
		_ = json.Unmarshal(b, &ex.body)
		mu.Lock()
		seen = append(seen, ex)
		mu.Unlock()
		for suffix, a := range answers {
			if strings.HasSuffix(r.URL.Path, suffix) {
				status, body, _ := strings.Cut(a, " ")
				code := 200
				if status == "201" {
					code = 201
				}
				w.WriteHeader(code)
				io.WriteString(w, body)
				return
			}
		}
		io.WriteString(w, `{"member":{"guid":"MBR-1"}}`)
	}))
	t.Cleanup(hs.Close)
	opts := []mx.Option{mx.WithBaseURL(hs.URL), mx.WithCredentials("id", "key")}
	if version != "" {
		opts = append(opts, mx.WithVersion(version))
	}
	c, err := mx.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []exchange { mu.Lock(); defer mu.Unlock(); return append([]exchange(nil), seen...) }
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]mx.Version{"v20250224": mx.V20250224, "20111101": mx.V20111101, " V20250224 ": mx.V20250224} {
		if got, err := mx.ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "v1", "v20260101", "latest"} {
		if _, err := mx.ParseVersion(bad); err == nil || !strings.Contains(err.Error(), "v20250224") {
			t.Errorf("ParseVersion(%q): %v, want an error naming the versions", bad, err)
		}
	}
	if _, err := mx.New(mx.WithCredentials("a", "b"), mx.WithVersion("v3")); err == nil {
		t.Error("New with an unknown version: no error")
	}
}

// Every call carries Accept-Version and the Accept its version documents.
func TestEveryCallCarriesTheVersion(t *testing.T) {
	for _, tc := range []struct {
		version      mx.Version
		wantV, wantA string
	}{
		{"", "v20250224", "application/json"},
		{mx.V20111101, "v20111101", "application/vnd.mx.api.v1+json"},
	} {
		c, seen := recorder(t, tc.version, nil)
		ctx := context.Background()
		_, _ = c.ReadMemberStatus(ctx, "U", "M")
		_, _ = c.VerifyMember(ctx, "U", "M")
		_, _ = mx.Collect(c.AccountNumbers(ctx, "U", "M"))
		if c.Version() != mx.Version(tc.wantV) {
			t.Errorf("Version() = %q", c.Version())
		}
		for _, ex := range seen() {
			if ex.version != tc.wantV || ex.accept != tc.wantA {
				t.Errorf("%s %s: Accept-Version %q Accept %q, want %q %q", ex.method, ex.path, ex.version, ex.accept, tc.wantV, tc.wantA)
			}
		}
	}
}

// createMember's body follows the version: data_request.products and no
// skip_aggregation in v20250224, skip_aggregation in v20111101.
func TestCreateMemberBodyPerVersion(t *testing.T) {
	ctx := context.Background()
	creds := []mx.CredentialValue{{GUID: "CRD-1", Value: "v"}}

	c, seen := recorder(t, mx.V20250224, nil)
	if _, err := c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "mxbank", Credentials: creds, SkipAggregation: true}); err == nil {
		t.Error("v20250224 create with skip_aggregation: no error")
	}
	m, err := c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "mxbank", Credentials: creds,
		Products: []string{mx.ProductAccountVerification}}, mx.CallbackPayload("job-1"))
	if err != nil || m.ProductsFailed {
		t.Fatalf("create: %v %+v", err, m)
	}
	got := seen()
	if len(got) != 1 {
		t.Fatalf("%d requests sent, want 1 (the refused one stays local)", len(got))
	}
	body := got[0].body
	dr, _ := body["data_request"].(map[string]any)
	member, _ := body["member"].(map[string]any)
	if dr == nil || len(dr["products"].([]any)) != 1 || dr["products"].([]any)[0] != "account_verification" {
		t.Errorf("data_request: %v", body)
	}
	if _, has := member["skip_aggregation"]; has {
		t.Errorf("v20250224 member has skip_aggregation: %v", member)
	}
	if p, _ := base64.StdEncoding.DecodeString(got[0].callback); string(p) != "job-1" {
		t.Errorf("X-CALLBACK-PAYLOAD %q", got[0].callback)
	}

	c, seen = recorder(t, mx.V20111101, nil)
	if _, err := c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "mxbank", Credentials: creds, Products: []string{"account_verification"}}); err == nil {
		t.Error("v20111101 create with products: no error")
	}
	if _, err := c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "mxbank", Credentials: creds, SkipAggregation: true}); err != nil {
		t.Fatal(err)
	}
	got = seen()
	if len(got) != 1 || got[0].body["data_request"] != nil || got[0].body["member"].(map[string]any)["skip_aggregation"] != true {
		t.Errorf("v20111101 body: %v", got)
	}

	// MX's 201: created, a product failed.
	c, _ = recorder(t, mx.V20250224, map[string]string{"/members": `201 {"member":{"guid":"MBR-9","connection_status":"CREATED"}}`})
	m, err = c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "x", Credentials: creds, Products: []string{"identity_verification"}})
	if err != nil || m.GUID != "MBR-9" || !m.ProductsFailed {
		t.Fatalf("201: %v %+v", err, m)
	}
	if _, err := c.VerifyMember(ctx, "U", "M", mx.CallbackPayload(strings.Repeat("x", mx.MaxCallbackPayload+1))); err == nil {
		t.Error("a callback payload over 1024 base64 characters: no error")
	}
}

// Widget URLs name products in v20250224 and a mode in v20111101.
func TestWidgetURLPerVersion(t *testing.T) {
	ctx := context.Background()
	yes := true
	req := mx.WidgetURLRequest{Mode: "verification", IncludeIdentity: &yes}
	c, seen := recorder(t, mx.V20250224, map[string]string{"/widget_urls": `200 {"widget_url":{"type":"connect_widget","url":"https://x","user_id":null}}`})
	if _, err := c.RequestWidgetURL(ctx, "U", req); err != nil {
		t.Fatal(err)
	}
	w := seen()[0].body["widget_url"].(map[string]any)
	if w["mode"] != nil || w["include_identity"] != nil || w["data_request"] == nil {
		t.Errorf("v20250224 widget_url: %v", w)
	}
	if p := w["data_request"].(map[string]any)["products"].([]any); len(p) != 2 || p[0] != "account_verification" || p[1] != "identity_verification" {
		t.Errorf("products %v", p)
	}
	c, seen = recorder(t, mx.V20111101, map[string]string{"/widget_urls": `200 {"widget_url":{"type":"connect_widget","url":"https://x","user_id":null}}`})
	if _, err := c.RequestWidgetURL(ctx, "U", req); err != nil {
		t.Fatal(err)
	}
	if w := seen()[0].body["widget_url"].(map[string]any); w["mode"] != "verification" || w["data_request"] != nil {
		t.Errorf("v20111101 widget_url: %v", w)
	}
}

// MX's own examples decode through the client as MX writes them.
func TestDecodesMXDocumentedExamples(t *testing.T) {
	// The MFA guide's CHALLENGED status, verbatim
	// (docs.mx.com/products/connectivity/overview/mfa).
	const mfaGuide = `{
  "member": {
    "aggregated_at": "2020-09-21T19:48:57Z",
    "challenges": [
      {
        "field_name": null,
        "guid": "CRD-8f841084-66cb-4e3d-9253-96f97093100a",
        "label": "What city were you born in?",
        "type": 0
      }
    ],
    "connection_status": "CHALLENGED",
    "guid": "MBR-84ca0882-ad6c-4f10-817f-c8c0de7424fa",
    "is_authenticated": false,
    "is_being_aggregated": true,
    "successfully_aggregated_at": "2020-09-21T19:44:17Z"
  }
}`
	// The spec's credential example (CredentialResponse) and an MX fixture
	// with an integer field_type (../shared/docs/mx-versions.md §3).
	const credentials = `{"credentials":[
  {"display_order":1,"field_name":"LOGIN","field_type":"TEXT","guid":"CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1","label":"Username","type":"TEXT"},
  {"display_order":2,"field_name":"PASSWORD","field_type":3,"guid":"CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d","label":"Password","type":null}
],"pagination":{"current_page":1,"per_page":25,"total_entries":2,"total_pages":1}}`
	// Values MX may add tomorrow are kept, not refused.
	const future = `{"challenges":[{"guid":"CRD-2","type":"PUSH_APPROVAL","label":"Approve on your phone"},{"guid":"CRD-3","type":7}],"pagination":{"total_pages":1}}`
	c, _ := recorder(t, "", map[string]string{"/status": "200 " + mfaGuide, "/credentials": "200 " + credentials, "/challenges": "200 " + future})
	ctx := context.Background()
	st, err := c.ReadMemberStatus(ctx, "USR-1", "MBR-84ca0882-ad6c-4f10-817f-c8c0de7424fa")
	if err != nil {
		t.Fatalf("the MFA guide's example does not decode: %v", err)
	}
	if st.ConnectionStatus != "CHALLENGED" || !st.IsBeingAggregated || len(st.Challenges) != 1 ||
		st.Challenges[0].Type != mx.ChallengeText || st.Challenges[0].FieldName != "" || st.Challenges[0].GUID != "CRD-8f841084-66cb-4e3d-9253-96f97093100a" {
		t.Errorf("decoded %+v", st)
	}
	if c := job.Classify(st.ConnectionStatus, st.IsBeingAggregated); c.Outcome != job.NeedsUser {
		t.Errorf("CHALLENGED while is_being_aggregated is %v, want needs_user", c.Outcome)
	}
	creds, err := mx.Collect(c.InstitutionCredentials(ctx, "mxbank"))
	if err != nil || len(creds) != 2 {
		t.Fatalf("credentials: %v %+v", err, creds)
	}
	if creds[0].FieldType != "TEXT" || creds[1].FieldType != "3" || creds[1].Type != "" || creds[0].Label != "Username" {
		t.Errorf("credentials decoded %+v", creds)
	}
	chs, err := mx.Collect(c.Challenges(ctx, "U", "M"))
	if err != nil || len(chs) != 2 || chs[0].Type != "PUSH_APPROVAL" || chs[1].Type != "7" {
		t.Errorf("unknown challenge types: %v %+v", err, chs)
	}
	// A challenge stored by the fleet (JSON) reads back with its name.
	b, _ := json.Marshal(st.Challenges[0])
	if !strings.Contains(string(b), `"type":"TEXT"`) {
		t.Errorf("re-encoded challenge %s", b)
	}
}
