package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/api"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// learnedTimes is the learned-schedule workload: three institutions with
// different typical MX times, log-normal (the simulator's realistic
// times, seeded), spreads as mxsim.SimulatedTimes gives real banks.
var learnedTimes = map[string]mxsim.LogNormal{
	"filler_bank_01": {Median: 6 * time.Second, Sigma: 0.3},
	"filler_bank_02": {Median: 15 * time.Second, Sigma: 0.4},
	"filler_bank_03": {Median: 30 * time.Second, Sigma: 0.3},
}

// learnedSeed seeds the simulator's draws: every fleet of the part sees
// the same stream of run times per institution.
const learnedSeed = 17

// lateSample is one mode's jobs: how late each was seen done, how long
// MX took, and its status reads.
type lateSample struct {
	mode  string
	banks []string // each job's institution
	late  []time.Duration
	runs  []time.Duration
	polls []int
	// ETAs (the learned fleet's): each job's first learned ETA, seen
	// once it runs at MX, and its end; noETA counts the jobs that ended
	// without one.
	eta   []etaSeen
	noETA int
}

// etaSeen is one job's first learned ETA and when the job ended; run
// and took: MX's time, and the job's from MX being asked to its end.
type etaSeen struct {
	bank          string
	p50, p90, end time.Time
	run, took     time.Duration
}

// learned compares, side by side on one workload, polling with the
// geometric backoff, polling with learned schedules (after a warm-up that
// teaches them) and MX webhooks; it writes the lateness plot (SVG).
func (b *bench) learned(ctx context.Context, rdb *redis.Client) error {
	n, warmN := b.scale(100), b.scale(100) // per institution
	rdb2, _, stop2, err := redisServer()
	if err != nil {
		return err
	}
	defer stop2()
	sim := []mxsim.Option{mxsim.WithAggregationDistribution(learnedTimes, learnedSeed)}
	schedule := func(mode string) func(*fleet.Config) {
		return func(c *fleet.Config) { c.PollSchedule = mode }
	}
	// Phase 1: the backoff's jobs, and beside them (a Redis of its own)
	// the warm-up that teaches the learned fleet.
	back, err := newEnv(rdb, 1, schedule("backoff"), sim...)
	if err != nil {
		return err
	}
	warm, err := newEnv(rdb2, 1, schedule("learned"), sim...)
	if err != nil {
		back.stop()
		return err
	}
	defer warm.stop()
	var backoff, learned, hooked lateSample
	err = both(func() (err error) { backoff, err = runLate(ctx, back, "backoff", "bk", n, 0); return err },
		func() error { _, err := runLate(ctx, warm, "warm-up", "wu", warmN, 0); return err })
	back.stop()
	if err != nil {
		return err
	}
	// The warm fleet syncs with Redis every 5 s: let it learn what the
	// warm-up saw, and say what it learned.
	pause(ctx, 2*learn.DefaultSync)
	plans, last, times, err := learnedPlans(ctx, rdb2)
	if err != nil {
		return err
	}
	// Phase 2: the learned fleet's jobs, and beside them the webhooks'.
	hooks, front, err := webhookEnv(rdb, sim)
	if err != nil {
		return err
	}
	defer front.Close()
	defer hooks.stop()
	err = both(func() (err error) { learned, err = runLate(ctx, warm, "learned", "ln", n, 3*warmN); return err },
		func() (err error) { hooked, err = runLate(ctx, hooks, "webhooks", "wh", n, 0); return err })
	if err != nil {
		return err
	}
	jobs := n * len(learnedTimes)
	for _, s := range []lateSample{backoff, learned, hooked} {
		what := map[string]string{
			"backoff":  "polling only, geometric backoff (3 s ×1.5 ±20 %, max 1 m)",
			"learned":  fmt.Sprintf("polling only, learned schedule after a warm-up of %d jobs", 3*warmN),
			"webhooks": "MX webhooks (backoff polls as well)",
		}[s.mode]
		b.row("poll schedule", fmt.Sprintf("log-normal workload (3 banks: 6 s σ0.3, 15 s σ0.4, 30 s σ0.3), %s, %d jobs", what, jobs),
			fmt.Sprintf("p50 %s, p99 %s", pct(slices.Clone(s.late), 0.5).Round(time.Millisecond), pct(slices.Clone(s.late), 0.99).Round(time.Millisecond)),
			s.notes(last))
	}
	for _, p := range plans {
		b.row("poll schedule", "learned plan "+p[0], p[1], "reads since MX was asked, as the warm-up taught them (exact times: the simulator gives successfully_aggregated_at, to the second)")
	}
	within, p50err, notes := learned.calibration(times)
	byP90, errP50 := f1(within)+" %", p50err.Round(100*time.Millisecond).String()
	if len(learned.eta) == 0 {
		byP90, errP50 = "none: no job had a learned ETA", "none"
	}
	b.row("ETA", "learned fleet's jobs that ended by the p90 ETA they were shown as they started at MX", byP90, "goal 85–95 %; "+notes)
	b.row("ETA", "learned fleet's median absolute error of the p50 ETA (job end − p50)", errP50, "the same jobs; the ETA is the view's (mxfleet status, the API), read every 250 ms")
	b.sum = append(b.sum, fmt.Sprintf("p99_late_backoff=%s p99_late_learned=%s", pct(backoff.late, 0.99).Round(time.Millisecond), pct(learned.late, 0.99).Round(time.Millisecond)),
		fmt.Sprintf("eta_by_p90=%s eta_p50_err=%s", strings.ReplaceAll(strings.Replace(byP90, " %", "%", 1), " ", "_"), errP50))
	if b.quick {
		return nil
	}
	return os.WriteFile(b.svgPath(), []byte(latenessSVG([]lateSample{backoff, learned, hooked}, jobs)), 0o644)
}

