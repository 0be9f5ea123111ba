package mx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/mxspec"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// lateBound lets the transport exist before the server URL is known.
type lateBound struct{ c *mxspec.Checker }

func (l *lateBound) RoundTrip(r *http.Request) (*http.Response, error) {
	return l.c.Transport(nil).RoundTrip(r)
}

// TestConformanceWithMXSpec runs every scenario, and every other call the
// client makes, once per API version against that version's spec: every
// request the client sends and every answer the simulator gives.
func TestConformanceWithMXSpec(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) { conformance(t, version) })
	}
}

func conformance(t *testing.T, version mx.Version) {
	lb := &lateBound{}
	// MX takes 250 ms per job here (not the package's usual 30 ms), so that
	// "a verify while the create's aggregation runs is a 409" holds on a
	// loaded machine too; and an MFA round stays open 3 s (not 400 ms), as
	// every exchange is checked against the spec on the way.
	c, sim, hs := newSimVersion(t, lb, version, mxsim.WithAggregationTime(250*time.Millisecond), mxsim.WithMFAWindow(3*time.Second), mdTiming)
	v := mxspec.NewChecker(t, hs.URL, string(version))
	v.Accept = func(string) string { return version.Accept() }
	lb.c = v
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range mxsim.Scenarios() {
			for _, kind := range sc.Kinds {
				t.Run(sc.Name+"/"+kind, func(t *testing.T) {
					t.Parallel()
					drive(t, ctx, c, sc, kind, "conf-"+sc.Name+"-"+kind)
				})
			}
		}
	})
	t.Run("other calls", func(t *testing.T) { exerciseEveryCall(t, ctx, c) })
	t.Run("micro-deposits", func(t *testing.T) { exerciseMicrodeposits(t, ctx, c, sim) })

	v.Report(t, "createUser", "readUser", "listUsers", "listInstitutions", "readInstitution", "listInstitutionCredentials",
		"createMember", "readMember", "listMembers", "updateMember", "deleteMember", "readMemberStatus", "identifyMember", "verifyMember",
		"aggregateMember", "listMemberChallenges", "resumeAggregation", "listAccountOwnersByMember", "listAccountNumbersByMember",
		"listAccountNumbersByAccount", "requestWidgetURL", "requestOAuthWindowURI", "deleteUser",
		"createMicrodeposit", "readUserMicrodeposit", "listUserMicrodeposits", "verifyMicrodeposit", "deleteMicrodeposit")
	if v.Departed("challenge type as an integer") == 0 {
		t.Error("no CHALLENGED status in the MFA guide's shape was seen: the integer challenge type is not exercised")
	}
}

