package mx_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"

	"github.com/mxfleet/mxfleet/mx"
)

// seen is one request a queryRecorder saw.
type seen struct {
	method, path string
	query        url.Values
	body         map[string]any
}

// queryRecorder answers every request with answer and records method,
// path, query and JSON body.
func queryRecorder(t *testing.T, version mx.Version, answer string) (*mx.Client, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.Path, query: r.URL.Query()}
		_ = json.Unmarshal(b, &s.body)
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(hs.Close)
	c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials("id", "key"), mx.WithVersion(version))
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOAuthCreateBodyPerVersion: an OAuth member goes out with is_oauth,
// an empty credentials array (required by both specs) and the body-level
// OAuth options; products only in v20250224, skip_aggregation only in
// v20111101.
func TestOAuthCreateBodyPerVersion(t *testing.T) {
	no := false
	oauth := mx.OAuthOptions{ClientRedirectURL: "https://app.example/cb", ReferralSource: "APP", EnableApp2App: &no,
		UIMessageWebviewURLScheme: "myapp"}
	for _, tc := range []struct {
		version mx.Version
		create  mx.MemberCreate
		want    string
	}{
		{mx.V20250224, mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true, ID: "m1",
			Products: []string{mx.ProductAccountVerification}, OAuth: oauth},
			`{"member":{"institution_code":"mx_bank_oauth","credentials":[],"is_oauth":true,"id":"m1"},
			  "data_request":{"products":["account_verification"]},"client_redirect_url":"https://app.example/cb",
			  "enable_app2app":false,"referral_source":"APP","ui_message_webview_url_scheme":"myapp"}`},
		{mx.V20111101, mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true, SkipAggregation: true, OAuth: oauth},
			`{"member":{"institution_code":"mx_bank_oauth","credentials":[],"is_oauth":true,"skip_aggregation":true},
			  "client_redirect_url":"https://app.example/cb","enable_app2app":false,"referral_source":"APP",
			  "ui_message_webview_url_scheme":"myapp"}`},
		{mx.V20250224, mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true},
			`{"member":{"institution_code":"mx_bank_oauth","credentials":[],"is_oauth":true}}`},
	} {
		c, got := queryRecorder(t, tc.version, `{"member":{"guid":"MBR-1","is_oauth":true,"connection_status":"PENDING","oauth_window_uri":"https://x/oauth"}}`)
		m, err := c.CreateMember(context.Background(), "USR-1", tc.create)
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsOAuth || m.OAuthWindowURI != "https://x/oauth" || m.ConnectionStatus != "PENDING" {
			t.Errorf("%s: decoded %+v", tc.version, m)
		}
		if body := got()[0].body; !reflect.DeepEqual(body, jsonOf(t, tc.want)) {
			t.Errorf("%s: body %v, want %s", tc.version, body, tc.want)
		}
	}
}

