package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// mxfleet verify --fallback-*: refused (exit 2) when the account is bad
// or the job is identify or --follow; at an institution without instant
// verification the job falls back to micro-deposits, --wait shows the
// command that answers the amounts, and the job ends succeeded via
// microdeposit.
func TestVerifyFallbackCLI(t *testing.T) {
	f, ctx := mdCLIFleet(t)
	member := []string{"--user-id", "u-fb-cli", "--institution", "mxbank_noverify", "--credential", "username=mxuser", "--credential", "password=correct"}
	fb := []string{"--fallback-account-number", "333388888", "--fallback-routing-number", "091000019", "--fallback-account-type", "savings"}
	for name, args := range map[string][]string{
		"bad routing": append(append([]string{"verify"}, member...), "--fallback-account-number", "333388888", "--fallback-routing-number", "091000018"),
		"no number":   append(append([]string{"verify"}, member...), "--fallback-routing-number", "091000019"),
		"identify":    append(append([]string{"identify"}, member...), fb...),
		"follow":      append([]string{"verify", "--user-id", "u", "--member-guid", "MBR-1", "--follow"}, fb...),
	} {
		r := cli(ctx, args...)
		if r.code != 2 || !strings.Contains(r.err, "--fallback-") || strings.Contains(r.err, "333388888") {
			t.Errorf("%s: %+v", name, r)
		}
	}
	stderr, done := cliAsync(ctx, append(append(append([]string{"verify", "--job-id", "fb-cli"}, member...), fb...), "--wait")...)
	hint := "answer with: mxfleet answer fb-cli --amounts A,B"
	for !strings.Contains(stderr.String(), hint) {
		select {
		case r := <-done:
			t.Fatalf("verify --wait ended before the amounts were asked for: %+v", r)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if r := cli(ctx, "status", "fb-cli"); r.code != 0 || !strings.Contains(r.out, "kind       verify\n") || !strings.Contains(r.out, "via        microdeposit") {
		t.Errorf("status of the fallen-back job: %+v", r)
	}
	j, err := f.Client.Status(ctx, "fb-cli")
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ := f.Sim.MicrodepositAmounts(j.MemberGUID)
	if r := cli(ctx, "answer", "fb-cli", "--amounts", fmt.Sprintf("%.2f,%.2f", a, b)); r.code != 0 {
		t.Fatalf("the amounts: %+v", r)
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "via        microdeposit") {
		t.Fatalf("verify --wait: %+v", r)
	}
}
