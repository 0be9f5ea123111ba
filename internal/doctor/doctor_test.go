package doctor_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/doctor"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

func simConfig(t *testing.T) fleet.Config {
	t.Helper()
	hs := httptest.NewServer(mxsim.New(mxsim.WithAggregationTime(50 * time.Millisecond)))
	t.Cleanup(hs.Close)
	return fleet.Config{MXBaseURL: hs.URL, MXClientID: mxsim.DefaultClientID, MXAPIKey: mxsim.DefaultAPIKey, MXTimeout: 5 * time.Second}
}

func check(t *testing.T, cfg fleet.Config, o doctor.Options) (doctor.Result, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	var out bytes.Buffer
	res, err := doctor.Run(ctx, cfg, nil, o, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res, out.String()
}

func TestDoctorPassesAgainstTheSimulatorInBothVersions(t *testing.T) {
	for _, v := range mx.Versions {
		t.Run(string(v), func(t *testing.T) {
			cfg := simConfig(t)
			cfg.MXAPIVersion = string(v)
			res, out := check(t, cfg, doctor.Options{})
			if !res.OK || res.Version != v {
				t.Fatalf("not OK: %+v\n%s", res, out)
			}
			for _, want := range []string{"readInstitution", "listInstitutionCredentials", "createUser", "createMember", "readMemberStatus",
				"listAccountNumbersByMember", "identifyMember", "listAccountOwnersByMember", "deleteUser",
				"MX accepted Accept-Version " + string(v), "verdict: OK"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "mxuser") {
				t.Errorf("output shows a credential:\n%s", out)
			}
		})
	}
}

func TestDoctorVerdicts(t *testing.T) {
	refuseVersion := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotAcceptable)
		io.WriteString(w, `{"error":{"message":"Accept-Version header is required (e.g. v20250224)"}}`)
	}))
	t.Cleanup(refuseVersion.Close)
	for _, c := range []struct {
		name         string
		tune         func(*fleet.Config)
		opts         doctor.Options
		ok           bool
		verdict, fix string
	}{
		{"wrong key", func(c *fleet.Config) { c.MXAPIKey = "wrong" }, doctor.Options{}, false, "401", "MXFLEET_MX_API_KEY"},
		{"version refused", func(c *fleet.Config) { c.MXBaseURL = refuseVersion.URL }, doctor.Options{}, false, "refused API version v20250224", "MXFLEET_MX_API_VERSION"},
		{"unreachable", func(c *fleet.Config) { c.MXBaseURL = "http://127.0.0.1:1" }, doctor.Options{}, false, "did not answer", "MXFLEET_MX_BASE_URL"},
		{"institution not there", nil, doctor.Options{Institution: "no_such_bank"}, false, "no institution", "integration environment"},
		{"unknown credential name", nil, doctor.Options{Credentials: map[string]string{"user": "mxuser", "password": "correct"}}, false, "Username (LOGIN)", "--credential"},
		{"denied", nil, doctor.Options{Credentials: map[string]string{"username": "mxuser", "password": "UNAUTHORIZED"}, Kinds: []string{"verify"}}, false, "DENIED", "mxuser"},
		{"MFA without an answer", nil, doctor.Options{Credentials: map[string]string{"username": "mxuser", "password": "challenge"}, Kinds: []string{"verify"}}, false, "MFA", "--answer"},
		{"MFA answered", nil, doctor.Options{Credentials: map[string]string{"username": "mxuser", "password": "challenge"}, Answer: "correct"}, true, "ran verify and identify", ""},
		{"not supported", nil, doctor.Options{Institution: "mxbank_noid"}, false, "does not offer identity_verification", "enable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := simConfig(t)
			if c.tune != nil {
				c.tune(&cfg)
			}
			res, out := check(t, cfg, c.opts)
			if res.OK != c.ok || !strings.Contains(res.Verdict, c.verdict) || !strings.Contains(res.Fix, c.fix) {
				t.Fatalf("got OK=%v verdict %q fix %q; want OK=%v, %q, %q\n%s", res.OK, res.Verdict, res.Fix, c.ok, c.verdict, c.fix, out)
			}
		})
	}
}

// MX answers 403 to every call from an address not on the client's
// allowlist (the simulator's forbidden_rate fault at 1): the doctor names
// the allowlist, not a feature to enable. A 403 after calls went through
// keeps the feature verdict.
func TestDoctorNotOnMXAllowlist(t *testing.T) {
	sim := mxsim.New(mxsim.WithAggregationTime(50 * time.Millisecond))
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	cfg := fleet.Config{MXBaseURL: hs.URL, MXClientID: mxsim.DefaultClientID, MXAPIKey: mxsim.DefaultAPIKey, MXTimeout: 5 * time.Second}
	sim.SetFaults(mxsim.Faults{ForbiddenRate: 1})
	res, out := check(t, cfg, doctor.Options{})
	if res.OK || !strings.Contains(res.Verdict, "this address is not on MX's allowlist") ||
		!strings.Contains(res.Fix, "/22") || !strings.Contains(res.Fix, "static") {
		t.Fatalf("every call 403: got OK=%v verdict %q fix %q\n%s", res.OK, res.Verdict, res.Fix, out)
	}
	if !strings.Contains(out, " 403 ") {
		t.Errorf("the 403 is not printed with its call:\n%s", out)
	}
	// Allowlisted again: the doctor passes.
	sim.SetFaults(mxsim.Faults{})
	if res, out := check(t, cfg, doctor.Options{}); !res.OK {
		t.Fatalf("no fault: %q %q\n%s", res.Verdict, res.Fix, out)
	}
	// Reads go through, writes are refused: a feature, not the address.
	noWrites := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"message":"feature not enabled"}}`)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(noWrites.Close)
	cfg.MXBaseURL = noWrites.URL
	if res, out := check(t, cfg, doctor.Options{}); res.OK || strings.Contains(res.Verdict, "allowlist") || !strings.Contains(res.Fix, "enable") {
		t.Fatalf("403 after a read went through: got OK=%v verdict %q fix %q\n%s", res.OK, res.Verdict, res.Fix, out)
	}
}
