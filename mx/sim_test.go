package mx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// newSim serves a simulator with short jobs and returns a client for it.
// rt, when not nil, is the client's transport.
func newSim(t testing.TB, rt http.RoundTripper, opts ...mxsim.Option) (*mx.Client, *mxsim.Server, *httptest.Server) {
	t.Helper()
	return newSimVersion(t, rt, mx.DefaultVersion, opts...)
}

// newSimVersion is newSim with a client speaking version.
func newSimVersion(t testing.TB, rt http.RoundTripper, version mx.Version, opts ...mxsim.Option) (*mx.Client, *mxsim.Server, *httptest.Server) {
	t.Helper()
	sim := mxsim.New(append([]mxsim.Option{mxsim.WithAggregationTime(30 * time.Millisecond), mxsim.WithMFAWindow(400 * time.Millisecond)}, opts...)...)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	hc := &http.Client{Timeout: 5 * time.Second}
	if rt != nil {
		hc.Transport = rt
	}
	c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey), mx.WithHTTPClient(hc), mx.WithVersion(version))
	if err != nil {
		t.Fatal(err)
	}
	return c, sim, hs
}

// outcome is how a scenario ended at MX.
type outcome struct {
	status  string
	numbers []mx.AccountNumber
	owners  []mx.AccountOwner
	rounds  int
}

// drive runs one scenario straight through the client, as a worker would
// but with sleeps (it is a test): user, member, job, polls, MFA, results.
func drive(t *testing.T, ctx context.Context, c *mx.Client, sc mxsim.Scenario, kind, userID string) outcome {
	t.Helper()
	user, err := c.CreateUser(ctx, mx.UserCreate{ID: userID, Email: userID + "@example.com", Metadata: "test"})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	memberGUID := sc.MemberGUID
	if memberGUID == "" {
		fields, err := mx.Collect(c.InstitutionCredentials(ctx, sc.InstitutionCode))
		if err != nil {
			t.Fatalf("credentials: %v", err)
		}
		// The scenario names credentials as the institution labels them.
		var creds []mx.CredentialValue
		for _, f := range fields {
			creds = append(creds, mx.CredentialValue{GUID: f.GUID, Value: sc.Credentials[strings.ToLower(f.Label)]})
		}
		// v20250224: the create starts the product's job; v20111101: the
		// create skips aggregation and verify or identify starts it.
		mc := mx.MemberCreate{InstitutionCode: sc.InstitutionCode, Credentials: creds, ID: "m-" + userID}
		if c.Version() == mx.V20111101 {
			mc.SkipAggregation = true
		} else {
			mc.Products = []string{mx.ProductAccountVerification}
			if kind == "identify" {
				mc.Products = []string{mx.ProductIdentityVerification}
			}
		}
		m, err := c.CreateMember(ctx, user.GUID, mc)
		if err != nil {
			t.Fatalf("create member: %v", err)
		}
		memberGUID = m.GUID
	}
	started := sc.MemberGUID == "" && c.Version() != mx.V20111101
	start := func() {
		var err error
		if kind == "identify" {
			_, err = c.IdentifyMember(ctx, user.GUID, memberGUID)
		} else {
			_, err = c.VerifyMember(ctx, user.GUID, memberGUID)
		}
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	if !started {
		start()
	}
	var out outcome
	restarts := 0
	testenv.Until(t, ctx, "scenario "+sc.Name+" ending", func() error {
		st, err := c.ReadMemberStatus(ctx, user.GUID, memberGUID)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		cl := job.Classify(st.ConnectionStatus, st.IsBeingAggregated)
		switch cl.Outcome {
		case job.InProgress:
			return fmt.Errorf("in progress: %+v", st)
		case job.NeedsUser:
			if out.rounds >= len(sc.Answers) {
				return fmt.Errorf("challenged, left unanswered for MX to expire: %+v", st)
			}
			chs, err := mx.Collect(c.Challenges(ctx, user.GUID, memberGUID))
			if err != nil || len(chs) == 0 {
				t.Fatalf("challenges: %v (%d)", err, len(chs))
			}
			var answers []mx.ChallengeAnswer
			for _, ch := range chs {
				v := sc.Answers[out.rounds]
				if v == "@first" {
					if len(ch.Options) > 0 {
						v = ch.Options[0].Value
					} else {
						v = ch.ImageOptions[0].Value
					}
				}
				answers = append(answers, mx.ChallengeAnswer{GUID: ch.GUID, Value: v})
			}
			if _, err := c.ResumeMember(ctx, user.GUID, memberGUID, answers); err != nil {
				t.Fatalf("resume: %v", err)
			}
			out.rounds++
			return fmt.Errorf("answered round %d: %+v", out.rounds, st)
		case job.RetryLater:
			if restarts < 2 {
				restarts++
				start()
				return fmt.Errorf("restarted (%d): %+v", restarts, st)
			}
		}
		out.status = st.ConnectionStatus
		return nil
	})
	if out.status == "CONNECTED" {
		if out.numbers, err = mx.Collect(c.AccountNumbers(ctx, user.GUID, memberGUID)); err != nil {
			t.Fatalf("account numbers: %v", err)
		}
		if out.owners, err = mx.Collect(c.AccountOwners(ctx, user.GUID, memberGUID)); err != nil {
			t.Fatalf("account owners: %v", err)
		}
	}
	return out
}

// checkOutcome compares what MX said with the scenario's expectation.
func checkOutcome(t *testing.T, sc mxsim.Scenario, kind string, out outcome) {
	t.Helper()
	want := sc.Expect.ConnectionStatus
	if sc.Expect.ErrorCode == "challenge_expired" {
		want = "EXPIRED" // the fleet expires it first; straight to MX it is MX's EXPIRED
	}
	if want != "" && out.status != want {
		t.Fatalf("connection status %s, want %s", out.status, want)
	}
	if sc.Expect.State == "succeeded" {
		if kind == "verify" && len(out.numbers) == 0 || kind == "identify" && len(out.owners) == 0 {
			t.Fatalf("succeeded scenario returned no %s results", kind)
		}
	}
	if sc.Expect.ErrorCode == "no_results" {
		if kind == "verify" && len(out.numbers) != 0 || kind == "identify" && len(out.owners) != 0 {
			t.Fatalf("no_results scenario returned results")
		}
	}
}

func TestEveryScenarioThroughTheClient(t *testing.T) {
	c, _, _ := newSim(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	for _, sc := range mxsim.Scenarios() {
		for _, kind := range sc.Kinds {
			t.Run(sc.Name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				checkOutcome(t, sc, kind, drive(t, ctx, c, sc, kind, "u-"+sc.Name+"-"+kind))
			})
		}
	}
}