// svgPath is where the lateness plot goes: beside the benchmarks.
func (b *bench) svgPath() string { return "docs/lateness.svg" }

// both runs f and g at once and returns the first error.
func both(f, g func() error) error {
	errs := make(chan error, 2)
	go func() { errs <- f() }()
	go func() { errs <- g() }()
	e1, e2 := <-errs, <-errs
	if e1 != nil {
		return e1
	}
	return e2
}

// webhookEnv is a fleet whose simulator sends MX webhooks to its API.
func webhookEnv(rdb *redis.Client, sim []mxsim.Option) (*env, *httptest.Server, error) {
	var handler atomic.Value
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	opts := append(slices.Clone(sim), mxsim.WithWebhook(front.URL+"/v1/mx/webhooks?token=bench-webhook-secret"))
	e, err := newEnv(rdb, 1, func(c *fleet.Config) { c.PollSchedule = "backoff" }, opts...)
	if err != nil {
		front.Close()
		return nil, nil, err
	}
	handler.Store(http.Handler(api.New(e.c, nil, api.Config{WebhookSecret: "bench-webhook-secret"}, zerolog.Nop())))
	return e, front, nil
}

// runLate submits n verify jobs per institution of the workload to e
// (whose workers have already ended before jobs) and measures them.
func runLate(ctx context.Context, e *env, mode, prefix string, n, before int) (lateSample, error) {
	s := lateSample{mode: mode}
	sc := success()
	banks := slices.Sorted(maps.Keys(learnedTimes))
	var ids []string
	for _, bank := range banks {
		for i := range n {
			ids = append(ids, fmt.Sprintf("%s-%s-%d", prefix, bank, i))
		}
	}
	if err := parallel(len(ids), func(i int) error {
		c := sc
		c.InstitutionCode = banks[i/n]
		_, err := e.c.Verify(ctx, scenario.Request(c, ids[i], "user-"+ids[i]))
		return err
	}); err != nil {
		return s, err
	}
	wctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	var etas map[string]store.ETA
	watched := make(chan struct{})
	if mode == "learned" {
		go func() { defer close(watched); etas = watchETAs(wctx, e, ids) }()
	} else {
		close(watched)
	}
	err := e.waitEnded(wctx, before+len(ids))
	cancel()
	<-watched
	if err != nil {
		return s, fmt.Errorf("%s: %w", mode, err)
	}
	for _, id := range ids {
		j, err := e.st.Get(ctx, id)
		if err != nil || j.State != store.StateSucceeded {
			return s, fmt.Errorf("%s: job %s: %v %v", mode, id, j, err)
		}
		at, ok := e.sim.SucceededAt(j.UserGUID, j.MemberGUID)
		if !ok {
			return s, fmt.Errorf("%s: job %s: the simulator has no end time", mode, id)
		}
		s.banks = append(s.banks, j.InstitutionCode)
		s.late = append(s.late, j.UpdatedAt.Sub(at))
		s.runs = append(s.runs, at.Sub(j.TriggeredAt))
		s.polls = append(s.polls, j.Polls)
		if mode != "learned" {
			continue
		}
		if eta, ok := etas[id]; ok {
			s.eta = append(s.eta, etaSeen{bank: j.InstitutionCode, p50: *eta.P50, p90: *eta.P90, end: j.UpdatedAt, run: at.Sub(j.TriggeredAt), took: j.UpdatedAt.Sub(j.TriggeredAt)})
		} else {
			s.noETA++
		}
	}
	return s, nil
}

