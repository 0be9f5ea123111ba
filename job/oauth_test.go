package job

import (
	"slices"
	"strings"
	"testing"
)

func TestOAuthOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    OAuth
		want string // "" valid, else a part of the error
	}{
		{OAuth{}, ""},
		{OAuth{ReferralSource: "BROWSER"}, ""},
		{OAuth{ReferralSource: "APP", ClientRedirectURL: "https://app.example/oauth/done?x=1"}, ""},
		{OAuth{ReferralSource: "app"}, "referral_source"},
		{OAuth{ReferralSource: "WEB"}, "referral_source"},
		{OAuth{ClientRedirectURL: "https://app.example/done"}, "needs referral_source APP"},
		{OAuth{ReferralSource: "APP", ClientRedirectURL: "/done"}, "absolute http or https"},
		{OAuth{ReferralSource: "APP", ClientRedirectURL: "myapp://done"}, "absolute http or https"},
		{OAuth{ReferralSource: "APP", ClientRedirectURL: "https://app.example/a b"}, "without spaces"},
		{OAuth{ReferralSource: "APP", ClientRedirectURL: "https://" + strings.Repeat("a", 2050)}, "at most"},
	} {
		err := tc.o.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

// What an authorizing job's poll does with each status, and what it
// enqueues and records.
func TestAuthorization(t *testing.T) {
	apply := func(r *Record, d Decision) *Record {
		cur := *r
		if d.Change != nil {
			if err := d.Change(&cur); err != nil {
				t.Fatalf("change: %v", err)
			}
		}
		return &cur
	}
	r := record(StateAuthorizing)
	n := r.Polls + 1
	d := Authorization(r, n, Read{ConnectionStatus: "PENDING"}, t0, cfg)
	if got := apply(r, d); got.State != StateAuthorizing || got.Polls != n || len(d.Tasks) != 1 || d.Tasks[0].ID != PollID("j", n+1) {
		t.Fatalf("PENDING: %+v tasks %+v", got, d.Tasks)
	}
	for status, code := range map[string]string{"DENIED": CodeOAuthDenied, "EXPIRED": CodeOAuthExpired} {
		d := Authorization(r, n, Read{ConnectionStatus: status}, t0, cfg)
		got := apply(r, d)
		if got.State != StateFailed || got.Error.Code != code || d.Event == nil || d.Event.Error.Code != code || len(d.Tasks) != 0 {
			t.Fatalf("%s: %+v event %+v", status, got, d.Event)
		}
	}
	// v20250224: MX started the product: poll on, the attempt started.
	d = Authorization(r, n, Read{ConnectionStatus: "CREATED", BeingAggregated: true}, t0, cfg)
	got := apply(r, d)
	if got.State != StateRunning || got.Attempt != 1 || got.Triggered != 1 || got.OAuthWindowURI != "" || d.Tasks[0].ID != PollID("j", n+1) {
		t.Fatalf("authorized (MX started): %+v tasks %+v", got, d.Tasks)
	}
	if ts := ExpectedTasks(got); len(ts) != 1 || ts[0].ID != PollID("j", n+1) {
		t.Fatalf("expected after authorized: %+v", ts)
	}
	// v20111101: the fleet starts it: trigger 1.
	r.OAuthTrigger = true
	d = Authorization(r, n, Read{ConnectionStatus: "CREATED"}, t0, cfg)
	got = apply(r, d)
	if got.State != StateRunning || got.Attempt != 1 || got.Triggered != 0 || d.Tasks[0].ID != TriggerID("j", 1) {
		t.Fatalf("authorized (fleet starts): %+v tasks %+v", got, d.Tasks)
	}
	if ts := ExpectedTasks(got); !slices.ContainsFunc(ts, func(t Task) bool { return t.ID == TriggerID("j", 1) }) {
		t.Fatalf("expected after authorized: %+v", ts)
	}
	if d := TriggerDue(got, 1); d.Drop != "" || d.Wait != nil {
		t.Fatalf("trigger 1 not due: %+v", d)
	}
	// Answers are refused with the reason.
	if err := Claim("a1", 1, "t").Change(record(StateAuthorizing)); err == nil || !strings.Contains(err.Error(), "authorizing") {
		t.Fatalf("answer to an authorizing job: %v", err)
	}
}

func TestOAuthWindowsAndTasks(t *testing.T) {
	r := record(StateAuthorizing)
	if ts := ExpectedTasks(r); len(ts) != 1 || ts[0].ID != PollID("j", r.Polls+1) {
		t.Fatalf("authorizing expects %+v", ts)
	}
	if d := WindowDue(r, 1); d.Drop == "" {
		t.Fatal("window 1 is the create's")
	}
	if d := WindowDue(r, 3); d.Drop == "" {
		t.Fatal("window 3 before 2")
	}
	// MX refuses window 2: noted, nothing else changes; on an ended job
	// or once window 2 is issued, the refusal changes nothing.
	cur := *r
	if err := WindowRefused(2, "mx: 409", t0).Change(&cur); err != nil || cur.OAuthWindowRefused == nil ||
		cur.OAuthWindowRefused.Window != 2 || cur.OAuthWindows != r.OAuthWindows || cur.State != StateAuthorizing {
		t.Fatalf("window 2 refused: %v %+v", err, cur)
	}
	if ended := record(StateFailed); WindowRefused(2, "x", t0).Change(ended) != ErrNoChange {
		t.Fatal("a refusal changed an ended job")
	}
	d := WindowIssued(r, 2, "https://bank.example/oauth/2")
	if err := d.Change(&cur); err != nil || cur.OAuthWindows != 2 || cur.OAuthWindowURI != "https://bank.example/oauth/2" || cur.OAuthWindowRefused != nil {
		t.Fatalf("window 2: %v %+v", err, cur)
	}
	if err := d.Change(&cur); err != ErrNoChange {
		t.Fatalf("window 2 twice: %v", err)
	}
	if err := WindowRefused(2, "late", t0).Change(&cur); err != ErrNoChange {
		t.Fatalf("a refusal of a window issued: %v", err)
	}
	if d.Event == nil || d.Event.State != StateAuthorizing || d.Event.Round != 2 || d.Event.OAuthWindowURI == "" {
		t.Fatalf("event %+v", d.Event)
	}
	var ids []string
	for _, t := range AllTasks(&cur) {
		ids = append(ids, t.ID)
	}
	if !slices.Contains(ids, OAuthID("j", 2)) || !slices.Contains(ids, OAuthID("j", 3)) {
		t.Fatalf("AllTasks misses the window tasks: %v", ids)
	}
	// A start lost before the job was authorizing (its progress written
	// on a failure): no trigger may run on a member not authorized.
	early := record(StateRunning)
	early.Triggered, early.OAuth = 0, &OAuth{}
	if d := Repair(early, nil, t0, cfg); d.Repair != "task_lost" {
		t.Fatalf("OAuth start lost before its window: %q", d.Repair)
	}
	// A start run again finds the job authorizing: no second window 1.
	if err := Authorizing(&cur, "USR-1", "MBR-1", "https://x", false, t0, cfg).Change(&cur); err != ErrNoChange {
		t.Fatalf("authorizing twice: %v", err)
	}
}
