package pollplan

import (
	"math"
	"time"
)

// Config is how schedules are made. DefaultConfig has the fleet's values.
type Config struct {
	// MinGap is MX's minimum between two status reads of a member (and
	// between asking MX to work and the first read): 3 s.
	MinGap time.Duration
	// Initial, Factor and Max are the geometric backoff used before the
	// estimate is trusted and after the planned reads are spent: the k-th
	// read since MX was asked to work comes Initial·Factor^(k-1) after the
	// one before, at most Max (MXFLEET_POLL_INITIAL, 1.5,
	// MXFLEET_POLL_MAX). Unlike handlers.pollDelay it is not jittered: a
	// caller that wants jitter adds it to fallback and tail waits.
	Initial time.Duration
	Factor  float64
	Max     time.Duration
	// MinWeight is how many observations (decayed: see Estimate.Weight)
	// the estimate needs before a schedule trusts it.
	MinWeight float64
	// Quantile is the share of jobs whose lateness the plan minimises the
	// worst of: 0.99 minimises the estimated p99 lateness. The default,
	// 0.995, keeps a margin so that the p99 does not swing with the
	// estimate's errors (see the package documentation).
	Quantile float64
	// MaxPolls caps the budget of planned reads, however slow MX is.
	MaxPolls int
	// PerJob sets the budget job by job instead of for the typical job:
	// the plan may hold up to MaxPolls reads, but its k-th read comes no
	// sooner than MinGap·2^(k-1) (3, 6, 12, 24 s…), so that every job
	// that ends within the plan makes at most floor(log2(T / MinGap)) + 2
	// reads, T its own run time (the goal, per job). Without it
	// the plan holds at most Budget(median) reads.
	PerJob bool
	// ReadDelay is how late a read may run after its planned time (the
	// fleet's scheduler interval, MXFLEET_SCHEDULER_INTERVAL): an ETA
	// counts it, as the result comes with a read.
	ReadDelay time.Duration
}

// DefaultConfig is MX's 3 s minimum, the fleet's default backoff (3 s,
// ×1.5, 1 m), trust after 50 observations, the p99.5 (for a steady p99),
// the per-job budget, at most 12 planned reads, and reads up to 1 s late
// (the fleet's default scheduler interval).
func DefaultConfig() Config {
	return Config{MinGap: 3 * time.Second, Initial: 3 * time.Second, Factor: 1.5, Max: time.Minute,
		MinWeight: 50, Quantile: 0.995, MaxPolls: 12, PerJob: true, ReadDelay: time.Second}
}

// Budget is the number of planned reads for a key whose median is median
// (unless PerJob):
// floor(log2(median / MinGap)) + 2 (the goal for a job of that
// length is log2(aggregation / 3 s) + 2 calls), at least 1, at most
// MaxPolls.
func (c Config) Budget(median time.Duration) int {
	if median <= 0 {
		return 1
	}
	k := int(math.Floor(math.Log2(median.Seconds()/c.MinGap.Seconds()))) + 2
	return min(max(k, 1), max(c.MaxPolls, 1))
}

// Backoff is the wait before the k-th read (k ≥ 1) since MX was asked to
// work: Initial·Factor^(k-1), at most Max, at least Initial.
func (c Config) Backoff(k int) time.Duration {
	d := float64(c.Initial) * math.Pow(c.Factor, float64(max(k-1, 0)))
	return max(time.Duration(min(d, float64(c.Max))), c.Initial)
}

// Plan is the planned status reads for one key, as times since MX was
// asked to work.
type Plan struct {
	Times     []time.Duration // increasing, the first ≥ MinGap, MinGap or more apart
	Quantiles []float64       // the estimate's CDF at each time: the share of jobs done by then
	Median    time.Duration   // the estimate's median
	Budget    int             // Config.Budget(Median) ≥ len(Times)
	// Lateness is the plan's Quantile of lateness under the estimate,
	// counting jobs left to the tail as later than it.
	Lateness time.Duration
	// Covered is the estimated share of jobs whose lateness is at most
	// Lateness (≥ Quantile).
	Covered float64
}

// gridSize is the number of candidate read times the planner considers,
// log-spaced from MinGap to the estimate's largest time (about 2 % apart
// over 3 s–5 m).
const gridSize = 240

