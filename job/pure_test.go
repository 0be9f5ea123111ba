package job

import (
	"slices"
	"testing"
	"time"
)

func TestPollDelay(t *testing.T) {
	for _, tc := range []struct {
		k      int
		jitter float64
		want   time.Duration
	}{
		{1, 0.5, 3 * time.Second},         // PollInitial
		{1, 0, 3 * time.Second},           // never under PollInitial
		{2, 0.5, 4500 * time.Millisecond}, // ×1.5
		{3, 0.5, 6750 * time.Millisecond}, // ×1.5²
		{3, 1, 8100 * time.Millisecond},   // +20 %
		{3, 0, 5400 * time.Millisecond},   // −20 %
		{20, 0.5, time.Minute},            // capped at PollMax
		{20, 1, 72 * time.Second},         // jitter over the cap
		{0, 0.5, 3 * time.Second},         // k < 1 reads as 1
	} {
		c := cfg
		c.Jitter = func() float64 { return tc.jitter }
		if got := c.PollDelay(tc.k); got != tc.want {
			t.Errorf("PollDelay(%d) with jitter %.1f = %s, want %s", tc.k, tc.jitter, got, tc.want)
		}
	}
}

func TestStale(t *testing.T) {
	asked := t0
	r := &Record{TriggeredAt: asked, PollMark: 2, Answered: []string{"CRD-old"}}
	before, after := asked.Add(-time.Minute).Format(time.RFC3339), asked.Add(time.Second).Format(time.RFC3339)
	for _, tc := range []struct {
		name string
		r    Record
		st   Read
		saw  bool
		n    int
		want bool
	}{
		{"aggregated before the request", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: before}, false, 3, true},
		{"aggregated after the request", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: after}, false, 3, false},
		{"within 2 s of the request", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: asked.Add(-time.Second).Format(time.RFC3339)}, false, 3, false},
		{"no aggregated_at", *r, Read{ConnectionStatus: "CONNECTED"}, false, 3, false},
		{"MX seen running", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: before}, true, 3, false},
		{"believed after StaleReads polls", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: before}, false, 2 + StaleReads + 1, false},
		{"last stale read", *r, Read{ConnectionStatus: "CONNECTED", AggregatedAt: before}, false, 2 + StaleReads, true},
		{"a followed member: never asked", Record{}, Read{ConnectionStatus: "CONNECTED", AggregatedAt: before}, false, 1, false},
		{"the challenge just answered", *r, Read{ConnectionStatus: "CHALLENGED", Challenges: []string{"CRD-old"}}, false, 3, true},
		{"a new challenge", *r, Read{ConnectionStatus: "CHALLENGED", Challenges: []string{"CRD-new"}}, false, 3, false},
		{"a challenge without guids", *r, Read{ConnectionStatus: "CHALLENGED"}, false, 3, false},
	} {
		if got := Stale(&tc.r, tc.st, tc.saw, tc.n); got != tc.want {
			t.Errorf("%s: Stale = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpectedTasks(t *testing.T) {
	ids := func(ts []Task) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		r    Record
		want []string
	}{
		{"pending", Record{State: StatePending}, []string{"start:j"}},
		{"started, MX job not recorded", Record{State: StateRunning, Attempt: 1}, []string{"start:j", "trigger:j:1"}},
		{"restart due", Record{State: StateRunning, Attempt: 2, Triggered: 1, Polls: 4}, []string{"trigger:j:2"}},
		{"polling", Record{State: StateRunning, Attempt: 2, Triggered: 2, Polls: 4}, []string{"poll:j:5"}},
		{"parked", Record{State: StateChallenged, Round: 2, Attempt: 1, Triggered: 1}, []string{"expire:j:2"}},
		{"answer claimed", Record{State: StateChallenged, Round: 2, ResumeClaim: "a", ResumeBy: "answer:j:a"}, []string{"answer:j:a"}},
		{"succeeded", Record{State: StateSucceeded}, nil},
		{"failed", Record{State: StateFailed}, nil},
	} {
		tc.r.ID = "j"
		if got := ids(ExpectedTasks(&tc.r)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	all := ids(AllTasks(&Record{ID: "j", Polls: 2, Attempt: 1, Round: 1}))
	want := []string{"start:j", "poll:j:1", "poll:j:2", "poll:j:3", "trigger:j:1", "trigger:j:2", "expire:j:1"}
	if !slices.Equal(all, want) {
		t.Errorf("AllTasks: %v, want %v", all, want)
	}
}

// A webhook runs the scheduled poll of a job that is polling MX, and
// nothing for any other: ended, parked, between MX jobs, not started.
func TestWebhookPoll(t *testing.T) {
	between := record(StateRunning)
	between.Attempt = 2
	for _, tc := range []struct {
		name string
		r    *Record
		want string // "": no poll
	}{
		{"running", record(StateRunning), "poll:j:3"},
		{"authorizing", record(StateAuthorizing), PollID("j", record(StateAuthorizing).Polls+1)},
		{"micro-deposit running", mdRecord(StateRunning), "poll:j:3"},
		{"between MX jobs", between, ""},
		{"pending", record(StatePending), ""},
		{"challenged", record(StateChallenged), ""},
		{"succeeded", record(StateSucceeded), ""},
		{"failed", record(StateFailed), ""},
	} {
		got, ok := WebhookPoll(tc.r)
		if ok != (tc.want != "") || got.ID != tc.want || ok && got.Kind != TaskPoll {
			t.Errorf("%s: %+v %v, want %q", tc.name, got, ok, tc.want)
		}
	}
}
