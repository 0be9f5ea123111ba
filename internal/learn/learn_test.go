package learn

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/job"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// core is the fleet's state machine timing: 3 s ×1.5 to 1 m, no jitter
// spread (0.5), as handlers.DefaultConfig without its random jitter.
func core() job.Config {
	return job.Config{PollInitial: 3 * time.Second, PollMax: time.Minute, PollFactor: 1.5, JobDeadline: 15 * time.Minute,
		ChallengeTTL: 10 * time.Minute, RetryLaterDelay: 5 * time.Minute, MaxAttempts: 3}
}

func planConfig() pollplan.Config {
	p := pollplan.DefaultConfig()
	p.Initial, p.Max = 3*time.Second, time.Minute
	return p
}

// learned is a learner (no Redis) whose view holds, for mxbank/verify, an
// estimate of n log-normal run times (median, sigma), as a Sync would
// leave it.
func learned(t *testing.T, n int, median time.Duration, sigma float64) *Learner {
	t.Helper()
	l := New(nil, Options{Plan: planConfig(), Now: func() time.Time { return t0 }})
	e := pollplan.NewEstimate(DefaultHalfLife)
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		e.Observe(time.Duration(float64(median)*math.Exp(sigma*r.NormFloat64())), t0)
	}
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	l.apply(nil, map[string]string{pollplan.Key("mxbank", "verify", false): string(b)}, nil, 1)
	return l
}

func record() *job.Record {
	return &job.Record{ID: "j1", Kind: job.KindVerify, InstitutionCode: "mxbank", State: job.StateRunning,
		Attempt: 1, Triggered: 1, TriggeredAt: t0}
}

var running = job.Read{ConnectionStatus: "SYNCING", BeingAggregated: true}

// reads runs a job whose MX run never ends through the state machine on
// a fake clock (each poll at its task's time, as asynq would run it):
// the times of its first k reads since MX was asked.
func reads(t *testing.T, cfg job.Config, k int) []time.Duration {
	t.Helper()
	r := &job.Record{ID: "j1", Kind: job.KindVerify, InstitutionCode: "mxbank", State: job.StateRunning, Attempt: 1}
	d := job.Triggered(r, 1, t0, "CREATED", job.Decision{}, t0, cfg)
	if err := d.Change(r); err != nil {
		t.Fatal(err)
	}
	var out []time.Duration
	for n := 1; n <= k; n++ {
		at := d.Tasks[0].At
		out = append(out, at.Sub(t0))
		d = job.Polled(r, n, running, at, cfg)
		if len(d.Tasks) != 1 || d.Tasks[0].Kind != job.TaskPoll {
			t.Fatalf("poll %d: decision %+v", n, d)
		}
		if err := d.Change(r); err != nil {
			t.Fatal(err)
		}
		r.UpdatedAt = at
	}
	return out
}

