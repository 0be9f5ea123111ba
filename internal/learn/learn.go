// Package learn is the fleet's side of learned poll schedules (package
// internal/pollplan is the pure method): it learns how long MX takes per
// institution and job kind from the fleet's own status reads, shares that
// between pods through one Redis hash, and answers the state machine's
// job.Scheduler with each key's planned reads.
//
// Each pod observes the jobs it sees done into a local delta per key
// (Seen). Every few seconds (Run, Sync) it adds its deltas to the shared
// estimates (a Redis hash the store keeps: store.PollPlan) in one
// compare-and-set (a concurrent writer makes it read and add again, so no
// observation is lost or counted twice), deletes fields whose weight has
// decayed below 1 (the hash stays bounded by the keys in use), and reads
// back the estimates other pods changed. A version bumped by every write
// lets a pod with nothing to add skip reading the hash. A
// key's schedule (pollplan.Config.Schedule, a few milliseconds) is
// recomputed only when its shared estimate changed, or an hour after it
// was computed (trust decays with the weight).
//
// Until a key's estimate holds pollplan.Config.MinWeight observations,
// and once a job has spent the plan's reads, NextPoll declines and the
// state machine runs its geometric backoff (job.Config.PollDelay) exactly
// as without a scheduler.
package learn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// Shared is where the pods of a fleet keep the shared estimates, one
// field per key (pollplan.Key): store.PollPlan.
type Shared interface {
	Merge(ctx context.Context, known int64, merge func(fields map[string]string) (write map[string]string, del []string, err error)) (map[string]string, int64, error)
}

// Defaults.
const (
	DefaultHalfLife = 24 * time.Hour  // observations lose half their weight a day later
	DefaultSync     = 5 * time.Second // how often a pod adds its deltas and reads the others'
	replanAfter     = time.Hour       // a schedule is rebuilt at least this often (trust decays)
	syncTries       = 20              // compare-and-set attempts per Sync
)

// Options configure a Learner; zero values are the defaults.
type Options struct {
	Plan     pollplan.Config  // zero: pollplan.DefaultConfig()
	HalfLife time.Duration    // DefaultHalfLife
	Now      func() time.Time // the fleet's clock (store.Store.Now); time.Now
	Log      zerolog.Logger
	// ReadEvery, when set, makes a read-only view of the shared
	// estimates for a process that runs no jobs (the API, `mxfleet
	// status`): ETA first reads them when its copy is older than
	// ReadEvery (the hash's version, and the hash only when it changed).
	// Such a learner writes nothing: call neither Seen nor Sync.
	ReadEvery time.Duration
}

// Learner learns MX's run times and schedules polls from them. It is safe
// for concurrent use.
type Learner struct {
	shared   Shared
	plan     pollplan.Config
	halfLife time.Duration
	now      func() time.Time
	log      zerolog.Logger
	polls    *prometheus.CounterVec
	every    time.Duration // Options.ReadEvery

	mu      sync.Mutex
	deltas  map[string]*pollplan.Estimate // this pod's observations not yet in Redis
	version int64                         // the hash's version the view below is at; -1: none
	view    map[string]*entry             // the shared estimates, as last read
	readAt  time.Time                     // a read-only view's last read
	reading bool                          // a read-only view's read is under way
}

// entry is one key's shared estimate and its schedule.
type entry struct {
	raw     string // the estimate's binary form, as in Redis
	est     *pollplan.Estimate
	sched   *pollplan.Schedule // nil until planned
	planned time.Time
}

// New is a Learner sharing its estimates through shared.
func New(shared Shared, o Options) *Learner {
	if o.Plan == (pollplan.Config{}) {
		o.Plan = pollplan.DefaultConfig()
	}
	if o.HalfLife <= 0 {
		o.HalfLife = DefaultHalfLife
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Learner{shared: shared, plan: o.Plan, halfLife: o.HalfLife, now: o.Now, log: o.Log, every: o.ReadEvery,
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_polls_scheduled_total",
			Help: "Status polls scheduled by the learned poll schedule, by the rule that chose the wait: fallback (not learned yet: the backoff), planned, tail (the plan's reads spent: the backoff)."}, []string{"rule"}),
		deltas: map[string]*pollplan.Estimate{}, version: -1, view: map[string]*entry{}}
}

