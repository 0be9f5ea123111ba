package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// mxfleet institutions against the simulator: a search, a detail with the
// credential fields, an OAuth institution, the second call from the
// fleet's cache, and clear errors with their exit codes.
func TestInstitutionsCommand(t *testing.T) {
	f := newFleet(t)
	t.Setenv("MXFLEET_MX_BASE_URL", f.SimURL)
	t.Setenv("MXFLEET_MX_CLIENT_ID", mxsim.DefaultClientID)
	t.Setenv("MXFLEET_MX_API_KEY", mxsim.DefaultAPIKey)
	ctx := ctxT(t, time.Minute)

	r := cli(ctx, "institutions", "MX", "Bank")
	if r.code != 0 || !strings.Contains(r.out, "mxbank ") || !strings.Contains(r.out, "mx_bank_oauth") || !strings.Contains(r.out, "VERIFY") {
		t.Fatalf("search: %+v", r)
	}
	before := f.Sim.Stats().Calls
	if r2 := cli(ctx, "institutions", "MX", "Bank"); r2.out != r.out || f.Sim.Stats().Calls["listInstitutions"] != before["listInstitutions"] {
		t.Fatalf("second search: %+v (MX called again?)", r2)
	}
	r = cli(ctx, "institutions", "--code", "mxbank")
	for _, want := range []string{"LOGIN", "Username", "PASSWORD", "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1", "identification  yes"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Fatalf("detail lacks %q: %+v", want, r)
		}
	}
	if r = cli(ctx, "institutions", "--code", "mx_bank_oauth"); r.code != 0 || !strings.Contains(r.out, "OAuth") {
		t.Fatalf("OAuth institution: %+v", r)
	}
	if r = cli(ctx, "institutions", "--code", "mxbank", "--json"); r.code != 0 || !strings.Contains(r.out, `"field_name": "PASSWORD"`) {
		t.Fatalf("--json: %+v", r)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"institutions"}, 2, "give a NAME"},
		{[]string{"institutions", "--code", "a b"}, 2, "institution code is"},
		{[]string{"institutions", "--code", "nope"}, 1, `MX knows no institution "nope"`},
		{[]string{"institutions", "bank", "--page", "0"}, 2, "--page"},
	} {
		if r := cli(ctx, c.args...); r.code != c.code || !strings.Contains(r.err, c.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", c.args, r.code, r.err, c.code, c.msg)
		}
	}
	t.Setenv("MXFLEET_MX_API_KEY", "")
	if r := cli(ctx, "institutions", "bank"); r.code != 1 || !strings.Contains(r.err, "MXFLEET_MX_API_KEY") {
		t.Errorf("without MX keys: %+v", r)
	}
}