// watchETAs reads the views of ids (through the producer, as `mxfleet
// status` and the API do) every 250 ms until ctx ends, and keeps each
// job's first learned ETA: the one it is given as it starts at MX.
func watchETAs(ctx context.Context, e *env, ids []string) map[string]store.ETA {
	out := map[string]store.ETA{}
	done := map[string]bool{}
	for ctx.Err() == nil {
		for _, id := range ids {
			if done[id] {
				continue
			}
			v, err := e.c.Status(ctx, id)
			if err != nil || v.ETA == nil {
				done[id] = err == nil && v.State.Terminal()
				continue
			}
			if v.ETA.Basis == store.ETALearned {
				out[id], done[id] = *v.ETA, true
			} else if v.State == store.StateRunning && v.ETA.Basis != store.ETANone {
				done[id] = true // overdue at its first look: no ETA
			}
		}
		pause(ctx, 250*time.Millisecond)
	}
	return out
}

// calibration is how the learned ETAs held: the share of jobs that ended
// by their p90, and the median absolute error of the p50, overall and by
// bank; and how late the read that saw each job done ran after its
// planned time (times: the warm-up's plans; the fleet goes on learning,
// so an approximation), which the ETA allows 1 s for (the scheduler's
// interval).
func (s lateSample) calibration(times map[string][]time.Duration) (within float64, p50err time.Duration, notes string) {
	byBank := map[string][]etaSeen{}
	for _, x := range s.eta {
		byBank[x.bank] = append(byBank[x.bank], x)
	}
	share := func(xs []etaSeen) (float64, time.Duration) {
		in := 0
		var errs []time.Duration
		for _, x := range xs {
			if !x.end.After(x.p90) {
				in++
			}
			errs = append(errs, x.end.Sub(x.p50).Abs())
		}
		return 100 * float64(in) / float64(max(len(xs), 1)), pct(errs, 0.5)
	}
	within, p50err = share(s.eta)
	notes = fmt.Sprintf("%d jobs with a learned ETA as they started at MX, %d without; by bank (share by p90, p50 error):", len(s.eta), s.noETA)
	for _, bank := range slices.Sorted(maps.Keys(byBank)) {
		w, e := share(byBank[bank])
		var late []time.Duration
		for _, x := range byBank[bank] {
			if i := slices.IndexFunc(times[bank], func(t time.Duration) bool { return t >= x.run }); i >= 0 {
				late = append(late, x.took-times[bank][i])
			}
		}
		notes += fmt.Sprintf(" %s %s%% %s (catching read late by p50 %s, p90 %s);", strings.TrimPrefix(bank, "filler_bank_"), f1(w), e.Round(100*time.Millisecond),
			pct(slices.Clone(late), 0.5).Round(100*time.Millisecond), pct(late, 0.9).Round(100*time.Millisecond))
	}
	return within, p50err, notes
}

// notes are a sample's calls and the goals, job by job: lateness
// ≤ 1 s + 10 % of the job's own MX time (met when 99 % of jobs are
// within), status reads ≤ log2(T / 3 s) + 2 (met when every job is).
func (s lateSample) notes(last map[string]time.Duration) string {
	total, inLate, inCalls := 0, 0, 0
	for i, late := range s.late {
		total += s.polls[i]
		if late <= time.Second+s.runs[i]/10 {
			inLate++
		}
		if float64(s.polls[i]) <= math.Log2(max(s.runs[i].Seconds(), 3)/3)+2 {
			inCalls++
		}
	}
	n := float64(len(s.late))
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	shareLate, shareCalls := 100*float64(inLate)/n, 100*float64(inCalls)/n
	out := fmt.Sprintf("%s status calls per job; %s%% of jobs within p99 goal ≤ 1 s + 10 %% of their MX time (goal 99 %%: %s); %s%% within ≤ log2(T/3 s) + 2 calls (goal 100 %%: %s); p50/p99 by bank:",
		f2(float64(total)/n), f1(shareLate), met(shareLate >= 99), f1(shareCalls), met(inCalls == len(s.late)))
	for _, bank := range slices.Sorted(maps.Keys(learnedTimes)) {
		var late []time.Duration
		past := 0
		for i, b := range s.banks {
			if b == bank {
				late = append(late, s.late[i])
				if l, ok := last[bank]; ok && s.mode == "learned" && s.runs[i] > l {
					past++
				}
			}
		}
		out += fmt.Sprintf(" %s %s/%s", strings.TrimPrefix(bank, "filler_bank_"), pct(slices.Clone(late), 0.5).Round(100*time.Millisecond), pct(late, 0.99).Round(100*time.Millisecond))
		if s.mode == "learned" {
			out += fmt.Sprintf(" (%d of %d past the plan's last read)", past, len(late))
		}
	}
	return out
}

