package job

import (
	"errors"
	"testing"
	"time"
)

var (
	t0  = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cfg = Config{PollInitial: 3 * time.Second, PollMax: time.Minute, PollFactor: 1.5, JobDeadline: 15 * time.Minute,
		ChallengeTTL: 10 * time.Minute, RetryLaterDelay: 5 * time.Minute, MaxAttempts: 3}
)

// record is a job in state s as the handlers leave it there.
func record(s State) *Record {
	r := &Record{ID: "j", Kind: KindVerify, State: s, UserGUID: "USR-1", MemberGUID: "MBR-1", UpdatedAt: t0,
		Deadline: t0.Add(time.Hour), Attempt: 1, Triggered: 1, TriggeredAt: t0.Add(-time.Minute), Polls: 2, PollMark: 0, SawRunning: true}
	switch s {
	case StatePending:
		r.Attempt, r.Triggered, r.Polls, r.UserGUID, r.MemberGUID, r.Deadline = 0, 0, 0, "", "", time.Time{}
	case StateChallenged:
		r.Round, r.ChallengeExp, r.ConnectionStatus = 1, t0.Add(cfg.ChallengeTTL), "CHALLENGED"
	case StateAuthorizing:
		r.Attempt, r.Triggered, r.TriggeredAt, r.SawRunning, r.ConnectionStatus = 0, 0, time.Time{}, false, "PENDING"
		r.OAuth, r.OAuthWindows, r.OAuthWindowURI = &OAuth{}, 1, "https://bank.example/oauth/1"
	case StateSucceeded:
		r.ConnectionStatus = "CONNECTED"
	case StateFailed:
		r.Error = &Error{Code: "denied"}
	}
	return r
}

// outcome is what a decision does to a record: "drop", "wait", "need",
// the state it writes, or "same" (no write).
func outcome(r *Record, d Decision) string {
	switch {
	case d.Drop != "":
		return "drop"
	case d.Wait != nil:
		return "wait"
	case d.Need != NeedNothing:
		return "need"
	case d.Change == nil:
		if len(d.Tasks) > 0 {
			return "tasks"
		}
		return "same"
	}
	cur := *r
	if err := d.Change(&cur); errors.Is(err, ErrNoChange) {
		return "same"
	} else if err != nil {
		return "refused"
	}
	return string(cur.State)
}

