package job

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"
)

// mdRecord is a micro-deposit job in state s as the handlers leave it.
func mdRecord(s State) *Record {
	r := record(s)
	r.Kind, r.MemberGUID, r.ConnectionStatus = KindMicrodeposit, "MIC-1", "REQUESTED"
	if s == StatePending {
		r.MemberGUID, r.ConnectionStatus = "", ""
	}
	if s == StateChallenged {
		r.ConnectionStatus, r.ChallengeExp = "DEPOSITED", r.Deadline
	}
	return r
}

// TestMicrodepositStateAndEvent walks every (state, event) pair of the
// micro-deposit table (microdeposit.go).
func TestMicrodepositStateAndEvent(t *testing.T) {
	md := func(s string) MDRead { return MDRead{Status: s} }
	gone := MDRead{Gone: true}
	claimed := func(r *Record) *Record { r.ResumeClaim, r.ResumeBy = "a1", "answer:j:a1"; return r }
	poll := func(st MDRead) func(*Record) Decision {
		return func(r *Record) Decision {
			n := r.Polls + 1
			if d := PollDue(r, n); d.Drop != "" || d.Wait != nil {
				return d
			}
			return MDPolled(r, n, st, t0, cfg)
		}
	}
	answered := func(st MDRead) func(*Record) Decision {
		return func(r *Record) Decision { return MDAnswered(r, "a1", st, t0, cfg) }
	}
	check := func(st MDRead) func(*Record) Decision {
		return func(r *Record) Decision {
			if d := ExpireDue(r, 1, ExpireID("j", 1), t0); d.Need != NeedStatus {
				return d
			}
			return MDChecked(r, 1, st, true, t0, cfg)
		}
	}
	all := func(s string) map[State]string {
		return map[State]string{StatePending: s, StateRunning: s, StateChallenged: s, StateSucceeded: s, StateFailed: s}
	}
	only := func(s State, got, rest string) map[State]string { m := all(rest); m[s] = got; return m }
	events := []struct {
		name   string
		decide func(r *Record) Decision
		want   map[State]string
	}{
		{"start", func(r *Record) Decision {
			if d := StartDue(r); d.Drop != "" {
				return d
			}
			return MDStarted(r, "USR-1", "MIC-1", "INITIATED", t0, cfg)
		}, only(StatePending, "running", "drop")},
		{"verify start: fallback", func(r *Record) Decision {
			r.Kind, r.Fallback = KindVerify, KindMicrodeposit
			if d := StartDue(r); d.Drop != "" {
				return d
			}
			return MDFellBack(r, "USR-1", "MBR-1", "MIC-1", "INITIATED", t0, cfg)
		}, only(StatePending, "running", "drop")},
		{"poll INITIATED", poll(md("INITIATED")), map[State]string{StatePending: "wait", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll REQUESTED", poll(md("REQUESTED")), map[State]string{StatePending: "wait", StateRunning: "running", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll DEPOSITED", poll(md("DEPOSITED")), map[State]string{StatePending: "wait", StateRunning: "challenged", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll VERIFIED", poll(md("VERIFIED")), map[State]string{StatePending: "wait", StateRunning: "need", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"results", func(r *Record) Decision { return MDSucceed(r, r.Polls+1) }, only(StateRunning, "succeeded", "same")},
		{"poll ERRORED", poll(md("ERRORED")), map[State]string{StatePending: "wait", StateRunning: "failed", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"poll 404", poll(gone), map[State]string{StatePending: "wait", StateRunning: "failed", StateChallenged: "drop", StateSucceeded: "drop", StateFailed: "drop"}},
		{"answer", func(r *Record) Decision { return Decision{Change: Claim("a1", 1, "task-1")} }, only(StateChallenged, "challenged", "refused")},
		{"MX: VERIFIED", answered(md("VERIFIED")), only(StateChallenged, "succeeded", "same")},
		{"MX: wrong amounts", answered(md("DEPOSITED")), only(StateChallenged, "challenged", "same")},
		{"MX: PREVENTED", answered(md("PREVENTED")), only(StateChallenged, "failed", "same")},
		{"MX: 404", answered(gone), only(StateChallenged, "failed", "same")},
		{"check DEPOSITED", check(md("DEPOSITED")), only(StateChallenged, "wait", "drop")},
		{"check VERIFIED", check(md("VERIFIED")), only(StateChallenged, "succeeded", "drop")},
		{"check 404", check(gone), only(StateChallenged, "failed", "drop")},
		{"expire due", func(r *Record) Decision {
			if d := ExpireDue(r, 1, ExpireID("j", 1), t0.Add(2*time.Hour)); d.Need != NeedAnswers {
				return d
			}
			return MDExpire(r, 1)
		}, only(StateChallenged, "failed", "drop")},
	}
	// A micro-deposit job never authorizes (OAuth jobs do); were one's
	// record in that state, no event moves it or writes it.
	authorizing := map[string]string{"start": "drop", "verify start: fallback": "drop", "poll VERIFIED": "need", "answer": "refused",
		"check DEPOSITED": "drop", "check VERIFIED": "drop", "check 404": "drop", "expire due": "drop"}
	for i := range events {
		events[i].want[StateAuthorizing] = cmp.Or(authorizing[events[i].name], "same")
	}
	for _, ev := range events {
		for _, s := range States {
			r := mdRecord(s)
			if strings.HasPrefix(ev.name, "MX:") {
				claimed(r) // the answer claimed the round first
			}
			if got, want := outcome(r, ev.decide(r)), ev.want[s]; got != want {
				t.Errorf("%s in %s: %s, want %s", ev.name, s, got, want)
			}
		}
	}
}

// The codes, the attempts bound and the tasks of each step.
func TestMicrodepositSteps(t *testing.T) {
	codeOf := func(r *Record, d Decision) string {
		cur := *r
		if d.Change == nil || d.Change(&cur) != nil || cur.Error == nil {
			return ""
		}
		return cur.Error.Code
	}
	for st, want := range map[MDRead]string{
		{Status: "ERRORED"}: CodeMicrodepositErrored, {Status: "DENIED"}: CodeMicrodepositDenied,
		{Status: "PREVENTED"}: CodeMicrodepositPrevented, {Gone: true}: CodeMicrodepositExpired,
		{Status: ""}: CodeNoMicrodepositStatus, {Status: "WEIRD"}: CodeUnknownMicrodepositStatus,
	} {
		r := mdRecord(StateRunning)
		if got := codeOf(r, MDPolled(r, r.Polls+1, st, t0, cfg)); got != want {
			t.Errorf("poll %+v: code %q, want %q", st, got, want)
		}
	}

	// Started: running, its own deadline, the first poll a poll interval on.
	c := cfg
	c.MicrodepositPoll, c.MicrodepositDeadline = 2*time.Minute, 72*time.Hour
	r := mdRecord(StatePending)
	d := MDStarted(r, "USR-1", "MIC-9", "INITIATED", t0, c)
	cur := *r
	if err := d.Change(&cur); err != nil || cur.Deadline != t0.Add(72*time.Hour) || cur.MemberGUID != "MIC-9" || cur.Triggered != 1 {
		t.Errorf("started: %v %+v", err, cur)
	}
	if len(d.Tasks) != 1 || d.Tasks[0].ID != "poll:j:1" || !d.Tasks[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("started: tasks %+v", d.Tasks)
	}
	if got := (Config{MicrodepositPoll: 5 * time.Hour}).MDPoll(); got != MaxMicrodepositPoll {
		t.Errorf("MDPoll not capped: %s", got)
	}

	// Parked: the round expires at the deadline; its task checks first.
	r = mdRecord(StateRunning)
	d = MDPolled(r, r.Polls+1, MDRead{Status: "DEPOSITED"}, t0, c)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.ChallengeExp != r.Deadline || cur.Round != 1 {
		t.Errorf("parked: %v %+v", err, cur)
	}
	if len(d.Tasks) != 1 || d.Tasks[0].ID != "expire:j:1" || !d.Tasks[0].At.Equal(t0.Add(c.MDCheck())) && !d.Tasks[0].At.Equal(r.Deadline) {
		t.Errorf("parked: tasks %+v", d.Tasks)
	}

	// Wrong amounts: parked again on the next round, the refusal noted;
	// at the last attempt, prevented.
	r = mdRecord(StateChallenged)
	r.ResumeClaim, r.ResumeBy = "a1", "t"
	d = MDAnswered(r, "a1", MDRead{Status: "DEPOSITED"}, t0, cfg)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.Round != 2 || cur.ResumeClaim != "" || cur.LastRefusedAnswer == nil || cur.LastRefusedAnswer.AnswerID != "a1" {
		t.Errorf("wrong amounts: %v %+v", err, cur)
	}
	if ids := []string{d.Tasks[0].ID}; !slices.Equal(ids, []string{"expire:j:2"}) {
		t.Errorf("wrong amounts: tasks %v", ids)
	}
	if got := ExpectedTasks(&cur); len(got) != 1 || got[0].ID != "expire:j:2" {
		t.Errorf("wrong amounts: expected tasks %+v", got)
	}
	r.Round = cfg.MDAttempts()
	if got := codeOf(r, MDAnswered(r, "a1", MDRead{Status: "DEPOSITED"}, t0, cfg)); got != CodeMicrodepositPrevented {
		t.Errorf("wrong amounts at the limit: %q", got)
	}
	// Another claim's outcome changes nothing.
	if err := MDAnswered(r, "a2", MDRead{Status: "VERIFIED"}, t0, cfg).Change(&cur); err != ErrNoChange {
		t.Errorf("other claim: %v", err)
	}

	// The fallback: a verify job that asked for it switches once, keeping
	// its kind, the member it leaves and the micro-deposit it follows; one
	// that did not ask stays as it is.
	r = record(StatePending)
	if err := MDFellBack(r, "USR-1", "MBR-1", "MIC-9", "INITIATED", t0, cfg).Change(r); err != ErrNoChange || r.Microdeposit() {
		t.Errorf("fallback not asked: %v %+v", err, r)
	}
	r.Fallback = KindMicrodeposit
	d = MDFellBack(r, "USR-1", "MBR-1", "MIC-9", "INITIATED", t0, cfg)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.Kind != KindVerify || cur.Via != KindMicrodeposit || cur.MemberGUID != "MIC-9" ||
		cur.InstantMemberGUID != "MBR-1" || cur.State != StateRunning || !cur.Microdeposit() || len(d.Tasks) != 1 || d.Tasks[0].ID != "poll:j:1" {
		t.Errorf("fell back: %v %+v %+v", err, cur, d.Tasks)
	}
	if err := d.Change(&cur); err != ErrNoChange {
		t.Errorf("fell back twice: %v", err)
	}

	// The sweeper: a running micro-deposit job's next task is its poll.
	r = mdRecord(StateRunning)
	if got := ExpectedTasks(r); len(got) != 1 || got[0].ID != "poll:j:3" {
		t.Errorf("expected tasks of a running micro-deposit job: %+v", got)
	}
}
