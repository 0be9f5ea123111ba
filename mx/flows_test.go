package mx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// settle polls a member's status until it is not being aggregated.
func settle(t *testing.T, ctx context.Context, c *mx.Client, userGUID, memberGUID string) *mx.MemberStatus {
	t.Helper()
	var st *mx.MemberStatus
	testenv.Until(t, testenv.Context(t, 5*time.Second), "the member settling", func() (err error) {
		if st, err = c.ReadMemberStatus(ctx, userGUID, memberGUID); err != nil {
			t.Fatal(err)
		}
		if st.IsBeingAggregated {
			return fmt.Errorf("still aggregating: %+v", st)
		}
		return nil
	})
	return st
}

// credentialsFor maps values by lower-cased label to the institution's
// credential guids.
func credentialsFor(t *testing.T, ctx context.Context, c *mx.Client, code string, byLabel map[string]string) []mx.CredentialValue {
	t.Helper()
	fields, err := mx.Collect(c.InstitutionCredentials(ctx, code))
	if err != nil {
		t.Fatal(err)
	}
	var out []mx.CredentialValue
	for _, f := range fields {
		out = append(out, mx.CredentialValue{GUID: f.GUID, Value: byLabel[strings.ToLower(f.Label)]})
	}
	return out
}

// TestReauthenticationThroughTheClient: a member DENIED for a bad
// password, given the good one with UpdateMemberCredentials, verifies on
// the same guid; the simulator's Stats show one member and the jobs the
// version needs (v20111101 skips the update's aggregation, v20250224
// cannot).
func TestReauthenticationThroughTheClient(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			c, sim, _ := newSimVersion(t, nil, version)
			ctx := context.Background()
			u, err := c.CreateUser(ctx, mx.UserCreate{ID: "reauth"})
			if err != nil {
				t.Fatal(err)
			}
			bad := credentialsFor(t, ctx, c, "mxbank", map[string]string{"username": "mxuser", "password": "UNAUTHORIZED"})
			create := mx.MemberCreate{InstitutionCode: "mxbank", Credentials: bad}
			if version == mx.V20250224 {
				create.Products = []string{mx.ProductAccountVerification}
			} else {
				create.SkipAggregation = true
			}
			m, err := c.CreateMember(ctx, u.GUID, create)
			if err != nil {
				t.Fatal(err)
			}
			if version == mx.V20111101 {
				if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); err != nil {
					t.Fatal(err)
				}
			}
			if st := settle(t, ctx, c, u.GUID, m.GUID); st.ConnectionStatus != "DENIED" {
				t.Fatalf("bad password: %+v", st)
			}
			good := credentialsFor(t, ctx, c, "mxbank", map[string]string{"username": "mxuser", "password": "correct"})
			if _, err := c.UpdateMemberCredentials(ctx, u.GUID, m.GUID, good); err != nil {
				t.Fatal(err)
			}
			want := 2
			if version == mx.V20250224 {
				if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); !mx.IsConflict(err) {
					t.Fatalf("verify during the update's aggregation: %v, want 409", err)
				}
				if st := settle(t, ctx, c, u.GUID, m.GUID); st.ConnectionStatus != "CONNECTED" {
					t.Fatalf("the update's aggregation: %+v", st)
				}
				want = 3
			}
			if _, err := c.StartMemberJob(ctx, u.GUID, m.GUID, mx.ProductAccountVerification); err != nil {
				t.Fatal(err)
			}
			if st := settle(t, ctx, c, u.GUID, m.GUID); st.ConnectionStatus != "CONNECTED" {
				t.Fatalf("verify after new credentials: %+v", st)
			}
			if nums, err := mx.Collect(c.AccountNumbers(ctx, u.GUID, m.GUID)); err != nil || len(nums) == 0 {
				t.Fatalf("account numbers: %v %v", err, nums)
			}
			// the same credentials again: MX's duplicate, found by listing
			if _, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: good}); !mx.IsDuplicateMember(err) {
				t.Fatalf("duplicate: %v", err)
			}
			ms, err := mx.Collect(c.Members(ctx, u.GUID))
			if err != nil || len(ms) != 1 || ms[0].GUID != m.GUID || ms[0].InstitutionCode != "mxbank" {
				t.Fatalf("members: %v %+v", err, ms)
			}
			st := sim.Stats()
			if st.Jobs[m.GUID] != want || st.Calls["createMember"] != 2 || st.Calls["updateMember"] != 1 {
				t.Fatalf("stats: jobs %d (want %d), calls %v", st.Jobs[m.GUID], want, st.Calls)
			}
		})
	}
}

