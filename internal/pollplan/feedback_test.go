package pollplan

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestLearningFromItsOwnReads: a polling fleet learns from the intervals
// its own reads leave (running at one read, done at the next). Learned
// once from the backoff's reads, the schedule then learns from its own,
// wider, intervals; this runs ten rounds of 1,000 jobs, each round one
// half-life after the one before, and reports the p99 per round so that
// a drift (the estimate widening with the plan's own gaps) shows. It
// asserts nothing about timings.
func TestLearningFromItsOwnReads(t *testing.T) {
	c := DefaultConfig()
	for wi, w := range []struct {
		median time.Duration
		sigma  float64
	}{{15 * time.Second, 0.5}, {60 * time.Second, 0.1}, {30 * time.Second, 0.3}} {
		r := rand.New(rand.NewPCG(uint64(wi), 99))
		e := NewEstimate(time.Hour)
		now := t0
		backoff := jitteredBackoff(c, r)
		observe := func(next func(State) (time.Duration, Kind), n int) (p99 time.Duration, reads float64) {
			lates := make([]time.Duration, n)
			for i := range n {
				T := logNormal(r, w.median, w.sigma)
				l, rd, _ := run(t, T, c.MinGap, next)
				lo := time.Duration(0)
				if len(rd) > 1 {
					lo = rd[len(rd)-2]
				}
				e.ObserveBetween(lo, rd[len(rd)-1], now)
				lates[i], reads = l, reads+float64(len(rd))/float64(n)
			}
			slices.Sort(lates)
			return lates[n*99/100], reads
		}
		p99, reads := observe(backoff, 500)
		line := " backoff " + p99.Round(100*time.Millisecond).String() + "/" + ftoa(reads)
		for range 10 {
			now = now.Add(time.Hour)
			sc := c.Schedule(e, now)
			p99, reads = observe(sc.Next, 1000)
			line += ", " + p99.Round(100*time.Millisecond).String() + "/" + ftoa(reads)
		}
		t.Logf("median %v sigma %.1f: p99 lateness/reads per job by round:%s", w.median, w.sigma, line)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