// TestEveryStateAndEvent walks every (state, event) pair: what the
// machine does with each event in each state.
func TestEveryStateAndEvent(t *testing.T) {
	read := func(status string) Read { return Read{ConnectionStatus: status, Challenges: []string{"CRD-1"}} }
	events := []struct {
		name   string
		decide func(r *Record) Decision
		want   map[State]string // by state: every one of States
	}{
		{"start", func(r *Record) Decision {
			if d := StartDue(r); d.Drop != "" {
				return d
			}
			return Triggered(r, 1, t0, "CREATED", Started("USR-1", "MBR-1", t0, cfg), t0, cfg)
		}, map[State]string{StateAuthorizing: "drop", StatePending: "running", StateRunning: "drop", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"trigger 2", func(r *Record) Decision {
			if d := TriggerDue(r, 2); d.Drop != "" || d.Wait != nil {
				return d
			}
			return Triggered(r, 2, t0, "CREATED", Decision{}, t0, cfg)
		}, map[State]string{StateAuthorizing: "drop", StatePending: "drop", StateRunning: "wait", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		// v20111101's OAuth job: the poll that saw the authorization
		// enqueues trigger 1 before its write; one that runs first waits.
		{"trigger 1 (OAuth, v20111101)", func(r *Record) Decision {
			if r.State == StateAuthorizing {
				r.OAuthTrigger = true
			}
			if d := TriggerDue(r, 1); d.Drop != "" || d.Wait != nil {
				return d
			}
			return Triggered(r, 1, t0, "CREATED", Decision{}, t0, cfg)
		}, map[State]string{StateAuthorizing: "wait", StatePending: "drop", StateRunning: "drop", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll in progress", pollWith(read("RESUMED")), map[State]string{StateAuthorizing: "running", StatePending: "wait", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll challenged", pollWith(read("CHALLENGED")), map[State]string{StateAuthorizing: "running", StatePending: "wait", StateRunning: "challenged", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll connected", pollWith(read("CONNECTED")), map[State]string{StateAuthorizing: "running", StatePending: "wait", StateRunning: "need", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll degraded", pollWith(read("DEGRADED")), map[State]string{StateAuthorizing: "running", StatePending: "wait", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll denied", pollWith(read("DENIED")), map[State]string{StateAuthorizing: "failed", StatePending: "wait", StateRunning: "failed", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"results", func(r *Record) Decision { return Succeed(r, r.Polls+1, read("CONNECTED"), 1) },
			map[State]string{StateAuthorizing: "same", StatePending: "same", StateRunning: "succeeded", StateChallenged: "same", StateSucceeded: "same", StateFailed: "same"}},
		{"answer", func(r *Record) Decision { return Claim("a1", 1, "task-1") },
			map[State]string{StateAuthorizing: "refused", StatePending: "refused", StateRunning: "refused", StateChallenged: "challenged", StateSucceeded: "refused", StateFailed: "refused"}},
		{"resumed", func(r *Record) Decision { return Resumed(r, "", []string{"CRD-1"}, t0, cfg) },
			map[State]string{StateAuthorizing: "same", StatePending: "same", StateRunning: "same", StateChallenged: "running", StateSucceeded: "same", StateFailed: "same"}},
		{"expire early", func(r *Record) Decision { return ExpireDue(r, 1, ExpireID("j", 1), t0) },
			map[State]string{StateAuthorizing: "drop", StatePending: "drop", StateRunning: "drop", StateChallenged: "need", StateSucceeded: "drop", StateFailed: "drop"}},
		{"MX shows EXPIRED", func(r *Record) Decision { return Checked(r, 1, "EXPIRED", t0, cfg) },
			map[State]string{StateAuthorizing: "same", StatePending: "same", StateRunning: "same", StateChallenged: "failed", StateSucceeded: "same", StateFailed: "same"}},
		{"expire due", func(r *Record) Decision {
			if d := ExpireDue(r, 1, ExpireID("j", 1), t0.Add(time.Hour)); d.Need != NeedAnswers {
				return d
			}
			return Expire(r, 1, "not answered")
		}, map[State]string{StateAuthorizing: "drop", StatePending: "drop", StateRunning: "drop", StateChallenged: "failed", StateSucceeded: "drop", StateFailed: "drop"}},
		{"deadline", func(r *Record) Decision {
			if d, ok := Overdue(r, t0.Add(2*time.Hour), cfg); ok {
				return d
			}
			return Decision{}
		}, map[State]string{StateAuthorizing: "failed", StatePending: "same", StateRunning: "failed", StateChallenged: "failed", StateSucceeded: "same", StateFailed: "same"}},
		{"lost task", func(r *Record) Decision {
			if len(ExpectedTasks(r)) == 0 {
				return Decision{}
			}
			return Repair(r, []string{"CRD-1"}, t0, cfg)
		}, map[State]string{StateAuthorizing: "tasks", StatePending: "failed", StateRunning: "tasks", StateChallenged: "tasks", StateSucceeded: "same", StateFailed: "same"}},
		// Re-authentication (reauth.go): the record is a re-auth's.
		{"reauth start", func(r *Record) Decision {
			r.Reauth = true
			if d := StartDue(r); d.Drop != "" {
				return d
			}
			return Triggered(r, 1, t0, "UPDATED", Reauthed(true, true, Started("USR-1", "MBR-1", t0, cfg)), t0, cfg)
		}, map[State]string{StateAuthorizing: "drop", StatePending: "running", StateRunning: "drop", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll connected, prelude", func(r *Record) Decision {
			r.Reauth, r.Prelude, r.CredsUpdated = true, true, true
			return pollWith(read("CONNECTED"))(r)
		}, map[State]string{StateAuthorizing: "running", StatePending: "wait", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll denied, prelude", func(r *Record) Decision {
			r.Reauth, r.Prelude, r.CredsUpdated = true, true, true
			return pollWith(read("DENIED"))(r)
		}, map[State]string{StateAuthorizing: "failed", StatePending: "wait", StateRunning: "failed", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"MX busy (409)", func(r *Record) Decision {
			r.Reauth = true
			return Busy(r, t0, cfg)
		}, map[State]string{StateAuthorizing: "wait", StatePending: "wait", StateRunning: "wait", StateChallenged: "wait", StateSucceeded: "same", StateFailed: "same"}},
		{"lost start, credentials not sent", func(r *Record) Decision {
			r.Reauth, r.Triggered, r.Attempt = true, 0, 1
			if len(ExpectedTasks(r)) == 0 {
				return Decision{}
			}
			return Repair(r, []string{"CRD-1"}, t0, cfg)
		}, map[State]string{StateAuthorizing: "failed", StatePending: "failed", StateRunning: "failed", StateChallenged: "tasks", StateSucceeded: "same", StateFailed: "same"}},
		{"start: OAuth member", func(r *Record) Decision {
			if d := StartDue(r); d.Drop != "" {
				return d
			}
			return Authorizing(r, "USR-1", "MBR-1", "https://bank.example/oauth/1", false, t0, cfg)
		}, map[State]string{StatePending: "authorizing", StateAuthorizing: "drop", StateRunning: "drop", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll PENDING", pollWith(read("PENDING")), map[State]string{StatePending: "wait", StateAuthorizing: "authorizing", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll EXPIRED", pollWith(read("EXPIRED")), map[State]string{StatePending: "wait", StateAuthorizing: "failed", StateRunning: "failed", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"fresh window 2", func(r *Record) Decision {
			if d := WindowDue(r, 2); d.Drop != "" {
				return d
			}
			return WindowIssued(r, 2, "https://bank.example/oauth/2")
		}, map[State]string{StatePending: "drop", StateAuthorizing: "authorizing", StateRunning: "drop", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
	}
	for _, ev := range events {
		for _, s := range States {
			r := record(s) // decide may make it a re-authentication's record first
			if got, want := outcome(r, ev.decide(r)), ev.want[s]; got != want {
				t.Errorf("%s in %s: %s, want %s", ev.name, s, got, want)
			}
		}
	}
}

func pollWith(st Read) func(*Record) Decision {
	return func(r *Record) Decision {
		n := r.Polls + 1
		if d := PollDue(r, n); d.Drop != "" || d.Wait != nil {
			return d
		}
		return Polled(r, n, st, t0, cfg)
	}
}

// A start that fails after MX created the user (and member) names them in
// the failing write; an ended job is left as it was.
func TestFailStartNamesWhatTheStartFound(t *testing.T) {
	r := &Record{State: StateRunning}
	if err := FailStart(r, "USR-1", "MBR-1", CodeUnknownCredential, "no field").Change(r); err != nil {
		t.Fatal(err)
	}
	if r.State != StateFailed || r.UserGUID != "USR-1" || r.MemberGUID != "MBR-1" || r.Error == nil || r.Error.Code != CodeUnknownCredential {
		t.Fatalf("failed start: %+v", r)
	}
	done := &Record{State: StateSucceeded, UserGUID: "USR-0"}
	if err := FailStart(done, "USR-1", "MBR-1", CodeMXError, "x").Change(done); err != ErrNoChange || done.UserGUID != "USR-0" || done.MemberGUID != "" {
		t.Fatalf("ended job: %v %+v", err, done)
	}
}
