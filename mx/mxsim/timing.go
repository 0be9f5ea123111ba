package mxsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Realistic timing (the simulator's own; MX documents no aggregation
// times): by default every job run lasts WithAggregationTime, one fixed
// number. WithAggregationDistribution makes each run's length a draw from
// a log-normal distribution chosen by the member's institution (and,
// optionally, the job's kind), and WithResumeDistribution does the same
// for the run after MFA answers (answer to done). The draws are seeded:
// the n-th run drawn for a distribution key gets the n-th value of that
// key's own stream, so a sequential test sees the same times for the same
// seed, and concurrent runs share out the same values in whatever order
// they start.

// LogNormal is a log-normal distribution of durations: ln(d) is normal
// with mean ln(Median) and standard deviation Sigma. Sigma 0 is always
// Median; 0.5 puts the middle half of the draws within ×0.71–1.40 of the
// median and 98 % within ×0.31–3.2.
type LogNormal struct {
	Median time.Duration `json:"median"`
	Sigma  float64       `json:"sigma"`
}

// Draw is one draw, the normal deviate taken from r.
func (d LogNormal) Draw(r *rand.Rand) time.Duration {
	return d.at(r.NormFloat64())
}

// Quantile is the duration below which a fraction p (0 < p < 1) of the
// draws fall.
func (d LogNormal) Quantile(p float64) time.Duration {
	return d.at(math.Sqrt2 * math.Erfinv(2*p-1))
}

// at is the duration z standard deviations from the median (in log space).
func (d LogNormal) at(z float64) time.Duration {
	v := float64(d.Median) * math.Exp(d.Sigma*z)
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}

func (d LogNormal) validate() error {
	if d.Median <= 0 || d.Sigma < 0 || math.IsNaN(d.Sigma) || math.IsInf(d.Sigma, 0) {
		return fmt.Errorf("mxsim: log-normal needs a positive median and a finite sigma ≥ 0, got %v", d)
	}
	return nil
}

// SimulatedTimes are the simulator's own aggregation-time distributions
// for its institutions, for workloads that want variety: MX Bank 8 s
// (sigma 0.4), MX Bank (OAuth) 5 s (0.3), MX Bank (no identification) 15 s
// (0.5), MX Bank (no verification) 10 s (0.4), and the thirty filler
// banks with medians spread geometrically from 3 s (filler_bank_01) to
// 90 s (filler_bank_30), sigma 0.3, 0.5 and 0.8 in turn. MX publishes no such figures: these are invented, shaped
// like the spread a real fleet sees (most jobs near a bank's typical time,
// a long tail of slow ones), not measured.
func SimulatedTimes() map[string]LogNormal {
	t := map[string]LogNormal{
		"mxbank":          {8 * time.Second, 0.4},
		"mx_bank_oauth":   {5 * time.Second, 0.3},
		"mxbank_noid":     {15 * time.Second, 0.5},
		"mxbank_noverify": {10 * time.Second, 0.4},
	}
	sigmas := []float64{0.3, 0.5, 0.8}
	for i := 1; i <= 30; i++ {
		median := 3 * math.Pow(30, float64(i-1)/29) // 3 s … 90 s
		t[fmt.Sprintf("filler_bank_%02d", i)] = LogNormal{
			Median: time.Duration(median * float64(time.Second)).Round(100 * time.Millisecond),
			Sigma:  sigmas[(i-1)%3],
		}
	}
	return t
}

// WithAggregationDistribution draws each job run's length from dists,
// keyed by institution code, or by "code/kind" (kind aggregate, verify or
// identify) for one kind of job at that institution, which wins over the
// code alone. Institutions in neither keep the fixed WithAggregationTime.
// seed makes the draws deterministic (see the package's timing notes).
// Resume runs (after MFA answers) draw from the same distributions unless
// WithResumeDistribution says otherwise. It panics on a distribution with
// a median ≤ 0 or a negative sigma.
func WithAggregationDistribution(dists map[string]LogNormal, seed uint64) Option {
	for k, d := range dists {
		if err := d.validate(); err != nil {
			panic(fmt.Sprintf("%v (key %q)", err, k))
		}
	}
	return func(s *Server) {
		if s.timing == nil {
			s.timing = &timing{seed: seed, streams: map[string]*rand.Rand{}}
		}
		s.timing.seed, s.timing.runs = seed, dists
	}
}

// WithResumeDistribution draws the length of each resume run (MFA answers
// sent to the member's next status) from dists, keyed as in
// WithAggregationDistribution, with its seed (0 without it). Institutions
// not in dists resume as they aggregate.
func WithResumeDistribution(dists map[string]LogNormal) Option {
	for k, d := range dists {
		if err := d.validate(); err != nil {
			panic(fmt.Sprintf("%v (key %q)", err, k))
		}
	}
	return func(s *Server) {
		if s.timing == nil {
			s.timing = &timing{streams: map[string]*rand.Rand{}}
		}
		s.timing.resumes = dists
	}
}

// timing draws run lengths; nil means every run lasts the fixed time.
type timing struct {
	seed          uint64
	runs, resumes map[string]LogNormal

	mu      sync.Mutex
	streams map[string]*rand.Rand // one seeded stream per distribution key
}

// initTiming gives every institution the server's timing (nil: fixed).
func (s *Server) initTiming() {
	for _, in := range s.institutions {
		in.timing = s.timing
	}
}

// draw is a run length for a job of kind at the institution with the
// given code, resumed or not; 0 when no distribution applies.
func (t *timing) draw(code, kind string, resume bool) time.Duration {
	if t == nil {
		return 0
	}
	dists, prefix := t.runs, "run:"
	if resume {
		if d, key, ok := lookup(t.resumes, code, kind); ok {
			return t.next("resume:"+key, d)
		}
	}
	if d, key, ok := lookup(dists, code, kind); ok {
		if resume {
			prefix = "resume:"
		}
		return t.next(prefix+key, d)
	}
	return 0
}

func lookup(dists map[string]LogNormal, code, kind string) (LogNormal, string, bool) {
	if d, ok := dists[code+"/"+kind]; ok {
		return d, code + "/" + kind, true
	}
	d, ok := dists[code]
	return d, code, ok
}

// next is the next draw of the stream named key.
func (t *timing) next(key string, d LogNormal) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.streams[key]
	if r == nil {
		h := fnv.New64a()
		h.Write([]byte(key))
		r = rand.New(rand.NewPCG(t.seed, h.Sum64()))
		t.streams[key] = r
	}
	return max(d.Draw(r), time.Millisecond)
}

// drawRunTime fixes the length of the run the member's job just began
// (called by beginRun): a draw, or 0 for the server's fixed time.
func (m *member) drawRunTime() {
	if m.inst != nil {
		m.job.runTime = m.inst.timing.draw(m.inst.code, m.job.kind, m.job.resume)
	}
}

// length is how long the job's current run lasts.
func (j *job) length(fixed time.Duration) time.Duration {
	if j.runTime > 0 {
		return j.runTime
	}
	return fixed
}
