package pollplan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The histogram's buckets: Buckets log-spaced buckets from MinTime to
// MaxTime, each about 15 % wide (bucket i holds [MinTime·r^i,
// MinTime·r^(i+1)), r = (MaxTime/MinTime)^(1/Buckets) ≈ 1.149). Times
// under MinTime count in the first bucket, times over MaxTime in the last.
const (
	Buckets = 64
	MinTime = time.Second
	MaxTime = 2 * time.Hour
)

var (
	logMin   = math.Log(MinTime.Seconds())
	logWidth = (math.Log(MaxTime.Seconds()) - logMin) / Buckets // ln r
)

// edge is bucket i's lower edge in seconds (edge(Buckets) = MaxTime).
func edge(i int) float64 { return math.Exp(logMin + float64(i)*logWidth) }

// pos is where d falls in bucket units: bucket int(pos), fraction
// pos-int(pos) of the way through it (in log space), clamped to the range.
func pos(d time.Duration) float64 {
	if d <= MinTime {
		return 0
	}
	p := (math.Log(d.Seconds()) - logMin) / logWidth
	return min(p, Buckets)
}

// Estimate is a decaying histogram of how long MX takes for one key (an
// institution and job kind): observation weights halve every half-life,
// so recent jobs count most. Its zero value is not usable: see
// NewEstimate. It is not safe for concurrent use.
type Estimate struct {
	halfLife time.Duration // whole seconds
	at       int64         // unix seconds the weights are valued at; 0 when none
	w        [Buckets]float64
}

// NewEstimate is an empty estimate whose observations lose half their
// weight every halfLife (rounded to whole seconds, at least one).
func NewEstimate(halfLife time.Duration) *Estimate {
	return &Estimate{halfLife: max(halfLife.Round(time.Second), time.Second)}
}

// HalfLife is the estimate's half-life.
func (e *Estimate) HalfLife() time.Duration { return e.halfLife }

// decay is the factor weights lose over dt seconds.
func (e *Estimate) decay(dt int64) float64 {
	return math.Exp2(-float64(dt) / e.halfLife.Seconds())
}

// rebase values the weights at now (if later than their time) and says
// what a weight of 1 at now is worth at the estimate's time (less than 1
// when now is earlier: an observation from a pod whose clock is behind).
func (e *Estimate) rebase(now int64) float64 {
	switch {
	case e.at == 0:
		e.at = now
	case now > e.at:
		f := e.decay(now - e.at)
		for i := range e.w {
			e.w[i] *= f
		}
		e.at = now
	case now < e.at:
		return e.decay(e.at - now)
	}
	return 1
}

// Observe records that MX took d, as seen at now: from MX's
// successfully_aggregated_at, or a webhook's arrival, minus the time MX
// was asked to work.
func (e *Estimate) Observe(d time.Duration, now time.Time) {
	x := e.rebase(now.Unix())
	e.w[int(min(pos(d), Buckets-1))] += x
}

// ObserveBetween records that MX took between lo and hi: the job was
// still running at the read lo after MX started and done at the read hi,
// all a polling fleet knows when MX gives no finishing time. The weight
// is spread evenly (in log time) over [lo, hi]; lo ≤ MinTime counts from
// MinTime.
func (e *Estimate) ObserveBetween(lo, hi time.Duration, now time.Time) {
	a, b := pos(lo), pos(hi)
	if b-a < 1e-9 {
		e.Observe(hi, now)
		return
	}
	x := e.rebase(now.Unix())
	for i := int(a); i < Buckets && float64(i) < b; i++ {
		seg := min(b, float64(i+1)) - max(a, float64(i))
		e.w[i] += x * seg / (b - a)
	}
}

// Merge adds o's observations to e's: both are valued at the later of
// their times, then added, so merging is commutative and associative and
// a set of pods' deltas adds up to the same estimate in any order. It is
// not idempotent: merge a delta once (see the package documentation).
func (e *Estimate) Merge(o *Estimate) error {
	if o.halfLife != e.halfLife {
		return fmt.Errorf("pollplan: merging estimates with half-lives %s and %s", e.halfLife, o.halfLife)
	}
	if o.at == 0 {
		return nil
	}
	x := e.rebase(o.at)
	for i, w := range o.w {
		e.w[i] += x * w
	}
	return nil
}