// Register adds the learner's counter to a Prometheus registry.
func (l *Learner) Register(r *prometheus.Registry) error {
	if err := r.Register(l.polls); err != nil {
		return err
	}
	for _, k := range []pollplan.Kind{pollplan.Fallback, pollplan.Planned, pollplan.Tail} {
		l.polls.WithLabelValues(k.String())
	}
	return nil
}

// key is the estimate's key for r's current run; "" when r cannot be
// keyed (a member followed by its guid: no institution code).
func key(r *job.Record, resume bool) string {
	if r.InstitutionCode == "" {
		return ""
	}
	return pollplan.Key(r.InstitutionCode, string(r.Kind), resume)
}

// NextPoll implements job.Scheduler: the planned wait when r's key has a
// trusted estimate and a planned read left; else it declines (ok false)
// and the state machine runs its backoff.
func (l *Learner) NextPoll(r *job.Record, p job.PollState) (time.Duration, bool) {
	d, k := l.next(r, p)
	l.polls.WithLabelValues(k.String()).Inc()
	return d, k == pollplan.Planned
}

// next is the schedule's answer for r in p.
func (l *Learner) next(r *job.Record, p job.PollState) (time.Duration, pollplan.Kind) {
	k := key(r, p.Resume)
	if k == "" {
		return 0, pollplan.Fallback
	}
	l.mu.Lock()
	e := l.view[k]
	var s *pollplan.Schedule
	if e != nil {
		s = e.sched
	}
	l.mu.Unlock()
	if s == nil {
		return 0, pollplan.Fallback
	}
	return s.Next(pollplan.State{Elapsed: p.SinceAsked, Polls: p.Reads, SinceRead: p.SinceRead})
}

// ETA implements store.Estimator: when r's run at MX is expected to end,
// from its key's shared estimate as last synced and the key's planned
// reads (pollplan.Config.ETA), counted from when MX was asked
// (r.TriggeredAt, or the resume). None for a followed member.
func (l *Learner) ETA(ctx context.Context, r *job.Record) store.ETA {
	if l.every > 0 {
		l.read(ctx)
	}
	k := key(r, job.ResumeRun(r))
	if k == "" || r.TriggeredAt.IsZero() {
		return store.ETA{Basis: store.ETANone}
	}
	var (
		est   *pollplan.Estimate
		reads []time.Duration
	)
	l.mu.Lock()
	if e := l.view[k]; e != nil {
		est = e.est
		if e.sched != nil {
			reads = e.sched.Plan().Times
		}
	}
	l.mu.Unlock()
	now := l.now()
	eta := l.plan.ETA(est, now.Sub(r.TriggeredAt), reads, now)
	out := store.ETA{Basis: eta.Basis.String()}
	if eta.Basis == pollplan.Learned {
		p50, p90 := r.TriggeredAt.Add(eta.P50).UTC(), r.TriggeredAt.Add(eta.P90).UTC()
		out.P50, out.P90 = &p50, &p90
	}
	return out
}

// read brings a read-only view up to the shared estimates when its copy
// is older than ReadEvery; concurrent callers meanwhile use the copy. A
// failed read is tried again ReadEvery later (the ETA says none until
// the first read succeeds).
func (l *Learner) read(ctx context.Context) {
	l.mu.Lock()
	if l.reading || !l.readAt.IsZero() && l.now().Sub(l.readAt) < l.every {
		l.mu.Unlock()
		return
	}
	l.reading = true
	version := l.version
	l.mu.Unlock()
	none := func(map[string]string) (map[string]string, []string, error) { return nil, nil, nil }
	fields, ver, err := l.shared.Merge(ctx, version, none)
	l.mu.Lock()
	l.reading, l.readAt = false, l.now()
	l.mu.Unlock()
	if err != nil {
		l.log.Warn().Str("error", err.Error()).Msg("learned run times: could not read the shared estimates (ETAs use the last copy)")
		return
	}
	l.apply(fields, nil, nil, ver)
}

