package job

import (
	"strings"
	"testing"
)

func TestReauthHint(t *testing.T) {
	for _, code := range ReauthCodes {
		r := record(StateRunning)
		r.Fail(code, "MX connection status X")
		if m := r.Error.Message; !strings.HasPrefix(m, "MX connection status X; ") || !strings.Contains(m, "member.guid MBR-1 and member.credentials") {
			t.Errorf("%s: %q", code, m)
		}
	}
	for _, code := range []string{"locked", CodeTimeout, CodeNoResults, CodeUnknownCredential} {
		r := record(StateRunning)
		if r.Fail(code, "m"); r.Error.Message != "m" {
			t.Errorf("%s: %q, want no hint", code, r.Error.Message)
		}
	}
	if m := ReauthHint("denied", "m", ""); !strings.Contains(m, "same member") || strings.Contains(m, "MBR") {
		t.Errorf("without a member: %q", m)
	}
}

// Reauthed records the update once and marks the prelude only before the
// first MX job is recorded; on a job that is no re-authentication it
// writes nothing of its own.
func TestReauthed(t *testing.T) {
	started := Started("USR-1", "MBR-1", t0, cfg)
	r := record(StatePending)
	r.Reauth, r.MemberGUID = true, "MBR-1"
	if err := Reauthed(true, true, started).Change(r); err != nil || r.State != StateRunning || !r.CredsUpdated || !r.Prelude {
		t.Fatalf("first: %v %+v", err, r)
	}
	if err := Reauthed(true, true, started).Change(r); err != ErrNoChange {
		t.Fatalf("again: %v", err)
	}
	r.Prelude, r.Triggered = false, 1
	if err := Reauthed(false, true, started).Change(r); err != ErrNoChange || r.Prelude {
		t.Fatalf("after the first MX job: %v %+v", err, r)
	}
	plain := record(StateRunning)
	if err := Reauthed(true, true, started).Change(plain); err != ErrNoChange || plain.CredsUpdated || plain.Prelude {
		t.Fatalf("not a re-authentication: %v %+v", err, plain)
	}
	failed := record(StateFailed)
	failed.Reauth = true
	if err := Reauthed(true, true, started).Change(failed); err != ErrNoChange || failed.CredsUpdated {
		t.Fatalf("failed job: %v %+v", err, failed)
	}
}

// The prelude's CONNECTED starts the job's own MX job now, as the next
// attempt; a retry-later status during it restarts with the job's own
// MX job too (the prelude is over either way).
func TestPrelude(t *testing.T) {
	r := record(StateRunning)
	r.Reauth, r.CredsUpdated, r.Prelude = true, true, true
	d := Polled(r, r.Polls+1, Read{ConnectionStatus: "CONNECTED"}, t0, cfg)
	if len(d.Tasks) != 1 || d.Tasks[0].ID != TriggerID("j", 2) || !d.Tasks[0].At.Equal(t0) {
		t.Fatalf("tasks: %+v", d.Tasks)
	}
	cur := *r
	if err := d.Change(&cur); err != nil || cur.Attempt != 2 || cur.Prelude || cur.State != StateRunning || cur.Polls != r.Polls+1 {
		t.Fatalf("change: %v %+v", err, cur)
	}
	if d := TriggerDue(&cur, 2); d.Drop != "" || d.Wait != nil {
		t.Fatalf("trigger 2 not due: %+v", d)
	}
	d = Polled(r, r.Polls+1, Read{ConnectionStatus: "DEGRADED"}, t0, cfg)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.Attempt != 2 || cur.Prelude {
		t.Fatalf("degraded: %v %+v", err, cur)
	}
	d = Polled(r, r.Polls+1, Read{ConnectionStatus: "DENIED"}, t0, cfg)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.State != StateFailed || cur.Error.Code != "denied" {
		t.Fatalf("denied: %v %+v", err, cur)
	}
	if d := Busy(r, t0, cfg); d.Wait == nil || !d.Wait.Until.Equal(t0.Add(cfg.PollInitial)) {
		t.Fatalf("busy: %+v", d)
	}
	if d := Busy(record(StateRunning), t0, cfg); d.Wait != nil {
		t.Fatalf("busy, not a re-authentication: %+v", d)
	}
}

// MX's duplicate 409 to a re-authentication's update ends the job at
// once, failed duplicate_member: no wait, no task; the message names the
// member that has the credentials when the user has one other member at
// the institution, the candidates when several, and says it cannot name
// one when none is left. A job already ended is not written.
func TestDuplicateUpdate(t *testing.T) {
	for _, c := range []struct {
		name   string
		others []string
		says   []string
	}{
		{"one other", []string{"MBR-2"}, []string{"member MBR-1", "member MBR-2 at mxbank already has those credentials", "member.guid MBR-2"}},
		{"several", []string{"MBR-2", "MBR-3"}, []string{"member MBR-1", "(MBR-2, MBR-3)", "MX does not say which"}},
		{"none left", nil, []string{"member MBR-1", "no other member at mxbank", "cannot name"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := record(StatePending)
			r.Reauth, r.MemberGUID, r.UserGUID = true, "MBR-1", ""
			d := DuplicateUpdate(r, "USR-1", "MBR-1", "mxbank", c.others)
			if d.Wait != nil || len(d.Tasks) != 0 || d.Drop != "" || d.Need != NeedNothing {
				t.Fatalf("not an immediate end: %+v", d)
			}
			if d.Event == nil || d.Event.State != StateFailed || d.Event.Error == nil || d.Event.Error.Code != CodeDuplicateMember {
				t.Fatalf("event: %+v", d.Event)
			}
			if err := d.Change(r); err != nil || r.State != StateFailed || r.Error.Code != CodeDuplicateMember || r.UserGUID != "USR-1" || r.MemberGUID != "MBR-1" {
				t.Fatalf("change: %v %+v", err, r)
			}
			for _, s := range c.says {
				if !strings.Contains(r.Error.Message, s) {
					t.Errorf("message %q does not say %q", r.Error.Message, s)
				}
			}
			if err := d.Change(r); err != ErrNoChange {
				t.Fatalf("on the failed job: %v", err)
			}
		})
	}
}
