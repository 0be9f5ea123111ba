package pollplan

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0) // the tests' clock: time only moves when a test says

func logNormal(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}

// The histogram's quantiles are within a bucket's interpolation of the
// true ones.
func TestEstimateQuantiles(t *testing.T) {
	e := NewEstimate(24 * time.Hour)
	r := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		e.Observe(logNormal(r, 20*time.Second, 0.5), t0)
	}
	for _, p := range []float64{0.01, 0.1, 0.5, 0.9, 0.99} {
		want := 20 * math.Exp(0.5*math.Sqrt2*math.Erfinv(2*p-1))
		if got := e.Quantile(p).Seconds(); math.Abs(got/want-1) > 0.03 {
			t.Errorf("p%.0f: %.2fs, want %.2fs ±3%%", 100*p, got, want)
		}
		if got := e.CDF(seconds(want)); math.Abs(got-p) > 0.01 {
			t.Errorf("CDF(%.2fs) = %.3f, want %.2f", want, got, p)
		}
	}
	if w := e.Weight(t0); math.Abs(w-20000) > 1e-6 {
		t.Errorf("weight %v", w)
	}
	var empty Estimate
	if empty.Quantile(0.5) != 0 || empty.CDF(time.Minute) != 0 {
		t.Error("an empty estimate has quantiles")
	}
}

// Old observations fade: weights halve every half-life, and after a few
// half-lives the new times dominate the quantiles.
func TestEstimateDecay(t *testing.T) {
	e := NewEstimate(time.Hour)
	for range 100 {
		e.Observe(10*time.Second, t0)
	}
	if w := e.Weight(t0.Add(time.Hour)); math.Abs(w-50) > 1e-9 {
		t.Fatalf("one half-life later: weight %v, want 50", w)
	}
	if w := e.Weight(t0.Add(3 * time.Hour)); math.Abs(w-12.5) > 1e-9 {
		t.Fatalf("three half-lives later: weight %v, want 12.5", w)
	}
	later := t0.Add(3 * time.Hour)
	for range 100 {
		e.Observe(40*time.Second, later)
	}
	if w := e.Weight(later); math.Abs(w-112.5) > 1e-9 {
		t.Fatalf("weight %v, want 112.5", w)
	}
	// 12.5 old against 100 new: the old 10 s are the lowest 11 %
	if q := e.Quantile(0.10); q < 8*time.Second || q > 12*time.Second {
		t.Errorf("p10 %v, want the old 10 s", q)
	}
	if q := e.Quantile(0.2); q < 35*time.Second || q > 45*time.Second {
		t.Errorf("p20 %v, want the new 40 s", q)
	}
	// an observation from a clock behind counts for less, without moving the estimate's time back
	f := NewEstimate(time.Hour)
	f.Observe(10*time.Second, t0)
	f.Observe(10*time.Second, t0.Add(-time.Hour))
	if w := f.Weight(t0); math.Abs(w-1.5) > 1e-9 {
		t.Errorf("late observation: weight %v, want 1.5", w)
	}
	// a schedule stops trusting an estimate that decayed under MinWeight
	c := DefaultConfig()
	g := NewEstimate(time.Hour)
	for range 60 {
		g.Observe(20*time.Second, t0)
	}
	if !c.Schedule(g, t0).Learned() || c.Schedule(g, t0.Add(time.Hour)).Learned() {
		t.Error("60 observations: trusted at once, not a half-life later (30 < 50)")
	}
}

// Merging is addition at the later time: in any order, deltas add up to
// the estimate that saw every observation.
func TestEstimateMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	all := NewEstimate(time.Hour)
	pods := []*Estimate{NewEstimate(time.Hour), NewEstimate(time.Hour), NewEstimate(time.Hour)}
	for i := range 3000 {
		d, at := logNormal(r, 30*time.Second, 0.4), t0.Add(time.Duration(i)*time.Second)
		all.Observe(d, at)
		pods[i%3].Observe(d, at)
	}
	a, b := NewEstimate(time.Hour), NewEstimate(time.Hour)
	for _, p := range pods {
		if err := a.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	for i := len(pods) - 1; i >= 0; i-- {
		_ = b.Merge(pods[i])
	}
	for _, m := range []*Estimate{a, b} {
		if m.at != all.at {
			t.Fatalf("merged at %d, want %d", m.at, all.at)
		}
		for i := range m.w {
			if math.Abs(m.w[i]-all.w[i]) > 1e-9*max(1, all.w[i]) {
				t.Fatalf("bucket %d: merged %v, all %v", i, m.w[i], all.w[i])
			}
		}
	}
	if err := a.Merge(NewEstimate(2 * time.Hour)); err == nil {
		t.Error("merged estimates with different half-lives")
	}
}

