package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/scenario"
)

// An OAuth job through the CLI: verify --oauth --wait shows the window
// URI, status shows it, "mxfleet oauth" asks for a fresh one (shown in
// turn), and the end user approving it ends the wait with the results.
func TestOAuthThroughTheCLI(t *testing.T) {
	newFleet(t)
	ctx := ctxT(t, time.Minute)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"verify", "--user-id", "u", "--institution", "mx_bank_oauth", "--oauth", "--oauth-referral-source", "WEB"}, 2, "referral_source"},
		{[]string{"verify", "--user-id", "u", "--institution", "mx_bank_oauth", "--oauth-referral-source", "APP"}, 2, "go with --oauth"},
		{[]string{"verify", "--user-id", "u", "--institution", "mx_bank_oauth", "--oauth", "--oauth-redirect-url", "https://app.example/x"}, 2, "APP"},
		{[]string{"verify", "--user-id", "u", "--institution", "mx_bank_oauth", "--oauth", "--credential", "Username=x"}, 1, "no credentials"},
		{[]string{"oauth", "nope"}, 1, "does not exist"},
		{[]string{"oauth"}, 2, "want one JOB_ID"},
	} {
		if r := cli(ctx, c.args...); r.code != c.code || !strings.Contains(r.err, c.msg) {
			t.Errorf("%v: %+v, want exit %d with %q", c.args, r, c.code, c.msg)
		}
	}
	stderr, done := cliAsync(ctx, "verify", "--job-id", "o-1", "--user-id", "u-o1", "--institution", "mx_bank_oauth", "--oauth", "--wait")
	openRE := regexp.MustCompile(`(?m)^job o-1 waits for the end user to authorize MX at the institution \(OAuth window (\d)\):\n  open: (\S+)$`)
	await := func(window string) string {
		for {
			for _, m := range openRE.FindAllStringSubmatch(stderr.String(), -1) {
				if m[1] == window {
					return m[2]
				}
			}
			select {
			case r := <-done:
				t.Fatalf("verify --wait ended before window %s: %+v", window, r)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	first := await("1")
	if r := cli(ctx, "status", "o-1"); r.code != 0 || !strings.Contains(r.out, "state      authorizing\n") || !strings.Contains(r.out, "oauth      window 1, for the end user: "+first) {
		t.Fatalf("status: %+v", r)
	}
	if r := cli(ctx, "answer", "o-1", "--challenge", "CRD-1=x"); r.code != 1 || !strings.Contains(r.err, "OAuth job") {
		t.Fatalf("answer to an authorizing job: %+v", r)
	}
	if r := cli(ctx, "oauth", "o-1"); r.code != 0 || !strings.Contains(r.out, "OAuth window 2 asked for job o-1") {
		t.Fatalf("oauth: %+v", r)
	}
	second := await("2")
	if second == first {
		t.Fatal("the fresh window has the old URI")
	}
	if err := scenario.Decide(ctx, second, "approve"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "account ") {
		t.Fatalf("verify --oauth --wait: %+v", r)
	}
	if r := cli(ctx, "oauth", "o-1"); r.code != 1 || !strings.Contains(r.err, "not waiting for an OAuth authorization") {
		t.Fatalf("oauth for an ended job: %+v", r)
	}
}
