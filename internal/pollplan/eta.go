package pollplan

import "time"

// Basis says what an ETA rests on.
type Basis int

const (
	// NoEstimate: the key holds fewer than MinWeight recent
	// observations (or none): nothing honest to say yet.
	NoEstimate Basis = iota
	// Learned: P50 and P90 come from the key's estimate.
	Learned
	// Overdue: the run has lasted longer than (nearly) every learned run
	// of its key, so the estimate says nothing about when it ends: less
	// than one observation's weight lies beyond the time elapsed.
	Overdue
)

func (b Basis) String() string { return [...]string{"none", "learned", "overdue"}[b] }

// ETA is when a running job is expected to have its result, as times
// since MX was asked to work (the job, or its resume, started): P50 and
// P90 of the time to result given that the run has lasted the elapsed
// time. Zero unless Basis is Learned.
type ETA struct {
	Basis    Basis
	P50, P90 time.Duration
}

// ETA is the expected end of a run that has lasted elapsed, under the
// estimate e at now: the p50 and p90 of MX's run time T conditioned on
// T > elapsed, P(T ≤ t | T > elapsed) = (F(t) − F(elapsed)) / (1 −
// F(elapsed)), so the quantile q is F⁻¹(F(elapsed) + q·(1 − F(elapsed))).
// The fleet learns MX's end at its next status read: when reads (the
// key's planned reads, increasing; nil when none) has a read at or after
// a quantile, the quantile moves to that read (the first read at or after
// a time is a monotone map, so quantiles carry over); past the last
// planned read the tail backoff runs and the quantile stays MX's time.
// Either way it adds ReadDelay, how late a read may run.
// Until e holds MinWeight observations the basis is NoEstimate; when less
// than one observation lies beyond elapsed, Overdue. Pure: no clock but
// now, which values the decayed weight.
func (c Config) ETA(e *Estimate, elapsed time.Duration, reads []time.Duration, now time.Time) ETA {
	if e == nil {
		return ETA{}
	}
	w := e.Weight(now)
	if w < max(c.MinWeight, 1) {
		return ETA{}
	}
	elapsed = max(elapsed, 0)
	f := e.CDF(elapsed)
	left := 1 - f
	if left*w < 1 {
		return ETA{Basis: Overdue}
	}
	at := func(q float64) time.Duration {
		t := max(e.Quantile(f+q*left), elapsed)
		for _, r := range reads {
			if r >= t {
				return r + c.ReadDelay
			}
		}
		return t + c.ReadDelay
	}
	return ETA{Basis: Learned, P50: at(0.5), P90: at(0.9)}
}