// Weight is how many observations the estimate holds, decayed to now:
// each counts 1 when new, ½ a half-life later.
func (e *Estimate) Weight(now time.Time) float64 {
	var s float64
	for _, w := range e.w {
		s += w
	}
	if t := now.Unix(); t > e.at && e.at != 0 {
		s *= e.decay(t - e.at)
	}
	return s
}

// total is the undecayed sum of the weights (decay scales all alike, so
// quantiles do not depend on when they are read).
func (e *Estimate) total() float64 {
	var s float64
	for _, w := range e.w {
		s += w
	}
	return s
}

// CDF is the estimated fraction of jobs MX finishes within d (log-linear
// within a bucket); 0 for an empty estimate.
func (e *Estimate) CDF(d time.Duration) float64 {
	tot := e.total()
	if tot <= 0 {
		return 0
	}
	p := pos(d)
	i := int(p)
	var c float64
	for j := range min(i, Buckets) {
		c += e.w[j]
	}
	if i < Buckets {
		c += e.w[i] * (p - float64(i))
	}
	return min(c/tot, 1)
}

// Quantile is the time within which MX finishes a fraction p of the jobs
// (0 ≤ p ≤ 1), interpolated in log time within its bucket; 0 for an empty
// estimate.
func (e *Estimate) Quantile(p float64) time.Duration {
	tot := e.total()
	if tot <= 0 {
		return 0
	}
	target := min(max(p, 0), 1) * tot
	var c float64
	last := 0
	for i, w := range e.w {
		if w <= 0 {
			continue
		}
		last = i
		if c+w >= target {
			f := (target - c) / w
			return seconds(math.Exp(logMin + (float64(i)+f)*logWidth))
		}
		c += w
	}
	return seconds(edge(last + 1))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Binary form: version byte, uvarint half-life in seconds, varint unix
// seconds the weights are valued at, first non-empty bucket, number of
// buckets n from there, then n uvarint weights in sixteenths (capped at
// 2^32-1). At most maxEncoded bytes; an estimate over 15 buckets takes
// about 40.
const (
	encVersion = 1
	quantum    = 16
	maxEncoded = 1 + binary.MaxVarintLen64 + binary.MaxVarintLen64 + 2 + Buckets*5
)

// MarshalBinary encodes the estimate in at most 343 bytes.
func (e *Estimate) MarshalBinary() ([]byte, error) {
	var q [Buckets]uint64
	first, end := Buckets, 0
	for i, w := range e.w {
		q[i] = uint64(min(math.Round(w*quantum), math.MaxUint32))
		if q[i] > 0 {
			first, end = min(first, i), i+1
		}
	}
	if end == 0 {
		first = 0
	}
	b := make([]byte, 0, maxEncoded)
	b = append(b, encVersion)
	b = binary.AppendUvarint(b, uint64(e.halfLife/time.Second))
	b = binary.AppendVarint(b, e.at)
	b = append(b, byte(first), byte(end-first))
	for i := first; i < end; i++ {
		b = binary.AppendUvarint(b, q[i])
	}
	return b, nil
}

var errEncoding = errors.New("pollplan: not an encoded estimate")

// UnmarshalBinary decodes what MarshalBinary wrote, replacing e.
func (e *Estimate) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != encVersion {
		return errEncoding
	}
	b = b[1:]
	hl, n := binary.Uvarint(b)
	if n <= 0 || hl == 0 || hl > math.MaxInt64/uint64(time.Second) {
		return errEncoding
	}
	b = b[n:]
	at, n := binary.Varint(b)
	if n <= 0 || at < 0 {
		return errEncoding
	}
	b = b[n:]
	if len(b) < 2 || int(b[0])+int(b[1]) > Buckets {
		return errEncoding
	}
	first, count := int(b[0]), int(b[1])
	b = b[2:]
	var out Estimate
	out.halfLife, out.at = time.Duration(hl)*time.Second, at
	for i := first; i < first+count; i++ {
		q, n := binary.Uvarint(b)
		if n <= 0 || q > math.MaxUint32 {
			return errEncoding
		}
		out.w[i] = float64(q) / quantum
		b = b[n:]
	}
	if len(b) != 0 {
		return errEncoding
	}
	*e = out
	return nil
}

// Key names the estimate of an institution (its code) and job kind
// (aggregate, verify, identify): "code/kind", and "code/kind/resume" for
// the run after MFA answers, which MX times differently.
func Key(institution, kind string, resume bool) string {
	if resume {
		return institution + "/" + kind + "/resume"
	}
	return institution + "/" + kind
}
