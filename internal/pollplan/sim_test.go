package pollplan

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run polls one job whose MX run lasts T with next (a schedule's Next, or
// the jittered backoff) and returns its lateness, its reads, and the
// reads' times. It fails the test when a read comes less than MinGap
// after the one before (or after the start).
func run(t *testing.T, T time.Duration, minGap time.Duration, next func(State) (time.Duration, Kind)) (late time.Duration, reads []time.Duration, kinds []Kind) {
	var now, last time.Duration
	for n := 0; n < 1000; n++ {
		w, k := next(State{Elapsed: now, Polls: n, SinceRead: now - last})
		now += w
		if now-last < minGap {
			t.Fatalf("T=%v: read %d at %v, %v after the one before (MX asks for %v)", T, n+1, now, now-last, minGap)
		}
		last = now
		reads, kinds = append(reads, now), append(kinds, k)
		if now >= T {
			return now - T, reads, kinds
		}
	}
	t.Fatalf("T=%v: not done after 1000 reads", T)
	return
}

// jitteredBackoff is handlers.pollDelay: the backoff ±20 %, never under
// Initial, from the last read.
func jitteredBackoff(c Config, r *rand.Rand) func(State) (time.Duration, Kind) {
	return func(st State) (time.Duration, Kind) {
		d := float64(c.Initial) * math.Pow(c.Factor, float64(st.Polls))
		d = min(d, float64(c.Max))
		return max(time.Duration(d*(0.8+0.4*r.Float64())), c.Initial), Fallback
	}
}

type figures struct {
	p50, p99       time.Duration
	calls          float64 // mean reads per job
	goal, callGoal float64 // shares of jobs within 1 s + 10 % of their T, and within log2(T/3 s)+2 reads
}

func summarise(lates []time.Duration, reads []int, Ts []time.Duration) figures {
	var f figures
	s := slices.Clone(lates)
	slices.Sort(s)
	f.p50, f.p99 = s[len(s)/2], s[len(s)*99/100]
	for i, l := range lates {
		f.calls += float64(reads[i]) / float64(len(lates))
		if l <= time.Second+Ts[i]/10 {
			f.goal += 1 / float64(len(lates))
		}
		if float64(reads[i]) <= math.Log2(Ts[i].Seconds()/3)+2 {
			f.callGoal += 1 / float64(len(lates))
		}
	}
	return f
}

// TestSimulatedLateness draws 10,000 log-normal MX run times per workload
// and polls each job with the fleet's geometric backoff and with the
// learned schedule (trusted after learning from 500 jobs, observed as
// a polling fleet sees them: between the last read that saw the job
// running and the read that saw it done; and, for comparison, exactly, as
// MX's successfully_aggregated_at or a webhook gives them). It reports
// lateness and reads per job; it asserts only MX's 3 s minimum and the
// budget of planned reads.
func TestSimulatedLateness(t *testing.T) {
	perJob := DefaultConfig()
	c := perJob
	c.PerJob = false
	now := time.Unix(1_800_000_000, 0)
	workloads := []struct {
		median time.Duration
		sigma  float64
	}{
		{8 * time.Second, 0.4}, {10 * time.Second, 0.1}, {15 * time.Second, 0.5}, {30 * time.Second, 0.3},
		{60 * time.Second, 0.1}, {60 * time.Second, 0.5}, {90 * time.Second, 0.8},
	}
	for wi, w := range workloads {
		r := rand.New(rand.NewPCG(uint64(wi), 17))
		draw := func() time.Duration {
			return time.Duration(float64(w.median) * math.Exp(w.sigma*r.NormFloat64()))
		}
		backoff := jitteredBackoff(c, r)
		// learn from 500 jobs polled with the backoff, and exactly
		censored, exact := NewEstimate(24*time.Hour), NewEstimate(24*time.Hour)
		for range 500 {
			T := draw()
			_, reads, _ := run(t, T, c.MinGap, backoff)
			lo := time.Duration(0)
			if len(reads) > 1 {
				lo = reads[len(reads)-2]
			}
			censored.ObserveBetween(lo, reads[len(reads)-1], now)
			exact.Observe(T, now)
		}
		Ts := make([]time.Duration, 10000)
		for i := range Ts {
			Ts[i] = draw()
		}
		type sched struct {
			name string
			next func(State) (time.Duration, Kind)
			plan Plan
		}
		scheds := []sched{{name: "backoff", next: backoff}}
		for _, l := range []struct {
			name string
			e    *Estimate
			c    Config
		}{{"typical (polled)", censored, c}, {"typical (exact)", exact, c}, {"per-job (polled)", censored, perJob}, {"per-job (exact)", exact, perJob}} {
			s := l.c.Schedule(l.e, now)
			if !s.Learned() {
				t.Fatalf("%s: not learned after 500 jobs", l.name)
			}
			scheds = append(scheds, sched{l.name, s.Next, s.Plan()})
		}
		t.Logf("MX run time log-normal, median %v, sigma %.1f (p1 %.1fs, p99 %.1fs); goal p99 lateness ≤ %.1fs, ≤ %.1f reads at the median",
			w.median, w.sigma, w.median.Seconds()*math.Exp(-2.326*w.sigma), w.median.Seconds()*math.Exp(2.326*w.sigma),
			1+w.median.Seconds()/10, math.Log2(w.median.Seconds()/3)+2)
		for _, s := range scheds {
			lates, nreads := make([]time.Duration, len(Ts)), make([]int, len(Ts))
			for i, T := range Ts {
				l, reads, kinds := run(t, T, c.MinGap, s.next)
				lates[i], nreads[i] = l, len(reads)
				if planned := count(kinds, Planned); planned > s.plan.Budget && s.name != "backoff" {
					t.Fatalf("%s: %d planned reads, budget %d", s.name, planned, s.plan.Budget)
				}
				if strings.HasPrefix(s.name, "per-job") && count(kinds, Tail) == 0 && len(reads) > int(math.Log2(T.Seconds()/3))+2 {
					t.Fatalf("%s: T=%v, %d reads %v, more than floor(log2(T/3s))+2", s.name, T, len(reads), reads)
				}
			}
			f := summarise(lates, nreads, Ts)
			line := ""
			if s.name != "backoff" {
				line = " plan " + planString(s.plan)
			}
			t.Logf("  %-17s p50 %5.1fs  p99 %5.1fs  reads/job %.2f  within 1s+10%%: %3.0f%%  within log2(T/3s)+2 reads: %3.0f%%%s",
				s.name, f.p50.Seconds(), f.p99.Seconds(), f.calls, 100*f.goal, 100*f.callGoal, line)
		}
	}
}

func count(ks []Kind, k Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

func planString(p Plan) string {
	s := "["
	for i, t := range p.Times {
		if i > 0 {
			s += " "
		}
		s += t.Round(100 * time.Millisecond).String()
	}
	return s + "] budget " + itoa(p.Budget) + ", est. p99 " + p.Lateness.Round(100*time.Millisecond).String()
}

func itoa(n int) string { return strconv.Itoa(n) }