// TestOAuthDeniedThenApprovedThroughTheClient: the end user denies, the
// member is DENIED (job.Classify: failed, reason denied); a fresh window
// approved connects the same member.
func TestOAuthDeniedThenApprovedThroughTheClient(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			c, _, _ := newSimVersion(t, nil, version)
			ctx := context.Background()
			u, err := c.CreateUser(ctx, mx.UserCreate{ID: "oauth"})
			if err != nil {
				t.Fatal(err)
			}
			create := mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true}
			if version == mx.V20250224 {
				create.Products = []string{mx.ProductIdentityVerification}
			}
			m, err := c.CreateMember(ctx, u.GUID, create)
			if err != nil {
				t.Fatal(err)
			}
			if cl := job.Classify(m.ConnectionStatus, m.IsBeingAggregated); m.ConnectionStatus != "PENDING" || cl.Outcome != job.InProgress {
				t.Fatalf("created: %+v %+v", m, cl)
			}
			decide(t, m.OAuthWindowURI, "deny")
			st := settle(t, ctx, c, u.GUID, m.GUID)
			if cl := job.Classify(st.ConnectionStatus, st.IsBeingAggregated); st.ConnectionStatus != "DENIED" || cl.Outcome != job.Failed || cl.Reason != "denied" {
				t.Fatalf("denied: %+v %+v", st, cl)
			}
			w, err := c.RequestOAuthWindowURI(ctx, u.GUID, m.GUID, mx.OAuthOptions{})
			if err != nil {
				t.Fatal(err)
			}
			decide(t, w.OAuthWindowURI, "approve")
			if st := settle(t, ctx, c, u.GUID, m.GUID); st.ConnectionStatus != "CONNECTED" {
				t.Fatalf("approved: %+v", st)
			}
			if owners, err := mx.Collect(c.AccountOwners(ctx, u.GUID, m.GUID)); err != nil || len(owners) == 0 {
				t.Fatalf("owners: %v %v", err, owners)
			}
		})
	}
}

// TestOAuthExpiredThroughTheClient: an unused window turns the member
// EXPIRED (job.Classify: failed, reason expired).
func TestOAuthExpiredThroughTheClient(t *testing.T) {
	c, _, _ := newSim(t, nil, mxsim.WithOAuthWindow(50*time.Millisecond))
	ctx := context.Background()
	u, err := c.CreateUser(ctx, mx.UserCreate{ID: "oauth-expiry"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.CreateMember(ctx, u.GUID, mx.MemberCreate{InstitutionCode: "mx_bank_oauth", IsOAuth: true,
		Products: []string{mx.ProductAccountVerification}})
	if err != nil {
		t.Fatal(err)
	}
	// the window passes unused: wait until MX shows the member expired
	var st *mx.MemberStatus
	testenv.Until(t, testenv.Context(t, 5*time.Second), "the unused OAuth window expiring", func() (err error) {
		if st, err = c.ReadMemberStatus(ctx, u.GUID, m.GUID); err != nil {
			t.Fatal(err)
		}
		if st.ConnectionStatus != "EXPIRED" {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})
	if cl := job.Classify(st.ConnectionStatus, st.IsBeingAggregated); st.ConnectionStatus != "EXPIRED" || cl.Outcome != job.Failed || cl.Reason != "expired" {
		t.Fatalf("expired: %+v %+v", st, cl)
	}
}

// decide clicks Approve or Deny on the OAuth page: a plain form POST.
func decide(t *testing.T, uri, decision string) {
	t.Helper()
	res, err := http.PostForm(uri, url.Values{"decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", decision, res.StatusCode)
	}
}

// IsDuplicateUpdate tells updateMember's two 409s apart by the member MX
// shows after them: credentials of the user's other member at the
// institution (both versions) are the duplicate, no job running on the
// member; an update while a verify runs on it (v20250224, where the
// update aggregates) is the running-job 409. Neither is createMember's
// IsDuplicateMember, and a 409 of another call is never a duplicate update.
func TestIsDuplicateUpdate(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			c, _, _ := newSimVersion(t, nil, version)
			ctx := context.Background()
			u, err := c.CreateUser(ctx, mx.UserCreate{ID: "dup-update"})
			if err != nil {
				t.Fatal(err)
			}
			create := func(password string) *mx.Member {
				t.Helper()
				mc := mx.MemberCreate{InstitutionCode: "mxbank", Credentials: credentialsFor(t, ctx, c, "mxbank", map[string]string{"username": "mxuser", "password": password}),
					SkipAggregation: version == mx.V20111101}
				m, err := c.CreateMember(ctx, u.GUID, mc)
				if err != nil {
					t.Fatal(err)
				}
				settle(t, ctx, c, u.GUID, m.GUID) // v20250224 aggregates a new member
				return m
			}
			create("correct")
			m := create("challenge")
			good := credentialsFor(t, ctx, c, "mxbank", map[string]string{"username": "mxuser", "password": "correct"})
			_, dup := c.UpdateMemberCredentials(ctx, u.GUID, m.GUID, good)
			after, err := c.ReadMember(ctx, u.GUID, m.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if !mx.IsConflict(dup) || !mx.IsDuplicateUpdate(dup, after) || mx.IsDuplicateMember(dup) || mx.IsDuplicateUpdate(dup, nil) {
				t.Fatalf("duplicate update: %v, member after it %+v", dup, after)
			}
			if version == mx.V20111101 {
				return // the update skips aggregation: no running-job 409
			}
			if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); err != nil {
				t.Fatal(err)
			}
			_, busy := c.UpdateMemberCredentials(ctx, u.GUID, m.GUID, credentialsFor(t, ctx, c, "mxbank", map[string]string{"username": "mxuser", "password": "LOCKED"}))
			after, err = c.ReadMember(ctx, u.GUID, m.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if !mx.IsConflict(busy) || mx.IsDuplicateUpdate(busy, after) {
				t.Fatalf("update while verify runs: %v, member after it %+v", busy, after)
			}
			_, other := c.AggregateMember(ctx, u.GUID, m.GUID)
			if !mx.IsConflict(other) || mx.IsDuplicateUpdate(other, &mx.Member{}) {
				t.Fatalf("aggregate while verify runs: %v", other)
			}
		})
	}
}
