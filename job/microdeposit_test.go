package job

import (
	"cmp"
	"fmt"
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
		{"answer", func(r *Record) Decision { return Claim("a1", 1, "task-1") }, only(StateChallenged, "challenged", "refused")},
		{"MX: VERIFIED", answered(md("VERIFIED")), only(StateChallenged, "succeeded", "same")},
		{"MX: no verdict yet", answered(md("DEPOSITED")), only(StateChallenged, "running", "same")},
		{"MX: DENIED", answered(md("DENIED")), only(StateChallenged, "challenged", "same")},
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
		{Status: "ERRORED"}: CodeMicrodepositErrored, {Status: "CONFLICTED"}: CodeMicrodepositConflicted,
		{Status: "REJECTED"}: CodeMicrodepositRejected, {Status: "PREVENTED"}: CodeMicrodepositPrevented, {Gone: true}: CodeMicrodepositExpired,
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

	// MX's verdict in the verify's answer: DENIED on a round parked at
	// DEPOSITED parks the next round, the refusal noted; at the last
	// attempt, prevented. No verdict (still DEPOSITED, or DENIED on a
	// round parked at DENIED): the job runs and reads.
	r = mdRecord(StateChallenged)
	r.ResumeClaim, r.ResumeBy = "a1", "t"
	d = MDAnswered(r, "a1", MDRead{Status: "DENIED"}, t0, cfg)
	cur = *r
	if err := d.Change(&cur); err != nil || cur.Round != 2 || cur.ResumeClaim != "" || cur.LastRefusedAnswer == nil ||
		cur.LastRefusedAnswer.AnswerID != "a1" || cur.ConnectionStatus != "DENIED" || !strings.Contains(cur.LastRefusedAnswer.Reason, "incorrect") {
		t.Errorf("denied in the answer: %v %+v", err, cur)
	}
	if ids := []string{d.Tasks[0].ID}; !slices.Equal(ids, []string{"expire:j:2"}) {
		t.Errorf("denied in the answer: tasks %v", ids)
	}
	if got := ExpectedTasks(&cur); len(got) != 1 || got[0].ID != "expire:j:2" {
		t.Errorf("denied in the answer: expected tasks %+v", got)
	}
	for _, tc := range []struct{ parked, answer string }{{"DEPOSITED", "DEPOSITED"}, {"DENIED", "DENIED"}} {
		r := mdRecord(StateChallenged)
		r.ResumeClaim, r.ResumeBy, r.ConnectionStatus, r.LastRefusedAnswer = "a1", "t", tc.parked, &RefusedAnswer{AnswerID: "a0"}
		d := MDAnswered(r, "a1", MDRead{Status: tc.answer}, t0, cfg)
		cur := *r
		if err := d.Change(&cur); err != nil || cur.State != StateRunning || !cur.MDVerifying() || cur.PollMark != r.Polls ||
			cur.LastRefusedAnswer != nil || cur.ConnectionStatus != tc.parked {
			t.Errorf("parked %s, answer %s: %v %+v", tc.parked, tc.answer, err, cur)
		}
		if len(d.Tasks) != 1 || d.Tasks[0].ID != fmt.Sprintf("poll:j:%d", r.Polls+1) || !d.Tasks[0].At.Equal(t0.Add(min(MDVerifyEvery, cfg.MDPoll()))) {
			t.Errorf("parked %s, answer %s: tasks %+v", tc.parked, tc.answer, d.Tasks)
		}
		if got := ExpectedTasks(&cur); len(got) != 1 || got[0].ID != d.Tasks[0].ID {
			t.Errorf("parked %s: expected tasks %+v", tc.parked, got)
		}
	}
	r.Round = cfg.MDAttempts()
	if got := codeOf(r, MDAnswered(r, "a1", MDRead{Status: "DENIED"}, t0, cfg)); got != CodeMicrodepositPrevented {
		t.Errorf("denied at the limit: %q", got)
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

// TestMicrodepositVerdict walks the reads after the amounts were sent: a
// verdict is taken only when MX shows one, and never a refusal before
// MX says DENIED.
func TestMicrodepositVerdict(t *testing.T) {
	// sent is a job that sent round's amounts, parked at parked, read
	// reads times since.
	sent := func(round int, parked string, reads int) *Record {
		r := mdRecord(StateRunning)
		r.Round, r.ConnectionStatus, r.ResumeClaim, r.PollMark = round, parked, "a1", r.Polls-reads
		return r
	}
	type step struct {
		round        int
		parked, read string
		reads        int // since the amounts were sent, before this poll
		want         string
	}
	for _, tc := range []step{
		{1, "DEPOSITED", "VERIFIED", 0, "need"},
		{1, "DEPOSITED", "DEPOSITED", 0, "running"},
		{1, "DEPOSITED", "DEPOSITED", 40, "running"}, // never refused while MX shows no verdict
		{1, "DEPOSITED", "DENIED", 0, "challenged"},  // changed: MX's verdict
		{2, "DENIED", "DENIED", 0, "running"},        // unchanged: maybe the old verdict
		{2, "DENIED", "DENIED", MDVerifyReads - 2, "running"},
		{2, "DENIED", "DENIED", MDVerifyReads - 1, "challenged"}, // the widget's window read out
		{2, "DENIED", "VERIFIED", 0, "need"},
		{2, "DENIED", "PREVENTED", 0, "failed"},
		{3, "DENIED", "DENIED", MDVerifyReads - 1, "failed"}, // the fleet's limit
		{1, "DEPOSITED", "ERRORED", 0, "failed"},
	} {
		r := sent(tc.round, tc.parked, tc.reads)
		n := r.Polls + 1
		d := MDPolled(r, n, MDRead{Status: tc.read}, t0, cfg)
		if got := outcome(r, d); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc, got, tc.want)
			continue
		}
		cur := *r
		switch tc.want {
		case "running":
			every := min(MDVerifyEvery, cfg.MDPoll())
			if tc.reads+1 >= MDVerifyReads {
				every = cfg.MDPoll()
			}
			if len(d.Tasks) != 1 || d.Tasks[0].ID != fmt.Sprintf("poll:j:%d", n+1) || !d.Tasks[0].At.Equal(t0.Add(every)) {
				t.Errorf("%+v: tasks %+v", tc, d.Tasks)
			}
		case "challenged":
			_ = d.Change(&cur)
			if cur.Round != tc.round+1 || cur.LastRefusedAnswer == nil || cur.LastRefusedAnswer.AnswerID != "a1" || cur.ResumeClaim != "" ||
				len(d.Tasks) != 1 || d.Tasks[0].ID != fmt.Sprintf("expire:j:%d", tc.round+1) || d.Event == nil || d.Event.Round != tc.round+1 {
				t.Errorf("%+v: %+v %+v", tc, cur, d.Tasks)
			}
		case "failed":
			_ = d.Change(&cur)
			want := CodeMicrodepositPrevented
			if tc.read == "ERRORED" {
				want = CodeMicrodepositErrored
			}
			if cur.Error == nil || cur.Error.Code != want {
				t.Errorf("%+v: %+v", tc, cur.Error)
			}
		}
	}
	// MDSucceed ends a verifying job as it ends a polling one.
	r := sent(1, "DEPOSITED", 1)
	if got := outcome(r, MDSucceed(r, r.Polls+1)); got != "succeeded" {
		t.Errorf("verified after the amounts: %s", got)
	}
	// A poll of another number changes nothing.
	r = sent(1, "DEPOSITED", 1)
	if got := outcome(r, MDPolled(r, r.Polls, MDRead{Status: "DENIED"}, t0, cfg)); got != "same" {
		t.Errorf("stale poll: %s", got)
	}
}
