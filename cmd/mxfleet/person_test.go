package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// identify with the person's data, by flags or from a JSON file: --wait
// and status print the verdict, the thresholds and every owner's field
// scores, never the person; status --json has the match.
func TestIdentifyWithPersonPrintsTheMatch(t *testing.T) {
	newFleet(t)
	ctx := ctxT(t, time.Minute)
	bank := []string{"--institution", "mxbank", "--credential", "Username=mxuser", "--credential", "Password=correct"}
	args := append([]string{"identify", "--job-id", "kyc-flags", "--user-id", "u-kyc", "--wait",
		"--person-name", "DARKO, DONALD", "--person-line1", "100 MAIN ST", "--person-city", "Middlesex", "--person-state", "Virginia",
		"--person-postal-code", "00000", "--person-email", "Donnie.Darko@Example.com", "--person-phone", "(555) 555-1000"}, bank...)
	r := cli(ctx, args...)
	if r.code != 0 || !strings.Contains(r.out, "\nmatch      match  score 98  (match ≥ 85 and name matches, partial ≥ 50)\n") ||
		!strings.Contains(r.out, " match 98: name 95, address 100, phone 100, email 100  best\n           is_nickname_match, is_postal_code_match\n") ||
		!strings.Contains(r.out, " no_match ") {
		t.Fatalf("identify --wait with a person: %+v", r)
	}
	for _, s := range []string{"DARKO, DONALD", "100 MAIN ST", "Virginia", "Donnie.Darko@Example.com", "(555) 555-1000"} {
		if strings.Contains(r.out+r.err, s) {
			t.Errorf("the output shows the person's %q", s)
		}
	}
	if s := cli(ctx, "status", "kyc-flags"); s.code != 0 || !strings.Contains(s.out, "\nmatch      match  score 98") {
		t.Fatalf("status: %+v", s)
	}
	s := cli(ctx, "status", "--json", "kyc-flags")
	var v struct {
		PersonGiven bool `json:"person_given"`
		Match       struct {
			Verdict string `json:"verdict"`
			Best    int    `json:"best"`
			Owners  []struct {
				Fields []struct {
					Field string `json:"field"`
					Score int    `json:"score"`
				} `json:"fields"`
			} `json:"owners"`
		} `json:"match"`
	}
	if s.code != 0 || json.Unmarshal([]byte(s.out), &v) != nil || !v.PersonGiven || v.Match.Verdict != "match" || v.Match.Best != 0 || v.Match.Owners[0].Fields[0].Score != 95 {
		t.Fatalf("status --json: %+v", s)
	}

	// The job's own thresholds decide the verdict and are shown with it.
	r = cli(ctx, append([]string{"identify", "--job-id", "kyc-th", "--user-id", "u-kyc", "--wait", "--match-threshold", "99", "--partial-threshold", "60"}, args[6:]...)...)
	if r.code != 0 || !strings.Contains(r.out, "\nmatch      partial  score 98  (match ≥ 99 and name matches, partial ≥ 60)\n") {
		t.Fatalf("identify --match-threshold 99 --partial-threshold 60: %+v", r)
	}
	if s := cli(ctx, "status", "kyc-th"); s.code != 0 || !strings.Contains(s.out, "(match ≥ 99 and name matches, partial ≥ 60)") {
		t.Fatalf("status: %+v", s)
	}

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stranger := write("stranger.json", `{"name":"Alice Johnson","address":{"line1":"9 Elm Road","city":"Springfield","state":"IL","postal_code":"62701"},"email":"alice@example.org"}`)
	r = cli(ctx, append([]string{"identify", "--job-id", "kyc-file", "--user-id", "u-kyc", "--wait", "--person", stranger}, bank...)...)
	if r.code != 0 || !strings.Contains(r.out, "\nmatch      no_match  score ") || !strings.Contains(r.out, "phone - (the person lacks it)") {
		t.Fatalf("identify --person FILE, a stranger: %+v", r)
	}

	// A job that ends without owners has nothing scored, and says so.
	r = cli(ctx, "identify", "--job-id", "kyc-none", "--user-id", "u-kyc", "--member-guid", "unidentified", "--person-name", "Donnie Darko", "--wait")
	if r.code != 1 || !strings.Contains(r.out, "\nperson     given (sealed); no owners were scored: the job has no result\n") || strings.Contains(r.out, "Darko") {
		t.Fatalf("identify of a member without owners: %+v", r)
	}

	// Refused before anything is sent: exit 2, the flag or field named,
	// no value quoted.
	for name, c := range map[string]struct {
		args []string
		says string
	}{
		"verify":        {[]string{"verify", "--user-id", "u", "--member-guid", "MBR-1", "--person-name", "Donnie Darko"}, "only identify jobs"},
		"follow":        {[]string{"verify", "--user-guid", "USR-1", "--member-guid", "MBR-1", "--follow", "--person-email", "donnie@example.com"}, "only identify jobs"},
		"both":          {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person", stranger, "--person-name", "Donnie Darko"}, "not both"},
		"empty":         {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person", write("empty.json", `{"address":{}}`)}, "at least one"},
		"unknown field": {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person", write("ssn.json", `{"name":"Donnie Darko","ssn":"123-45-6789"}`)}, `unknown field "ssn"`},
		"malformed":     {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person", write("bad.json", `{"name":"Donnie Darko",`)}, "malformed JSON"},
		"no file":       {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person", filepath.Join(dir, "none.json")}, "no such file"},
		"too long":      {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person-city", strings.Repeat("Darko", 60)}, "address.city is 300 bytes"},
		"partial above match": {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person-name", "Donnie Darko", "--match-threshold", "60", "--partial-threshold", "70"},
			"thresholds: the partial threshold (70) must not be above the match threshold (60)"},
		"below the default partial": {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person-name", "Donnie Darko", "--match-threshold", "40"},
			"the partial threshold (50) must not be above the match threshold (40)"},
		"over 100":          {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person-name", "Donnie Darko", "--match-threshold", "101"}, "not 101"},
		"not a number":      {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--person-name", "Donnie Darko", "--partial-threshold", "half"}, "want a whole number from 1 to 100"},
		"thresholds only":   {[]string{"identify", "--user-id", "u", "--member-guid", "MBR-1", "--match-threshold", "90"}, "give the person too"},
		"verify thresholds": {[]string{"verify", "--user-id", "u", "--member-guid", "MBR-1", "--match-threshold", "90"}, "only identify jobs given a person"},
	} {
		r := cli(ctx, c.args...)
		if r.code != 2 || !strings.Contains(r.err, c.says) || strings.Contains(r.err, "Darko") || strings.Contains(r.err, "123-45") || r.out != "" {
			t.Errorf("%s: %+v, want exit 2 saying %q", name, r, c.says)
		}
	}
}
