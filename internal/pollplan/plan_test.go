package pollplan

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const s = time.Second

func learnedEstimate(n int, median time.Duration, sigma float64) *Estimate {
	e := NewEstimate(24 * time.Hour)
	r := rand.New(rand.NewPCG(uint64(n), uint64(median)))
	for range n {
		e.Observe(logNormal(r, median, sigma), t0)
	}
	return e
}

// Until the estimate holds MinWeight observations, every read is the
// backoff's: 3 s, 4.5 s, 6.75 s… capped at Max.
func TestFallbackBeforeEnoughSamples(t *testing.T) {
	c := DefaultConfig()
	for _, e := range []*Estimate{nil, NewEstimate(time.Hour), learnedEstimate(49, 20*s, 0.3)} {
		sc := c.Schedule(e, t0)
		if sc.Learned() {
			t.Fatalf("learned from %v observations", e.Weight(t0))
		}
		var now time.Duration
		for k := 1; k <= 12; k++ {
			w, kind := sc.Next(State{Elapsed: now, Polls: k - 1})
			want := time.Duration(min(3*math.Pow(1.5, float64(k-1)), 60) * float64(s))
			if kind != Fallback || w != want {
				t.Fatalf("read %d: %v %v, want %v fallback", k, w, kind, want)
			}
			now += w
		}
	}
	if !c.Schedule(learnedEstimate(50, 20*s, 0.3), t0).Learned() {
		t.Fatal("50 observations: not learned")
	}
}

// The plan's own shape: increasing, the first read ≥ 3 s, reads ≥ 3 s
// apart, and within the budget: typical, at most floor(log2(median/3 s))+2
// reads; per job, the k-th read no sooner than 3·2^(k-1) s.
func TestPlanBounds(t *testing.T) {
	budgets := map[time.Duration]int{2 * s: 1, 3 * s: 2, 5 * s: 2, 6 * s: 3, 8 * s: 3, 60 * s: 6, 90 * s: 6, time.Hour: 12}
	for median, want := range budgets {
		if got := DefaultConfig().Budget(median); got != want {
			t.Errorf("Budget(%v) = %d, want %d", median, got, want)
		}
	}
	for _, perJob := range []bool{false, true} {
		c := DefaultConfig()
		c.PerJob = perJob
		for _, median := range []time.Duration{time.Second, 4 * s, 8 * s, 30 * s, 90 * s, 20 * time.Minute} {
			for _, sigma := range []float64{0, 0.2, 0.5, 1} {
				e := learnedEstimate(400, median, sigma)
				p := c.Plan(e)
				if len(p.Times) == 0 || len(p.Times) > p.Budget || p.Covered < c.Quantile-1e-6 {
					t.Fatalf("perJob %v, median %v sigma %v: plan %v", perJob, median, sigma, p)
				}
				if !perJob && len(p.Times) > c.Budget(e.Quantile(0.5)) {
					t.Fatalf("median %v sigma %v: %d reads, budget %d", median, sigma, len(p.Times), c.Budget(e.Quantile(0.5)))
				}
				for k, at := range p.Times {
					gap := at
					if k > 0 {
						gap = at - p.Times[k-1]
					}
					if gap < c.MinGap {
						t.Fatalf("perJob %v, median %v sigma %v: read %d at %v, %v after the one before", perJob, median, sigma, k+1, at, gap)
					}
					if perJob && at < c.MinGap<<k {
						t.Fatalf("median %v sigma %v: read %d at %v, before %v", median, sigma, k+1, at, c.MinGap<<k)
					}
				}
				if !slices.IsSorted(p.Quantiles) {
					t.Fatalf("quantiles %v", p.Quantiles)
				}
			}
		}
	}
}

// Every job ending within a per-job plan makes at most
// floor(log2(T/3 s))+2 reads, T its own run time; a typical-budget plan
// makes at most its budget of planned reads.
func TestPerJobBudget(t *testing.T) {
	for _, perJob := range []bool{false, true} {
		c := DefaultConfig()
		c.PerJob = perJob
		for _, median := range []time.Duration{5 * s, 20 * s, 2 * time.Minute} {
			sc := c.Schedule(learnedEstimate(500, median, 0.6), t0)
			for T := 100 * time.Millisecond; T < 20*median; T = T * 21 / 20 {
				_, reads, kinds := run(t, T, c.MinGap, sc.Next)
				planned := count(kinds, Planned)
				if planned > sc.Plan().Budget {
					t.Fatalf("T=%v: %d planned reads, budget %d", T, planned, sc.Plan().Budget)
				}
				if perJob && planned == len(reads) && float64(len(reads)) > math.Floor(math.Log2(max(T.Seconds(), 3)/3))+2 {
					t.Fatalf("median %v, T=%v: reads %v", median, T, reads)
				}
			}
		}
	}
}

// Next never asks for a read sooner than MinGap after the last one,
// whatever the state: early reads from webhooks, late ones from a busy
// queue, a schedule that became learned mid-job.
func TestNextKeepsMXMinimum(t *testing.T) {
	c := DefaultConfig()
	r := rand.New(rand.NewPCG(5, 5))
	for _, sc := range []*Schedule{c.Schedule(nil, t0), c.Schedule(learnedEstimate(500, 30*s, 0.5), t0), c.Schedule(learnedEstimate(500, 4*s, 0.2), t0)} {
		for range 100000 {
			el := time.Duration(r.Int64N(int64(10 * time.Minute)))
			since := min(time.Duration(r.Int64N(int64(10*s))), el)
			st := State{Elapsed: el, Polls: r.IntN(15), SinceRead: since}
			w, kind := sc.Next(st)
			if w < 0 || since+w < c.MinGap {
				t.Fatalf("%+v: wait %v (%v), read %v after the last", st, w, kind, since+w)
			}
		}
	}
}

// Next follows the plan read by read, catches up when late, and hands
// over to the backoff when the plan is spent.
func TestNextFollowsPlan(t *testing.T) {
	c := DefaultConfig()
	sc := &Schedule{cfg: c, plan: Plan{Times: []time.Duration{5 * s, 9 * s, 14 * s, 20 * s}, Budget: 4}}
	steps := []struct {
		st   State
		want time.Duration
		kind Kind
	}{
		{State{0, 0, 0}, 5 * s, Planned},                                         // the first planned read
		{State{5 * s, 1, 0}, 4 * s, Planned},                                     // then the next
		{State{5500 * time.Millisecond, 1, 0}, 3500 * time.Millisecond, Planned}, // read 1 ran late: still the planned 9 s
		{State{7 * s, 1, 0}, 3 * s, Planned},                                     // so late that 9 s is under 3 s away: 10 s
		{State{2 * s, 1, 0}, 7 * s, Planned},                                     // a webhook read early: the planned 9 s
		{State{15 * s, 1, 5 * s}, 0, Planned},                                    // behind: 9 s and 14 s passed, read now (as the 14 s one)
		{State{15 * s, 2, 0}, 5 * s, Planned},                                    // then 20 s
		{State{16 * s, 1, 16 * s}, 0, Planned},                                   // learned mid-job: catch up
		{State{20 * s, 4, 0}, c.Backoff(5), Tail},                                // the plan is spent: the 5th backoff wait
		{State{21 * s, 3, 0}, c.Backoff(4), Tail},                                // every planned time served by a read
	}
	for _, st := range steps {
		if w, k := sc.Next(st.st); w != st.want || k != st.kind {
			t.Errorf("%+v: %v %v, want %v %v", st.st, w, k, st.want, st.kind)
		}
	}
}
