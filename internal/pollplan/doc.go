// Package pollplan learns how long MX takes and plans when to read a
// member's status. It is pure logic, no Redis, no asynq, no HTTP and no
// clock of its own (every call takes now), so the fleet can share its state
// however it likes and tests can run it on a fake clock.
//
// # The estimate
//
// An Estimate is a histogram of MX's run times for one key: an institution
// and a job kind, and the resume run after MFA answers as a key of its own
// (Key). It has Buckets (64) log-spaced buckets from MinTime (1 s) to
// MaxTime (2 h), each about 15 % wide. Its resolution is relative, like the
// goal. Observations decay exponentially in wall time: an observation
// weighs 1 when made and half that a half-life later (NewEstimate's
// argument; a day suits the fleet). The weights are stored as valued at
// the estimate's time. Observing at a later time first scales every
// weight down to then. Observing at an earlier time, from a pod whose clock
// is behind, adds a smaller weight. Weight is the decayed number of
// observations. A schedule trusts an estimate only from Config.MinWeight
// (50) on, so a key that has gone quiet for a few half-lives falls back
// to the backoff until it has been seen again.
//
// Observations come in two kinds. Observe(d) is for an exact time: MX's
// successfully_aggregated_at (to the second) minus the time the fleet
// asked MX to work, or a webhook's arrival. ObserveBetween(lo, hi) is for
// what polling alone shows: the job was still running at the read lo after
// the start and done at the read hi. It spreads one observation evenly, in
// log time, over [lo, hi]. Learning only from intervals smears the
// estimate by the reads' gaps. The simulation below measures the cost, so
// exact times should be preferred where MX gives them. The simulator sets
// successfully_aggregated_at when any job kind connects. Whether MX
// updates it for verification and identification jobs is not confirmed.
//
// The binary form (MarshalBinary) is a version byte, the half-life, the
// estimate's time, and the non-empty span of buckets as varints in
// sixteenths of an observation. It takes at most 343 bytes whatever the
// contents, and about 40 bytes for a typical key (42 for 500 jobs of a
// log-normal with median 8 s and sigma 0.4).
//
// # Sharing between pods
//
// Merge is additive. Both estimates are valued at the later of their
// times, then added bucket by bucket. That makes merging commutative and
// associative, so pods' contributions add up to the same estimate in any
// order and at any delay: the estimate is a CRDT-like sum of deltas. Like
// a counter without per-node slots, it is not idempotent. A pod must add
// each delta once, never merge a whole shared estimate into another that
// already contains it. Two ways to keep one estimate per key in a Redis
// hash, both exact:
//
//   - Replace under compare-and-set: read the field, Observe, write it back
//     if unchanged (a Lua script or WATCH). This is one round trip per
//     finished job, and the last writer never loses another's observation.
//   - Add deltas: each pod collects its own observations in a local
//     Estimate per key for a few seconds, then merges that delta into the
//     shared one in a single script (decode, Merge, encode) and starts a new
//     delta. This is one write per key per flush instead of one per job,
//     and the recommended way.
//
// The hash is bounded by the keys the fleet sees (institutions × 3 job
// kinds × 2 for resumes, a few hundred bytes each). A sweep can delete any
// field whose Weight has decayed below 1, because it would not be trusted
// any more anyway.
//
// # The schedule
//
// Config.Plan turns an estimate into planned read times t1 < t2 < … tK,
// counted from the moment MX was asked to work (the start or the resume).
// A job whose run ends at T, with t(j-1) < T ≤ tj, is seen done at tj: its
// lateness is tj − T and it made j status reads. Jobs that end after tK go
// to the tail. The plan is chosen to minimise the Config.Quantile of
// lateness, under these constraints:
//
//   - MX's minimum: t1 ≥ 3 s and every gap ≥ 3 s (Config.MinGap).
//   - The budget. Per job (Config.PerJob, the default): the k-th read comes
//     no sooner than 3 s·2^(k-1) (3, 6, 12, 24, 48 s…). A job that ends at T
//     within the plan has then made at most floor(log2(T / 3 s)) + 2 reads,
//     which is the call goal held for every job, the typical one
//     included, up to Config.MaxPolls (12) reads. Typical (PerJob false):
//     at most Budget(median) = floor(log2(median / 3 s)) + 2 reads in all.
//
// For a candidate lateness ℓ, a job is covered when its lateness is at
// most ℓ. The covered share of reads at t1 … tK is the sum over j of
// F(tj) − F(max(t(j-1), tj − ℓ)), F being the estimate's CDF. Each term
// depends only on two consecutive reads, so a dynamic program over 240
// candidate times finds the reads that maximise the covered share: log
// spaced from 3 s to the estimate's largest time, O(K·240²) per ℓ. A
// bisection on ℓ then finds the smallest ℓ whose best plan covers the
// Quantile. That plan is optimal up to the grid and the histogram's
// resolution. The reads are where the distribution's quantiles put them:
// Plan.Quantiles gives F at each. Computing a plan takes 3–8 ms, so the
// fleet should compute it when an estimate changes and share it between
// the key's jobs (Config.Schedule).
//
// The default Quantile is 0.995, not 0.99. A plan that covers exactly
// 99 % leaves 1 % of the jobs in its widest gap or in the tail, and any
// error in the estimate then moves the p99 by tens of seconds. In
// TestLearningFromItsOwnReads, a plan for the p99 that relearned from its
// own reads swung between 10 s and 40 s from round to round at median 15 s
// and sigma 0.5. Planned for the p99.5, it stayed between 10.8 s and 12.5 s.
//
// Schedule.Next takes a job's state: time since MX was asked to work,
// reads since then, and time since the last read. It returns the wait
// before the next read and which rule chose it:
//
//   - Fallback: the estimate is not trusted (MinWeight). The read is the
//     fleet's geometric backoff: Initial·Factor^(k-1), at most Max, after
//     the last read (the jitter is the caller's).
//   - Planned: the first planned time that is not yet served by a read and
//     not among the first Polls ones. No job makes more planned reads than
//     the plan holds, webhooks can run reads early, and a job that fell
//     behind (a busy queue, or a schedule learned mid-job) reads at once as
//     the latest planned time it missed, skipping the others.
//   - Tail: the plan's reads are spent and the job is still running. The
//     backoff continues (its (Polls+1)-th wait).
//
// No read is ever sooner than MinGap after the last one, or after MX was
// asked to work.
//
// # Expected ends
//
// Config.ETA says when a running job should have its result: the p50 and
// p90 of MX's run time given that the run has lasted so far, P(T ≤ t |
// T > elapsed), each moved to the first planned read at or after it (the
// fleet learns the end at a read). It gives none before the estimate is
// trusted (MinWeight), and says Overdue once less than one observation
// lies beyond the time elapsed.
//
// # What it can and cannot reach
//
// The goal is p99 lateness ≤ 1 s + 10 % of the aggregation time,
// with ≤ log2(aggregation / 3 s) + 2 reads. A read at t meets the lateness
// goal only for jobs that end in [(t − 1 s)/1.1, t]. In log time that is a
// window about ln 1.1 ≈ 0.1 wide, up to 0.2 for jobs under 10 s because
// of the 1 s. K reads cover at most K such windows, and 99 % of a
// log-normal's mass spans about 5·sigma in log time. The budget allows 3
// to 6 reads for medians of 8–90 s, so the goal can be met only when sigma
// is below about 0.12 (nearly fixed times). No schedule can meet it at
// real spreads of 0.3 to 0.8: it would need about 50·sigma reads, 15 at
// sigma 0.3 and 25 at sigma 0.5. Webhooks are the way to meet it.
//
// What the plan buys within the budget:
//
//   - It puts every read where the jobs end, not from 3 s on.
//   - Its reads are evenly spaced, which minimises the worst lateness, so
//     p99 lateness is roughly the 0.5–99.5 % span divided by the reads
//     that fit in it.
//   - Compared with the backoff, it uses a third to two thirds of the
//     status calls and keeps every job within the call goal. It cuts the
//     p99 by 1.5–3.4× when the spread is small or moderate (sigma ≤ 0.5 in
//     the figures below), and up to 4.8× when it learned exact times.
//
// What it trades:
//
//   - The backoff reads early and often. With a wide spread, the plan's
//     p50 is worse than the backoff's (sigma 0.5: 15.6 s against 14.0 s;
//     sigma 0.8: 44 s against 18 s).
//   - At sigma 0.8, its p99 is worse than the backoff's too (83 s against
//     63 s). That backoff makes 7.7 reads per job and keeps only 27 % of
//     jobs within the call goal. The plan makes 1.9 reads and keeps all of
//     them, because the per-job budget allows only a few reads before
//     several minutes.
//
// Jobs slower than the estimate expects pay the tail backoff.
//
// TestSimulatedLateness runs 10,000 log-normal jobs per workload through
// the backoff (3 s ×1.5 to 1 m, ±20 % jitter as handlers.pollDelay) and
// through the learned schedule. The schedule learned from 500 jobs, read
// either through the backoff's intervals ("polled") or exactly. Reads run
// at the planned instant, with no queue delay. The per-job figures at
// 2026-11-30 are:
//
//	median, sigma    backoff p50/p99, reads   learned polled            learned exact
//	8 s, 0.4         3.0 / 10.3 s, 2.61       2.7 / 5.7 s, 1.79         2.5 / 5.3 s, 1.70
//	10 s, 0.1        4.4 / 7.2 s, 2.99        2.2 / 3.8 s, 1.99         1.3 / 3.0 s, 2.19
//	15 s, 0.5        4.5 / 19.3 s, 3.64       5.8 / 12.5 s, 1.75        5.6 / 11.8 s, 1.81
//	30 s, 0.3        8.0 / 25.8 s, 4.93       6.3 / 12.4 s, 2.40        5.9 / 11.6 s, 2.43
//	60 s, 0.1        9.8 / 38.7 s, 6.37       5.8 / 11.5 s, 2.66        4.0 / 8.0 s, 2.67
//	60 s, 0.5        14.0 / 57.3 s, 6.45      15.6 / 31.2 s, 2.25       14.8 / 30.2 s, 2.37
//	90 s, 0.8        17.8 / 62.7 s, 7.65      44.1 / 83.4 s, 1.92       44.2 / 83.6 s, 1.91
//
// The learned schedules keep 100 % of jobs within log2(T / 3 s) + 2 reads.
// The backoff keeps 100 % at 8–10 s, 97 % at 15 s, 85 % at 30 s, 62 % and
// 42 % at 60 s, and 27 % at 90 s.
package pollplan