// Seen learns from poll n of r, which read st at now (succeededAt: MX's
// successfully_aggregated_at, RFC 3339, may be empty): a run MX has
// finished (succeeded, challenged or failed) is observed into this pod's
// delta for r's key. Call it once the poll's decision is written.
func (l *Learner) Seen(r *job.Record, n int, st job.Read, succeededAt string, now time.Time) {
	d, lo, hi, ok := Observation(r, n, st, succeededAt, now)
	if !ok {
		return
	}
	k := key(r, job.ResumeRun(r))
	if k == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.deltas[k]
	if e == nil {
		e = pollplan.NewEstimate(l.halfLife)
		l.deltas[k] = e
	}
	if d > 0 {
		e.Observe(d, now)
	} else {
		e.ObserveBetween(lo, hi, now)
	}
}

// Observation is what poll n of r, reading st at now, tells about how
// long MX's run took, counted from when MX was asked (r.TriggeredAt):
// exactly d when MX says when it succeeded (successfully_aggregated_at,
// to the second, after the run was asked), else between lo (the last read
// that saw it running, or 0) and hi (this read). ok is false when the run
// is not over, or the fleet did not ask MX to run it (a followed member).
func Observation(r *job.Record, n int, st job.Read, succeededAt string, now time.Time) (d, lo, hi time.Duration, ok bool) {
	if r.TriggeredAt.IsZero() || now.Before(r.TriggeredAt) {
		return 0, 0, 0, false
	}
	c, _ := job.Reading(r, n, st)
	if c.Outcome == job.InProgress {
		return 0, 0, 0, false
	}
	hi = now.Sub(r.TriggeredAt)
	if n-1 > r.PollMark && r.UpdatedAt.After(r.TriggeredAt) {
		// A read since MX was asked saw the run going; the record was
		// written right after it.
		lo = min(r.UpdatedAt.Sub(r.TriggeredAt), hi)
	}
	if c.Outcome == job.Succeeded && succeededAt != "" {
		if at, err := time.Parse(time.RFC3339, succeededAt); err == nil && !at.Before(r.TriggeredAt.Truncate(time.Second)) && !at.After(now) {
			// To the second: the middle of its second, within what the
			// reads showed.
			d = min(max(at.Add(500*time.Millisecond).Sub(r.TriggeredAt), lo, time.Millisecond), hi)
		}
	}
	return d, lo, hi, true
}

// Run syncs every interval (DefaultSync when 0) until ctx ends, and once
// more as it ends so that a stopping pod hands over its deltas.
func (l *Learner) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultSync
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = l.Sync(fctx)
			cancel()
			return
		case <-t.C:
		}
		if err := l.Sync(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn().Str("error", err.Error()).Msg("learned poll schedules: could not sync with Redis (the deltas are kept for the next try)")
		}
	}
}

// Sync adds this pod's deltas to the shared estimates in Redis, sweeps
// the ones decayed below one observation, reads back what changed and
// replans the keys whose estimate changed. On failure the deltas are kept
// for the next Sync.
func (l *Learner) Sync(ctx context.Context) error {
	l.mu.Lock()
	deltas, version := l.deltas, l.version
	l.deltas = map[string]*pollplan.Estimate{}
	snapshot := make(map[string]string, len(l.view)) // the hash at version
	for k, e := range l.view {
		snapshot[k] = e.raw
	}
	l.mu.Unlock()
	var (
		fields map[string]string // the hash as read: nil when it was at the view's version
		wrote  map[string]string // fields this sync wrote
		swept  []string
		newVer int64
	)
	merge := func(got map[string]string) (map[string]string, []string, error) {
		wrote, swept = nil, nil
		cur := snapshot
		if got != nil {
			cur = got
		}
		swept = l.sweepable(cur, deltas)
		if len(deltas) == 0 && len(swept) == 0 {
			return nil, nil, nil
		}
		wrote = map[string]string{}
		for k, d := range deltas {
			e := pollplan.NewEstimate(l.halfLife)
			if s, ok := cur[k]; ok {
				if err := e.UnmarshalBinary([]byte(s)); err != nil {
					e = pollplan.NewEstimate(l.halfLife) // unreadable: start again
				}
			}
			if err := e.Merge(d); err != nil {
				return nil, nil, err
			}
			b, err := e.MarshalBinary()
			if err != nil {
				return nil, nil, err
			}
			wrote[k] = string(b)
		}
		return wrote, swept, nil
	}
	var err error
	for try := range syncTries {
		if fields, newVer, err = l.shared.Merge(ctx, version, merge); !errors.Is(err, store.ErrContended) {
			break
		}
		// Another pod wrote in between: read and add again, after a
		// short random pause so that contending pods spread out.
		t := time.NewTimer(rand.N(time.Duration(try+1) * 10 * time.Millisecond))
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		l.mu.Lock()
		for k, d := range deltas {
			if e := l.deltas[k]; e != nil {
				_ = d.Merge(e)
			}
			l.deltas[k] = d
		}
		l.mu.Unlock()
		return fmt.Errorf("adding %d learned estimates to Redis: %w", len(deltas), err)
	}
	l.apply(fields, wrote, swept, newVer)
	return nil
}

