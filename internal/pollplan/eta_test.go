package pollplan

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The conditional quantiles of a learned log-normal estimate match the
// distribution's own, P(T ≤ t | T > elapsed), from the start of a run to
// deep in its tail; past the estimate's support, and before it is
// trusted, there is no estimate.
func TestETAConditionalQuantiles(t *testing.T) {
	const median, sigma = 20.0, 0.5
	learned := NewEstimate(24 * time.Hour)
	r := rand.New(rand.NewPCG(3, 3))
	for range 20000 {
		learned.Observe(logNormal(r, 20*time.Second, sigma), t0)
	}
	few := NewEstimate(24 * time.Hour)
	for range 49 {
		few.Observe(20*time.Second, t0)
	}
	decayed := NewEstimate(time.Hour)
	for range 100 {
		decayed.Observe(20*time.Second, t0)
	}
	cdf := func(s float64) float64 { return 0.5 * math.Erfc(-math.Log(s/median)/(sigma*math.Sqrt2)) }
	inv := func(p float64) float64 { return median * math.Exp(sigma*math.Sqrt2*math.Erfinv(2*p-1)) }
	// want is the true conditional quantile q given T > e seconds.
	want := func(q, e float64) float64 { return inv(cdf(e) + q*(1-cdf(e))) }
	cfg := DefaultConfig()
	cfg.ReadDelay = 0 // MX's own times: the reads are the next test's
	for _, tc := range []struct {
		name    string
		e       *Estimate
		elapsed time.Duration
		at      time.Time
		basis   Basis
		tol     float64 // relative, against the true quantiles
	}{
		{"no estimate", nil, 0, t0, NoEstimate, 0},
		{"empty", NewEstimate(time.Hour), 0, t0, NoEstimate, 0},
		{"under MinWeight", few, 0, t0, NoEstimate, 0},
		{"decayed under MinWeight", decayed, 0, t0.Add(2 * time.Hour), NoEstimate, 0},
		{"trusted, then decayed", decayed, 0, t0, Learned, -1},
		{"at the start", learned, 0, t0, Learned, 0.03},
		{"negative elapsed counts as 0", learned, -time.Second, t0, Learned, 0.03},
		{"before the median", learned, 10 * time.Second, t0, Learned, 0.03},
		{"at the median", learned, 20 * time.Second, t0, Learned, 0.03},
		{"past the p90", learned, 40 * time.Second, t0, Learned, 0.05},
		{"deep in the tail", learned, 60 * time.Second, t0, Learned, 0.08},
		{"past every observation", learned, 10 * time.Minute, t0, Overdue, 0},
		{"beyond the histogram", learned, 3 * time.Hour, t0, Overdue, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cfg.ETA(tc.e, tc.elapsed, nil, tc.at)
			if got.Basis != tc.basis {
				t.Fatalf("basis %s, want %s", got.Basis, tc.basis)
			}
			if tc.basis != Learned {
				if got.P50 != 0 || got.P90 != 0 {
					t.Errorf("no estimate, yet p50 %s p90 %s", got.P50, got.P90)
				}
				return
			}
			if got.P50 < tc.elapsed || got.P90 < got.P50 {
				t.Errorf("p50 %s, p90 %s after %s elapsed: not ordered", got.P50, got.P90, tc.elapsed)
			}
			if tc.tol < 0 {
				return
			}
			e := max(tc.elapsed.Seconds(), 0)
			for _, q := range []struct {
				p   float64
				got time.Duration
			}{{0.5, got.P50}, {0.9, got.P90}} {
				if w := want(q.p, e); math.Abs(q.got.Seconds()/w-1) > tc.tol {
					t.Errorf("p%.0f after %gs: %.2fs, want %.2fs ±%.0f%%", 100*q.p, e, q.got.Seconds(), w, 100*tc.tol)
				}
			}
		})
	}
}

// The fleet learns MX's end at its next read: each quantile moves to the
// first planned read at or after it; past the plan it stays MX's time.
func TestETAPlannedReads(t *testing.T) {
	e := NewEstimate(24 * time.Hour)
	for range 100 {
		e.Observe(10*time.Second, t0) // one bucket: [9.6 s, 11.0 s)
	}
	cfg := DefaultConfig()
	cfg.ReadDelay = 0
	bare := cfg.ETA(e, 0, nil, t0)
	for _, tc := range []struct {
		name     string
		reads    []time.Duration
		p50, p90 time.Duration
	}{
		{"no plan", nil, bare.P50, bare.P90},
		{"a read after both", []time.Duration{3 * time.Second, 12 * time.Second, 20 * time.Second}, 12 * time.Second, 12 * time.Second},
		{"reads between", []time.Duration{bare.P50, bare.P90}, bare.P50, bare.P90},
		{"the plan ends before", []time.Duration{3 * time.Second, 6 * time.Second}, bare.P50, bare.P90},
	} {
		got := cfg.ETA(e, 0, tc.reads, t0)
		if got.Basis != Learned || got.P50 != tc.p50 || got.P90 != tc.p90 {
			t.Errorf("%s: %s p50 %s p90 %s, want p50 %s p90 %s", tc.name, got.Basis, got.P50, got.P90, tc.p50, tc.p90)
		}
	}
	if bare.P50 < 9*time.Second || bare.P90 > 11*time.Second || bare.P50 >= bare.P90 {
		t.Errorf("one bucket at 10 s: p50 %s p90 %s", bare.P50, bare.P90)
	}
	// A read may run ReadDelay late: the result with it.
	cfg.ReadDelay = time.Second
	if got := cfg.ETA(e, 0, []time.Duration{12 * time.Second}, t0); got.P50 != 13*time.Second || got.P90 != 13*time.Second {
		t.Errorf("a read up to 1 s late: p50 %s p90 %s, want 13s", got.P50, got.P90)
	}
	if got := cfg.ETA(e, 0, nil, t0); got.P50 != bare.P50+time.Second {
		t.Errorf("no plan, 1 s late: p50 %s, want %s", got.P50, bare.P50+time.Second)
	}
}

// As a run goes on, its expected end never moves earlier.
func TestETAMonotone(t *testing.T) {
	e := NewEstimate(24 * time.Hour)
	r := rand.New(rand.NewPCG(4, 4))
	for range 2000 {
		e.Observe(logNormal(r, 15*time.Second, 0.4), t0)
	}
	cfg := DefaultConfig()
	var last ETA
	for el := time.Duration(0); el < 2*time.Minute; el += 500 * time.Millisecond {
		got := cfg.ETA(e, el, nil, t0)
		if got.Basis != Learned {
			if got.Basis != Overdue {
				t.Fatalf("after %s: %s", el, got.Basis)
			}
			return
		}
		if got.P50 < last.P50 || got.P90 < last.P90 || got.P50 < el {
			t.Fatalf("after %s: p50 %s p90 %s, before p50 %s p90 %s", el, got.P50, got.P90, last.P50, last.P90)
		}
		last = got
	}
	t.Fatal("never overdue within 2 minutes of a 15 s median")
}