func TestOAuthCreateRefusals(t *testing.T) {
	c, got := queryRecorder(t, mx.V20250224, `{}`)
	ctx := context.Background()
	if _, err := c.CreateMember(ctx, "USR-1", mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true,
		Credentials: []mx.CredentialValue{{GUID: "CRD-1", Value: "secret"}}}); err == nil {
		t.Error("an OAuth member with credentials was sent")
	}
	if _, err := c.CreateMember(ctx, "USR-1", mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true,
		OAuth: mx.OAuthOptions{SkipAggregation: true}}); err == nil {
		t.Error("OAuthOptions.SkipAggregation on create was sent")
	}
	if n := len(got()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestRequestOAuthWindowURIQuery: the documented query parameters, only
// those set, the same in both versions.
func TestRequestOAuthWindowURIQuery(t *testing.T) {
	yes := true
	for _, version := range mx.Versions {
		c, got := queryRecorder(t, version, `{"member":{"guid":"MBR-1","oauth_window_uri":"https://mxbank.mx.com/oauth/authorize?state=1"}}`)
		w, err := c.RequestOAuthWindowURI(context.Background(), "USR-1", "MBR-1", mx.OAuthOptions{ClientRedirectURL: "https://app.example/cb",
			ReferralSource: "APP", EnableApp2App: &yes, SkipAggregation: true, UIMessageWebviewURLScheme: "myapp"})
		if err != nil {
			t.Fatal(err)
		}
		if w.GUID != "MBR-1" || w.OAuthWindowURI != "https://mxbank.mx.com/oauth/authorize?state=1" {
			t.Errorf("%s: %+v", version, w)
		}
		want := url.Values{"client_redirect_url": {"https://app.example/cb"}, "referral_source": {"APP"}, "enable_app2app": {"true"},
			"skip_aggregation": {"true"}, "ui_message_webview_url_scheme": {"myapp"}}
		if s := got()[0]; s.method != "GET" || s.path != "/users/USR-1/members/MBR-1/oauth_window_uri" || !reflect.DeepEqual(s.query, want) {
			t.Errorf("%s: %s %s %v", version, s.method, s.path, s.query)
		}
		if _, err := c.RequestOAuthWindowURI(context.Background(), "USR-1", "MBR-1", mx.OAuthOptions{}); err != nil {
			t.Fatal(err)
		}
		if q := got()[1].query; len(q) != 0 {
			t.Errorf("%s: unset options sent: %v", version, q)
		}
	}
}

// TestUpdateMemberCredentialsPerVersion: v20111101 skips the aggregation
// the update would start; v20250224 has no skip_aggregation to send.
func TestUpdateMemberCredentialsPerVersion(t *testing.T) {
	creds := []mx.CredentialValue{{GUID: "CRD-1", Value: "mxuser"}, {GUID: "CRD-2", Value: "correct"}}
	for version, want := range map[mx.Version]string{
		mx.V20250224: `{"member":{"credentials":[{"guid":"CRD-1","value":"mxuser"},{"guid":"CRD-2","value":"correct"}]}}`,
		mx.V20111101: `{"member":{"credentials":[{"guid":"CRD-1","value":"mxuser"},{"guid":"CRD-2","value":"correct"}],"skip_aggregation":true}}`,
	} {
		c, got := queryRecorder(t, version, `{"member":{"guid":"MBR-1","connection_status":"DENIED","needs_updated_credentials":false}}`)
		if _, err := c.UpdateMemberCredentials(context.Background(), "USR-1", "MBR-1", creds); err != nil {
			t.Fatal(err)
		}
		if s := got()[0]; s.method != "PUT" || s.path != "/users/USR-1/members/MBR-1" || !reflect.DeepEqual(s.body, jsonOf(t, want)) {
			t.Errorf("%s: %s %s %v", version, s.method, s.path, s.body)
		}
		if _, err := c.UpdateMemberCredentials(context.Background(), "USR-1", "MBR-1", nil); err == nil {
			t.Errorf("%s: an update without credentials was accepted", version)
		}
	}
}

// TestListInstitutionsPagePerVersion: one page, with the product filters
// each version has.
func TestListInstitutionsPagePerVersion(t *testing.T) {
	for version, want := range map[mx.Version]url.Values{
		mx.V20250224: {"name": {"mx"}, "page": {"2"}, "records_per_page": {"10"},
			"supported_products": {"identity_verification", "account_verification"}},
		mx.V20111101: {"name": {"mx"}, "page": {"2"}, "records_per_page": {"10"},
			"supports_account_identification": {"true"}, "supports_account_verification": {"true"}},
	} {
		c, got := queryRecorder(t, version, `{"institutions":[{"code":"mxbank"}],"pagination":{"current_page":2,"per_page":10,"total_entries":11,"total_pages":2}}`)
		p, err := c.ListInstitutions(context.Background(), mx.InstitutionSearch{Name: "mx", RecordsPerPage: 10,
			SupportsAccountIdentification: true, SupportsAccountVerification: true}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Institutions) != 1 || p.Pagination.TotalPages != 2 || p.Pagination.CurrentPage != 2 {
			t.Errorf("%s: %+v", version, p)
		}
		if s := got()[0]; s.path != "/institutions" || !reflect.DeepEqual(s.query, want) {
			t.Errorf("%s: %s %v", version, s.path, s.query)
		}
		if _, err := c.ListInstitutions(context.Background(), mx.InstitutionSearch{Name: " "}, 1); !errors.Is(err, mx.ErrEmptySearch) {
			t.Errorf("%s: empty search: %v", version, err)
		}
	}
}

// TestDecodesOAuthAndInstitutionShapes feeds each version's shapes (the
// specs' examples) through the client's types.
func TestDecodesOAuthAndInstitutionShapes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		check      func(t *testing.T, body string)
	}{
		{"v20250224 institution", `{"institution":{"code":"mx_bank_oauth","guid":"INS-1","created_at":"2016-10-13T18:07:57.000Z",
			"is_hidden":false,"name":"MX Bank (OAuth)","supports_oauth":true,"supported_products":["account_verification","transactions"]}}`,
			func(t *testing.T, body string) {
				var out struct{ Institution mx.Institution }
				must(t, json.Unmarshal([]byte(body), &out))
				in := out.Institution
				if in.GUID != "INS-1" || !in.SupportsOAuth || !in.Supports(mx.ProductAccountVerification) || in.Supports(mx.ProductIdentityVerification) {
					t.Errorf("%+v", in)
				}
			}},
		{"v20111101 institution", `{"institution":{"code":"mxbank","name":"MX Bank","supports_oauth":false,
			"supports_account_identification":true,"supports_account_verification":false,"supports_transaction_history":true}}`,
			func(t *testing.T, body string) {
				var out struct{ Institution mx.Institution }
				must(t, json.Unmarshal([]byte(body), &out))
				in := out.Institution
				if in.SupportsOAuth || !in.Supports(mx.ProductIdentityVerification) || in.Supports(mx.ProductAccountVerification) ||
					!in.Supports(mx.ProductTransactionHistory) {
					t.Errorf("%+v", in)
				}
			}},
		{"v20250224 supported_products empty", `{"institution":{"code":"x","supported_products":[],"supports_account_verification":true}}`,
			func(t *testing.T, body string) {
				var out struct{ Institution mx.Institution }
				must(t, json.Unmarshal([]byte(body), &out))
				if out.Institution.Supports(mx.ProductAccountVerification) {
					t.Error("an empty supported_products list was overridden by a deprecated boolean")
				}
			}},
		{"update member example (v20250224 reference)", `{"member":{"connection_status":"CONNECTED","guid":"MBR-7c6f361b-e582-15b6-60c0-358f12466b4b",
			"is_oauth":false,"needs_updated_credentials":false,"most_recent_job_guid":"JOB-12345678-90ab-cdef-1234-567890abcdef",
			"oauth_window_uri":"https://mxbank.mx.com/oauth/authorize?client_id=b8OikQ4Ep3NuSUrQ13DdvFuwpNx-qqoAsJDVAQCyLkQ&redirect_uri=https%3A%2F%2Fint-app.moneydesktop.com%2Foauth%2Fredirect_from&response_type=code&scope=openid&state=d745bd4ee6f0f9c184757f574bcc2df2","error":{}}}`,
			func(t *testing.T, body string) {
				var out struct{ Member mx.Member }
				must(t, json.Unmarshal([]byte(body), &out))
				if out.Member.OAuthWindowURI == "" || out.Member.IsOAuth || out.Member.ConnectionStatus != "CONNECTED" {
					t.Errorf("%+v", out.Member)
				}
			}},
		{"oauth window (both specs' example)", `{"member":{"guid":"MBR-df96fd60-7122-4464-b3c2-ff11d8c74f6f","oauth_window_uri":null}}`,
			func(t *testing.T, body string) {
				var out struct{ Member mx.OAuthWindow }
				must(t, json.Unmarshal([]byte(body), &out))
				if out.Member.GUID != "MBR-df96fd60-7122-4464-b3c2-ff11d8c74f6f" || out.Member.OAuthWindowURI != "" {
					t.Errorf("%+v", out.Member)
				}
			}},
		{"credential field (spec example)", `{"credentials":[{"display_order":1,"field_name":"LOGIN","field_type":"TEXT","guid":"CRD-1","label":"Username","type":"TEXT"},
			{"display_order":null,"field_name":"PASSWORD","field_type":3,"guid":"CRD-2","label":"Password","type":null}]}`,
			func(t *testing.T, body string) {
				var out struct{ Credentials []mx.Credential }
				must(t, json.Unmarshal([]byte(body), &out))
				c := out.Credentials
				if len(c) != 2 || c[0].FieldName != "LOGIN" || c[0].Label != "Username" || c[0].DisplayOrder != 1 || c[0].FieldType != "TEXT" ||
					c[1].FieldType != "3" || c[1].Type != "" || c[1].DisplayOrder != 0 {
					t.Errorf("%+v", c)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.body) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