// exerciseEveryCall makes the calls the scenarios do not: reads, updates,
// deletes, searches, widget URLs, errors.
func exerciseEveryCall(t *testing.T, ctx context.Context, c *mx.Client) {
	u, err := c.CreateUser(ctx, mx.UserCreate{ID: "conf-every", Email: "e@example.com", IsDisabled: false, Metadata: `{"a":1}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadUser(ctx, u.GUID); err != nil {
		t.Fatal(err)
	}
	if got, err := mx.Collect(c.Users(ctx, "conf-every", "")); err != nil || len(got) != 1 {
		t.Fatalf("users by id: %v %v", err, got)
	}
	insts, err := mx.Collect(c.SearchInstitutions(ctx, mx.InstitutionSearch{Name: "bank", RecordsPerPage: 10}))
	if err != nil || len(insts) < 11 {
		t.Fatalf("institution search over pages: %v (%d)", err, len(insts))
	}
	if byURL, err := mx.Collect(c.SearchInstitutions(ctx, mx.InstitutionSearch{Name: "mxbank.com", SupportsAccountVerification: true})); err != nil || len(byURL) == 0 {
		t.Fatalf("search by url: %v %v", err, byURL)
	}
	if _, err := c.ReadInstitution(ctx, "mxbank"); err != nil {
		t.Fatal(err)
	}
	if _, err := mx.Collect(c.InstitutionCredentials(ctx, "no_such_bank")); !mx.IsNotFound(err) {
		t.Fatalf("unknown institution credentials: %v", err)
	}
	fields, err := mx.Collect(c.InstitutionCredentials(ctx, "mxbank"))
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{"username": "mxuser", "password": "correct"}
	var cv []mx.CredentialValue
	for _, f := range fields {
		cv = append(cv, mx.CredentialValue{GUID: f.GUID, Value: creds[strings.ToLower(f.Label)]})
	}
	m, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: cv, ID: "conf-m", Metadata: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: cv}); !mx.IsDuplicateMember(err) {
		t.Fatalf("duplicate member: %v", err)
	}
	if _, err := c.ReadMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatal(err)
	}
	if ms, err := mx.Collect(c.Members(ctx, u.GUID)); err != nil || len(ms) == 0 {
		t.Fatalf("members: %v %v", err, ms)
	}
	// create without skip_aggregation started an aggregation; a verify now
	// collides with it (409) until it ends.
	if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); !mx.IsConflict(err) {
		t.Fatalf("verify during an aggregation: %v, want 409", err)
	}
	if _, err := c.AggregateMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatalf("aggregate while aggregating is a 202 no-op: %v", err)
	}
	if chs, err := mx.Collect(c.Challenges(ctx, u.GUID, m.GUID)); err != nil || len(chs) != 0 {
		t.Fatalf("challenges of an unchallenged member: %v %v", err, chs)
	}
	if _, err := c.ResumeMember(ctx, u.GUID, m.GUID, []mx.ChallengeAnswer{{GUID: "CRD-x", Value: "y"}}); mx.StatusCode(err) != 405 {
		t.Fatalf("resume an unchallenged member: %v, want 405", err)
	}
	settle(t, ctx, c, u.GUID, m.GUID)
	nums, err := mx.Collect(c.AccountNumbers(ctx, u.GUID, m.GUID))
	if err != nil || len(nums) == 0 {
		t.Fatalf("account numbers after aggregation: %v %v", err, nums)
	}
	if byAcct, err := mx.Collect(c.AccountNumbersByAccount(ctx, u.GUID, nums[0].AccountGUID)); err != nil || len(byAcct) == 0 {
		t.Fatalf("numbers by account: %v %v", err, byAcct)
	}
	if _, err := c.UpdateMember(ctx, u.GUID, m.GUID, mx.MemberUpdate{Metadata: "updated", SkipAggregation: c.Version() == mx.V20111101}); err != nil {
		t.Fatal(err)
	}
	yes := true
	w, err := c.RequestWidgetURL(ctx, u.GUID, mx.WidgetURLRequest{Mode: "verification", ColorScheme: "dark",
		CurrentMemberGUID: m.GUID, IncludeIdentity: &yes, UIMessageVersion: 4, IsoCountryCode: []string{"US"}, Language: "en-US"})
	if err != nil || w.URL == "" {
		t.Fatalf("widget url: %v %+v", err, w)
	}
	if _, err := url.Parse(w.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMemberCredentials(ctx, u.GUID, m.GUID, cv); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListInstitutions(ctx, mx.InstitutionSearch{Name: "bank", RecordsPerPage: 10, SupportsAccountVerification: true}, 2)
	if err != nil || len(page.Institutions) != 10 || page.Pagination.CurrentPage != 2 {
		t.Fatalf("institutions page 2: %v %+v", err, page)
	}
	exerciseOAuth(t, ctx, c, u.GUID)
	if err := c.DeleteMember(ctx, u.GUID, m.GUID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadMember(ctx, u.GUID, m.GUID); !mx.IsNotFound(err) {
		t.Fatalf("read deleted member: %v", err)
	}
	if err := c.DeleteUser(ctx, u.GUID); err != nil {
		t.Fatal(err)
	}
}

// exerciseOAuth creates an OAuth member at mx_bank_oauth, asks for its
// window with every documented option, approves at the simulator's page
// over plain HTTP and polls until MX connects it.
func exerciseOAuth(t *testing.T, ctx context.Context, c *mx.Client, userGUID string) {
	in, err := c.ReadInstitution(ctx, "mx_bank_oauth")
	if err != nil || !in.SupportsOAuth {
		t.Fatalf("mx_bank_oauth: %v %+v", err, in)
	}
	if fields, err := mx.Collect(c.InstitutionCredentials(ctx, "mx_bank_oauth")); err != nil || len(fields) != 0 {
		t.Fatalf("mx_bank_oauth credentials: %v %v", err, fields)
	}
	create := mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true, ID: "conf-oauth",
		OAuth: mx.OAuthOptions{ReferralSource: "BROWSER"}}
	if c.Version() == mx.V20250224 {
		create.Products = []string{mx.ProductAccountVerification}
	}
	m, err := c.CreateMember(ctx, userGUID, create)
	if err != nil || !m.IsOAuth || m.ConnectionStatus != "PENDING" || m.OAuthWindowURI == "" {
		t.Fatalf("OAuth member: %v %+v", err, m)
	}
	no := false
	w, err := c.RequestOAuthWindowURI(ctx, userGUID, m.GUID, mx.OAuthOptions{ClientRedirectURL: "https://example.com/cb",
		ReferralSource: "APP", EnableApp2App: &no, UIMessageWebviewURLScheme: "myapp"})
	if err != nil || w.GUID != m.GUID || w.OAuthWindowURI == "" || w.OAuthWindowURI == m.OAuthWindowURI {
		t.Fatalf("OAuth window: %v %+v", err, w)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(w.OAuthWindowURI, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, m.GUID) {
		t.Fatalf("approve: %d %q", res.StatusCode, loc)
	}
	testenv.Until(t, testenv.Context(t, 5*time.Second), "the OAuth member connected after approval", func() error {
		st, err := c.ReadMemberStatus(ctx, userGUID, m.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if st.IsBeingAggregated || st.ConnectionStatus != "CONNECTED" {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})
	if got, err := c.ReadMember(ctx, userGUID, m.GUID); err != nil || got.OAuthWindowURI != "" || !got.IsOAuth {
		t.Fatalf("connected OAuth member: %v %+v", err, got)
	}
}