// sweepable is the fields of the hash whose estimates hold less than one
// observation now (or cannot be read), and that no delta adds to.
func (l *Learner) sweepable(fields map[string]string, deltas map[string]*pollplan.Estimate) []string {
	now := l.now()
	var out []string
	for k, s := range fields {
		if deltas[k] != nil {
			continue
		}
		e := pollplan.NewEstimate(l.halfLife)
		if e.UnmarshalBinary([]byte(s)) != nil || e.Weight(now) < 1 {
			out = append(out, k)
		}
	}
	return out
}

// apply brings the view to the hash as this sync left it: fields (when
// read) with wrote and without swept, at version newVer; and replans the
// keys that changed.
func (l *Learner) apply(fields, wrote map[string]string, swept []string, newVer int64) {
	now := l.now()
	l.mu.Lock()
	view := l.view
	if fields != nil {
		// Read whole: the view is the hash.
		next := map[string]*entry{}
		for k, s := range fields {
			next[k] = keep(view[k], s)
		}
		view = next
	}
	for k, s := range wrote {
		view[k] = keep(view[k], s)
	}
	for _, k := range swept {
		delete(view, k)
	}
	// The hash was read whole, or was at the view's version (plus this
	// sync's own write): the view is the hash at newVer.
	l.version = newVer
	var stale []string
	for k, e := range view {
		if e.sched == nil || now.Sub(e.planned) >= replanAfter {
			stale = append(stale, k)
		}
	}
	l.view = view
	l.mu.Unlock()
	// Plans take milliseconds each: compute them outside the lock.
	for _, k := range stale {
		l.mu.Lock()
		e := l.view[k]
		l.mu.Unlock()
		if e == nil || e.est == nil {
			continue
		}
		s := l.plan.Schedule(e.est, now)
		l.mu.Lock()
		if cur := l.view[k]; cur != nil && cur.raw == e.raw {
			cur.sched, cur.planned = s, now
		}
		l.mu.Unlock()
	}
}

// keep is the view's entry for the field value s: e itself when s has not
// changed (its schedule stands), else a new entry to plan.
func keep(e *entry, s string) *entry {
	if e != nil && e.raw == s {
		return e
	}
	est := pollplan.NewEstimate(DefaultHalfLife)
	if est.UnmarshalBinary([]byte(s)) != nil {
		est = nil
	}
	return &entry{raw: s, est: est}
}

// Estimates is the shared estimates as last synced, by key: what
// `mxfleet` tools and tests look at. The estimates are copies.
func (l *Learner) Estimates() map[string]*pollplan.Estimate {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*pollplan.Estimate{}
	for k, e := range l.view {
		if e.est != nil {
			c := pollplan.NewEstimate(l.halfLife)
			if c.UnmarshalBinary([]byte(e.raw)) == nil {
				out[k] = c
			}
		}
	}
	return out
}

// Plan is the plan of key's schedule as last computed (empty when not
// learned), and whether the key is learned.
func (l *Learner) Plan(key string) (pollplan.Plan, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.view[key]; e != nil && e.sched != nil && e.sched.Learned() {
		return e.sched.Plan(), true
	}
	return pollplan.Plan{}, false
}
