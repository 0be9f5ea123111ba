package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// From the command line: a denied job's error shows how to send new
// credentials for its member; verify --member-guid with --credential does
// so and succeeds on the same member, MX creating no second one. A member
// guid with --institution, or --follow with credentials, is refused
// before anything is enqueued.
func TestReauthenticationFromTheCLI(t *testing.T) {
	f := newFleet(t)
	ctx := ctxT(t, time.Minute)
	r := cli(ctx, "verify", "--job-id", "c-denied", "--user-id", "u-reauth", "--institution", "mxbank",
		"--credential", "Username=mxuser", "--credential", "Password=UNAUTHORIZED", "--wait")
	m := regexp.MustCompile(`(?m)^member     (MBR-[A-Za-z0-9-]+)$`).FindStringSubmatch(r.out)
	if r.code != 1 || m == nil || !strings.Contains(r.out, "--member-guid "+m[1]+" --credential NAME=VALUE") {
		t.Fatalf("denied job: %+v", r)
	}
	member := m[1]
	for name, args := range map[string][]string{
		"with an institution": {"--institution", "mxbank"},
		"following":           {"--follow"},
	} {
		r := cli(ctx, append([]string{"verify", "--user-id", "u-reauth", "--member-guid", member, "--credential", "Username=mxuser", "--credential", "Password=correct"}, args...)...)
		if r.code == 0 || !strings.Contains(r.err, "member:") || strings.Contains(r.err, "correct") {
			t.Errorf("%s: %+v, want refused", name, r)
		}
	}
	r = cli(ctx, "identify", "--job-id", "c-reauth", "--user-id", "u-reauth", "--member-guid", member,
		"--credential", "Username=mxuser", "--credential", "Password=correct", "--wait")
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "member     "+member+"\n") {
		t.Fatalf("re-authentication: %+v", r)
	}
	if st := f.Sim.Stats(); st.Calls["createMember"] != 1 || st.Calls["updateMember"] != 1 {
		t.Fatalf("MX calls: %v", st.Calls)
	}
}
