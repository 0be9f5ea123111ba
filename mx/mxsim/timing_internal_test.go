package mxsim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The drawn times match their distribution's median and spread, per key.
func TestTimingDrawsMatchTheDistribution(t *testing.T) {
	dists := map[string]LogNormal{
		"mxbank":         {8 * time.Second, 0.4},
		"filler_bank_30": {90 * time.Second, 0.8},
		"mxbank/verify":  {3 * time.Second, 0.3},
	}
	tm := &timing{seed: 42, runs: dists, streams: map[string]*rand.Rand{}}
	cases := []struct {
		code, kind string
		want       LogNormal
	}{
		{"mxbank", kindAggregate, dists["mxbank"]},
		{"mxbank", kindVerify, dists["mxbank/verify"]},
		{"filler_bank_30", kindIdentify, dists["filler_bank_30"]},
	}
	const n = 20000
	for _, c := range cases {
		logs := make([]float64, n)
		for i := range logs {
			logs[i] = math.Log(tm.draw(c.code, c.kind, false).Seconds())
		}
		slices.Sort(logs)
		median := math.Exp(logs[n/2])
		var mean, ss float64
		for _, l := range logs {
			mean += l / n
		}
		for _, l := range logs {
			ss += (l - mean) * (l - mean)
		}
		sigma := math.Sqrt(ss / (n - 1))
		if want := c.want.Median.Seconds(); math.Abs(median/want-1) > 0.02 {
			t.Errorf("%s/%s: median %.3fs, want %.3fs ±2%%", c.code, c.kind, median, want)
		}
		if math.Abs(sigma-c.want.Sigma) > 0.02 {
			t.Errorf("%s/%s: sigma %.3f, want %.3f ±0.02", c.code, c.kind, sigma, c.want.Sigma)
		}
		// the quantile function agrees with the draws at p90
		if q, got := c.want.Quantile(0.9).Seconds(), math.Exp(logs[n*9/10]); math.Abs(got/q-1) > 0.03 {
			t.Errorf("%s/%s: p90 %.3fs, Quantile(0.9) %.3fs", c.code, c.kind, got, q)
		}
	}
	if d := tm.draw("filler_bank_01", kindVerify, false); d != 0 {
		t.Errorf("an institution without a distribution drew %v, want 0 (the fixed time)", d)
	}
}

// The same seed gives the same times, key by key, whatever the other keys
// drew in between; another seed gives others.
func TestTimingSeeded(t *testing.T) {
	dists := map[string]LogNormal{"mxbank": {8 * time.Second, 0.4}, "mxbank_noid": {15 * time.Second, 0.5}}
	draws := func(seed uint64, interleave bool) []time.Duration {
		tm := &timing{seed: seed, runs: dists, resumes: map[string]LogNormal{"mxbank": {2 * time.Second, 0.2}}, streams: map[string]*rand.Rand{}}
		var out []time.Duration
		for range 50 {
			if interleave {
				tm.draw("mxbank_noid", kindVerify, false)
				tm.draw("mxbank", kindVerify, true)
			}
			out = append(out, tm.draw("mxbank", kindVerify, false))
		}
		return out
	}
	a, b, c := draws(7, false), draws(7, true), draws(8, false)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different times:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 7 and 8 drew the same times")
	}
}

// A resume draws from the resume distribution when there is one, else
// from the aggregation one (in its own stream).
func TestTimingResume(t *testing.T) {
	tm := &timing{seed: 1, runs: map[string]LogNormal{"mxbank": {8 * time.Second, 0}, "mxbank_noid": {15 * time.Second, 0}},
		resumes: map[string]LogNormal{"mxbank": {2 * time.Second, 0}}, streams: map[string]*rand.Rand{}}
	if d := tm.draw("mxbank", kindVerify, true); d != 2*time.Second {
		t.Errorf("mxbank resume %v, want 2s", d)
	}
	if d := tm.draw("mxbank_noid", kindVerify, true); d != 15*time.Second {
		t.Errorf("mxbank_noid resume %v, want 15s (its aggregation time)", d)
	}
	var nilT *timing
	if d := nilT.draw("mxbank", kindVerify, false); d != 0 {
		t.Errorf("no timing drew %v", d)
	}
}

func TestSimulatedTimes(t *testing.T) {
	st := SimulatedTimes()
	for _, in := range newInstitutions() {
		d, ok := st[in.code]
		if !ok || d.validate() != nil {
			t.Errorf("%s: %v %v", in.code, d, ok)
		}
	}
	if st["filler_bank_01"].Median != 3*time.Second || st["filler_bank_30"].Median != 90*time.Second || st["mxbank"].Median != 8*time.Second {
		t.Errorf("medians: %v %v %v", st["filler_bank_01"], st["filler_bank_30"], st["mxbank"])
	}
}