// learnedPlans reads the shared estimates and says each key's plan.
// last is each institution's last planned read, times its planned reads.
func learnedPlans(ctx context.Context, rdb *redis.Client) (out [][2]string, last map[string]time.Duration, times map[string][]time.Duration, err error) {
	l := learn.New(store.NewPollPlan(rdb), learn.Options{})
	if err := l.Sync(ctx); err != nil {
		return nil, nil, nil, err
	}
	last, times = map[string]time.Duration{}, map[string][]time.Duration{}
	est := l.Estimates()
	for _, k := range slices.Sorted(maps.Keys(est)) {
		p, ok := l.Plan(k)
		if !ok {
			out = append(out, [2]string{k, fmt.Sprintf("not learned (weight %.1f)", est[k].Weight(time.Now()))})
			continue
		}
		if bank, _, _ := strings.Cut(k, "/"); len(p.Times) > 0 && !strings.HasSuffix(k, "/resume") {
			last[bank], times[bank] = p.Times[len(p.Times)-1], p.Times
		}
		var ts []string
		for _, t := range p.Times {
			ts = append(ts, t.Round(100*time.Millisecond).String())
		}
		out = append(out, [2]string{k, fmt.Sprintf("%s (weight %.0f, median %s, estimated p99.5 lateness %s)",
			strings.Join(ts, ", "), est[k].Weight(time.Now()), p.Median.Round(100*time.Millisecond), p.Lateness.Round(100*time.Millisecond))})
	}
	return out, last, times, nil
}

// latenessSVG draws each sample's lateness as a cumulative distribution
// (the share of jobs seen done within x seconds of MX finishing them).
func latenessSVG(samples []lateSample, jobs int) string {
	const w, h, left, right, top, bottom = 720, 420, 60, 20, 40, 60
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	xmax := 5.0
	for _, s := range samples {
		xmax = max(xmax, pct(slices.Clone(s.late), 0.995).Seconds())
	}
	step := 5.0
	if xmax > 60 {
		step = 20
	} else if xmax > 30 {
		step = 10
	}
	xmax = math.Ceil(xmax/step) * step
	x := func(sec float64) float64 { return float64(left) + pw*min(max(sec, 0), xmax)/xmax }
	y := func(f float64) float64 { return float64(top) + ph*(1-f) }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&s, `<text x="%d" y="22" font-size="14">Lateness: share of jobs seen done within x of MX finishing (%d jobs each, log-normal MX times)</text>`+"\n", left, jobs)
	for f := 0.0; f <= 1.0001; f += 0.1 {
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n",
			left, y(f), w-right, y(f), left-6, y(f)+4, 100*f)
	}
	for sec := 0.0; sec <= xmax+1e-9; sec += step {
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%g s</text>`+"\n",
			x(sec), top, x(sec), h-bottom, x(sec), h-bottom+16, sec)
	}
	fmt.Fprintf(&s, `<line x1="%.1f" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/><text x="%d" y="%.1f" text-anchor="end" fill="#666">p99</text>`+"\n",
		x(0), y(0.99), w-right, y(0.99), w-right-4, y(0.99)-4)
	fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">lateness (job record's end − the simulator's end of the MX run)</text>`+"\n", float64(left)+pw/2, h-bottom+40)
	colors := []string{"#d62728", "#1f77b4", "#2ca02c"}
	for i, smp := range samples {
		late := slices.Clone(smp.late)
		slices.Sort(late)
		var pts []string
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(0), y(0)))
		for j, d := range late {
			f0, f1 := float64(j)/float64(len(late)), float64(j+1)/float64(len(late))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(d.Seconds()), y(f0), x(d.Seconds()), y(f1)))
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(xmax), y(1)))
		c := colors[i%len(colors)]
		fmt.Fprintf(&s, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		ly := int(y(0.32)) + 18*i
		fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s: p50 %s, p99 %s, %s calls/job</text>`+"\n",
			w-right-300, ly, w-right-276, ly, c, w-right-270, ly+4, smp.mode,
			roundLate(pct(slices.Clone(smp.late), 0.5)), roundLate(pct(slices.Clone(smp.late), 0.99)), f2(meanInt(smp.polls)))
	}
	fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	s.WriteString("</svg>\n")
	return s.String()
}

func meanInt(v []int) float64 {
	if len(v) == 0 {
		return 0
	}
	t := 0
	for _, x := range v {
		t += x
	}
	return float64(t) / float64(len(v))
}

// roundLate rounds a lateness for the plot's legend: to 10 ms under a
// second, else to 100 ms.
func roundLate(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