// An interval observation spreads one observation over the buckets
// between its reads.
func TestObserveBetween(t *testing.T) {
	e := NewEstimate(time.Hour)
	e.ObserveBetween(10*time.Second, 20*time.Second, t0)
	if w := e.Weight(t0); math.Abs(w-1) > 1e-9 {
		t.Fatalf("weight %v", w)
	}
	if q := e.Quantile(0.5); math.Abs(q.Seconds()-math.Sqrt(200)) > 0.01 {
		t.Errorf("median %v, want the geometric middle %.2fs", q, math.Sqrt(200))
	}
	// within the buckets that hold [10 s, 20 s] (the histogram knows no finer)
	if lo, hi := 10*time.Second*87/100, 20*time.Second*115/100; e.CDF(lo) > 1e-9 || e.CDF(hi) < 1-1e-9 {
		t.Errorf("mass outside [%v, %v]: %v %v", lo, hi, e.CDF(lo), e.CDF(hi))
	}
	e.ObserveBetween(0, 3*time.Second, t0) // done at the first read
	if q := e.Quantile(0.25); q < time.Second || q > 3*time.Second {
		t.Errorf("p25 %v", q)
	}
}

// The binary form round-trips (to a sixteenth of an observation), is
// stable, and stays within its bound however full.
func TestEstimateBinary(t *testing.T) {
	e := NewEstimate(6 * time.Hour)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 500 {
		e.Observe(logNormal(r, 8*time.Second, 0.4), t0.Add(time.Duration(i)*time.Minute))
	}
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("500 observations of a log-normal (median 8 s, sigma 0.4): %d bytes", len(b))
	var d Estimate
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if d.halfLife != e.halfLife || d.at != e.at {
		t.Fatalf("decoded %v %d, want %v %d", d.halfLife, d.at, e.halfLife, e.at)
	}
	for i := range e.w {
		if math.Abs(d.w[i]-e.w[i]) > 0.5/quantum+1e-9 {
			t.Fatalf("bucket %d: %v decoded as %v", i, e.w[i], d.w[i])
		}
	}
	if b2, _ := d.MarshalBinary(); !bytes.Equal(b, b2) {
		t.Fatal("re-encoding changed the bytes")
	}
	// the worst case: every bucket holding the most a weight can encode
	full := NewEstimate(math.MaxInt64 / time.Second * time.Second)
	full.at = math.MaxInt64
	for i := range full.w {
		full.w[i] = 1e12
	}
	if b, _ := full.MarshalBinary(); len(b) > maxEncoded || maxEncoded > 350 {
		t.Fatalf("full estimate: %d bytes, bound %d", len(b), maxEncoded)
	}
	var empty Estimate
	if b, _ := NewEstimate(time.Hour).MarshalBinary(); empty.UnmarshalBinary(b) != nil || empty.total() != 0 {
		t.Fatal("empty estimate does not round-trip")
	}
	// garbage and truncations are errors, not panics
	for i := range len(b) {
		if err := new(Estimate).UnmarshalBinary(b[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	for _, bad := range [][]byte{{2}, {1, 0}, {1, 1, 0, 60, 10}, append(bytes.Clone(b), 0)} {
		if err := new(Estimate).UnmarshalBinary(bad); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	e := NewEstimate(time.Hour)
	e.Observe(10*time.Second, t0)
	b, _ := e.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Estimate
		if e.UnmarshalBinary(b) != nil {
			return
		}
		out, _ := e.MarshalBinary()
		if len(out) > maxEncoded {
			t.Fatalf("%d bytes", len(out))
		}
		_ = e.Quantile(0.5)
	})
}