// TestFallbackIsTheBackoff: without a trusted estimate (none, or fewer
// than MinWeight observations) every poll is exactly the state machine's
// backoff, as with no scheduler at all.
func TestFallbackIsTheBackoff(t *testing.T) {
	want := reads(t, core(), 10)
	for _, tc := range []struct {
		name string
		l    *Learner
	}{
		{"no estimate", New(nil, Options{Plan: planConfig(), Now: func() time.Time { return t0 }})},
		{"49 observations", learned(t, 49, 20*time.Second, 0.3)},
	} {
		cfg := core()
		cfg.Schedule = tc.l
		if got := reads(t, cfg, 10); !equal(got, want) {
			t.Errorf("%s: reads at %v, want the backoff's %v", tc.name, got, want)
		}
	}
	// A member followed by its guid has no institution code: the backoff.
	cfg := core()
	cfg.Schedule = learned(t, 500, 20*time.Second, 0.3)
	r := record()
	r.InstitutionCode = ""
	if d := job.Polled(r, 1, running, t0.Add(5*time.Second), cfg); d.Tasks[0].At != t0.Add(5*time.Second+core().PollDelay(2)) {
		t.Errorf("no institution: next read at %v, want the backoff's", d.Tasks[0].At.Sub(t0))
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPlannedReadsBounds: with a trusted estimate the reads are the
// plan's, never sooner than MX's 3 s after MX was asked or after the read
// before, never more planned reads than the plan holds, and a job that
// ends at T within the plan has made at most floor(log2(T/3 s)) + 2 reads.
func TestPlannedReadsBounds(t *testing.T) {
	for _, tc := range []struct {
		median time.Duration
		sigma  float64
	}{{4 * time.Second, 0.3}, {8 * time.Second, 0.4}, {20 * time.Second, 0.3}, {60 * time.Second, 0.5}, {90 * time.Second, 0.8}} {
		l := learned(t, 500, tc.median, tc.sigma)
		plan, ok := l.Plan(pollplan.Key("mxbank", "verify", false))
		if !ok || len(plan.Times) == 0 {
			t.Fatalf("median %s: not learned from 500 observations", tc.median)
		}
		cfg := core()
		cfg.Schedule = l
		got := reads(t, cfg, len(plan.Times)+4)
		if !equal(got[:len(plan.Times)], plan.Times) {
			t.Errorf("median %s: reads at %v, want the plan's %v first", tc.median, got, plan.Times)
		}
		prev := time.Duration(0)
		for i, at := range got {
			if at-prev < 3*time.Second {
				t.Errorf("median %s: read %d at %s, %s after the one before (MX asks for 3 s)", tc.median, i+1, at, at-prev)
			}
			prev = at
		}
		for j, at := range plan.Times {
			// A job ending just after the read before is seen at read j+1.
			end := 3 * time.Second
			if j > 0 {
				end = plan.Times[j-1] + time.Millisecond
			}
			if budget := int(math.Floor(math.Log2(end.Seconds()/3))) + 2; j+1 > budget {
				t.Errorf("median %s: a job ending at %s makes %d reads (read at %s), over log2(T/3 s)+2 = %d", tc.median, end, j+1, at, budget)
			}
		}
		if len(plan.Times) > plan.Budget || len(plan.Times) > planConfig().MaxPolls {
			t.Errorf("median %s: %d planned reads, budget %d", tc.median, len(plan.Times), plan.Budget)
		}
	}
}

// TestMXMinimum: whatever runs a read early (a webhook runs the scheduled
// poll at once; a queue runs it late), the next read comes no sooner than
// 3 s after it, and the first no sooner than 3 s after MX was asked to
// work (a start or a resume).
func TestMXMinimum(t *testing.T) {
	cfg := core()
	cfg.Schedule = learned(t, 500, 8*time.Second, 0.2)
	r := record()
	for _, early := range []time.Duration{time.Second, 2500 * time.Millisecond, 4 * time.Second, 7 * time.Second, 30 * time.Second} {
		now := t0.Add(early)
		d := job.Polled(r, 1, running, now, cfg)
		if gap := d.Tasks[0].At.Sub(now); gap < 3*time.Second {
			t.Errorf("a read at %s: the next %s later", early, gap)
		}
	}
	// The first read after the trigger and after a resume.
	fresh := &job.Record{ID: "j2", Kind: job.KindVerify, InstitutionCode: "mxbank", State: job.StateRunning, Attempt: 1}
	if d := job.Triggered(fresh, 1, t0, "CREATED", job.Decision{}, t0, cfg); d.Tasks[0].At.Sub(t0) < 3*time.Second {
		t.Errorf("first read %s after the trigger", d.Tasks[0].At.Sub(t0))
	}
	cfg.Schedule = learned(t, 500, 8*time.Second, 0.2) // a resume key of its own: learn it too
	l := cfg.Schedule.(*Learner)
	e := pollplan.NewEstimate(DefaultHalfLife)
	for range 100 {
		e.Observe(500*time.Millisecond, t0) // MX resumes "at once": still 3 s
	}
	b, _ := e.MarshalBinary()
	l.apply(nil, map[string]string{pollplan.Key("mxbank", "verify", true): string(b)}, nil, 2)
	parked := record()
	parked.State, parked.Round, parked.ResumeClaim = job.StateChallenged, 1, "a1"
	if d := job.Resumed(parked, "a1", nil, t0, cfg); d.Tasks[0].At.Sub(t0) < 3*time.Second {
		t.Errorf("first read %s after the resume", d.Tasks[0].At.Sub(t0))
	}
	if _, ok := l.Plan(pollplan.Key("mxbank", "verify", true)); !ok {
		t.Error("the resume key is not learned")
	}
}

// TestObservation: what a finished poll tells about MX's run time.
func TestObservation(t *testing.T) {
	done := job.Read{ConnectionStatus: "CONNECTED", AggregatedAt: t0.Add(10 * time.Second).Format(time.RFC3339)}
	r := record()
	now := t0.Add(12 * time.Second)
	// First read since MX was asked: between 0 and this read.
	if d, lo, hi, ok := Observation(r, 1, done, "", now); !ok || d != 0 || lo != 0 || hi != 12*time.Second {
		t.Errorf("first read: %s %s %s %t", d, lo, hi, ok)
	}
	// Third read; the record was written at the second, 7 s in.
	r.Polls, r.UpdatedAt = 2, t0.Add(7*time.Second)
	if d, lo, hi, ok := Observation(r, 3, done, "", now); !ok || d != 0 || lo != 7*time.Second || hi != 12*time.Second {
		t.Errorf("third read: %s %s %s %t", d, lo, hi, ok)
	}
	// MX's successfully_aggregated_at, to the second: exact.
	if d, _, _, ok := Observation(r, 3, done, t0.Add(10*time.Second).Format(time.RFC3339), now); !ok || d != 10500*time.Millisecond {
		t.Errorf("exact: %s %t", d, ok)
	}
	// A successfully_aggregated_at of an earlier run is not this run's.
	if d, _, _, ok := Observation(r, 3, done, t0.Add(-time.Hour).Format(time.RFC3339), now); !ok || d != 0 {
		t.Errorf("earlier run's time: %s %t", d, ok)
	}
	// Still running, a stale read, a followed member: nothing.
	if _, _, _, ok := Observation(r, 3, running, "", now); ok {
		t.Error("a running read observed")
	}
	stale := job.Read{ConnectionStatus: "CONNECTED", AggregatedAt: t0.Add(-time.Hour).Format(time.RFC3339)}
	if _, _, _, ok := Observation(record(), 1, stale, "", now); ok {
		t.Error("a stale read observed")
	}
	followed := record()
	followed.TriggeredAt = time.Time{}
	if _, _, _, ok := Observation(followed, 1, done, "", now); ok {
		t.Error("a followed member observed")
	}
}