// Plan computes the reads that minimise the estimate's Quantile of
// lateness within the budget (see the package documentation). It is pure
// and takes a few milliseconds: compute it when the estimate changes, not
// per job. The plan of an empty estimate is empty.
func (c Config) Plan(e *Estimate) Plan {
	med := e.Quantile(0.5)
	if e.total() <= 0 || med <= 0 {
		return Plan{}
	}
	p := Plan{Median: med, Budget: c.Budget(med)}
	if c.PerJob {
		p.Budget = max(c.MaxPolls, 1)
	}
	tmax := max(e.Quantile(1).Seconds(), 2*c.MinGap.Seconds())
	g0 := c.MinGap.Seconds()
	grid := make([]float64, gridSize)
	F := make([]float64, gridSize)
	for i := range grid {
		grid[i] = g0 * math.Pow(tmax/g0, float64(i)/(gridSize-1))
		F[i] = e.CDF(seconds(grid[i]))
	}
	// prev[i] is the last grid index at least MinGap before grid[i] (-1: none).
	prev := make([]int, gridSize)
	for i := range grid {
		prev[i] = -1
		for j := i - 1; j >= 0; j-- {
			if grid[i]-grid[j] >= g0-1e-9 {
				prev[i] = j
				break
			}
		}
	}
	K := p.Budget
	best := make([][]float64, K)
	from := make([][]int, K)
	for k := range K {
		best[k], from[k] = make([]float64, gridSize), make([]int, gridSize)
	}
	Fl := make([]float64, gridSize)
	// cover fills best/from for lateness l and returns the best coverage
	// and where its plan ends.
	cover := func(l float64) (float64, int, int) {
		for i := range grid {
			Fl[i] = 0
			if grid[i]-l > 0 {
				Fl[i] = e.CDF(seconds(grid[i] - l))
			}
		}
		top, tk, ti := -1.0, 0, 0
		for k := range K {
			for i := range grid {
				var b float64
				f := -1
				if c.PerJob && grid[i] < g0*math.Exp2(float64(k))-1e-9 {
					b = -1 // the (k+1)-th read may not come so soon
				} else if k == 0 {
					b = F[i] - Fl[i] // first read: MX started at 0
				} else {
					b = math.Inf(-1)
					for j := 0; j <= prev[i]; j++ {
						if best[k-1][j] < 0 {
							continue
						}
						if v := best[k-1][j] + F[i] - max(F[j], Fl[i]); v > b {
							b, f = v, j
						}
					}
					if f < 0 {
						b = -1 // unreachable with k+1 reads
					}
				}
				best[k][i], from[k][i] = b, f
				if b > top+1e-12 {
					top, tk, ti = b, k, i
				}
			}
		}
		return top, tk, ti
	}
	q := min(max(c.Quantile, 0), 1)
	lo, hi := 0.0, tmax
	for range 40 {
		if hi-lo < 0.02 {
			break
		}
		mid := (lo + hi) / 2
		if cov, _, _ := cover(mid); cov >= q-1e-9 {
			hi = mid
		} else {
			lo = mid
		}
	}
	cov, k, i := cover(hi)
	times := make([]time.Duration, k+1)
	for ; k >= 0; k-- {
		times[k] = seconds(grid[i])
		i = from[k][i]
	}
	p.Times, p.Lateness, p.Covered = times, seconds(hi), cov
	for _, t := range times {
		p.Quantiles = append(p.Quantiles, e.CDF(t))
	}
	return p
}

// Schedule decides each job's next status read for one key.
type Schedule struct {
	cfg  Config
	plan Plan // empty: not learned, every read is the backoff's
}

// Schedule is the schedule for a key whose estimate is e at now: learned
// when e holds at least MinWeight observations, else the backoff. Build
// it when the estimate changes and share it between jobs.
func (c Config) Schedule(e *Estimate, now time.Time) *Schedule {
	s := &Schedule{cfg: c}
	if e != nil && e.Weight(now) >= c.MinWeight {
		s.plan = c.Plan(e)
	}
	return s
}

// Learned is whether the schedule follows a plan.
func (s *Schedule) Learned() bool { return len(s.plan.Times) > 0 }

// Plan is the schedule's plan (empty when not learned).
func (s *Schedule) Plan() Plan { return s.plan }

// State is what a job knows when it schedules its next read.
type State struct {
	Elapsed   time.Duration // since MX was asked to work (the job, or the resume, started)
	Polls     int           // status reads since then
	SinceRead time.Duration // since the last status read, or Elapsed when none
}

// Kind says which rule chose a wait.
type Kind int

const (
	Fallback Kind = iota // not learned: the backoff
	Planned              // one of the plan's reads
	Tail                 // the plan's reads are spent: the backoff
)

func (k Kind) String() string {
	return [...]string{"fallback", "planned", "tail"}[k]
}

// Next is how long from now to wait before the next status read, and
// why. The read is never less than MinGap after the last one (or after MX
// was asked to work). Learned, it is the first planned time not yet
// served by a read and not among the first Polls planned ones (so no job
// makes more planned reads than the budget); a planned time already
// passed is read at once (the latest one passed, skipping the others).
// Not learned, or once the planned reads are spent, the (Polls+1)-th
// backoff wait after the last read.
func (s *Schedule) Next(st State) (time.Duration, Kind) {
	c := s.cfg
	last := max(st.Elapsed-st.SinceRead, 0)
	earliest := max(st.Elapsed, last+c.MinGap)
	wait := func(at time.Duration) time.Duration { return max(at, earliest) - st.Elapsed }
	if !s.Learned() {
		return wait(last + c.Backoff(st.Polls+1)), Fallback
	}
	t := s.plan.Times
	j := max(st.Polls, 0)
	for j < len(t) && t[j] <= last {
		j++
	}
	for j+1 < len(t) && t[j+1] <= earliest {
		j++
	}
	if j >= len(t) {
		return wait(last + c.Backoff(st.Polls+1)), Tail
	}
	return wait(t[j]), Planned
}
