package metrics

import (
	"strings"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// Label values known up front. New exports a zero series for each of them,
// so that a fresh fleet exposes every series its dashboard and alerts
// read (rate() over a series that does not exist yet is no data, not 0,
// and absent() cannot tell a quiet fleet from a dead one).
var (
	// Kinds of jobs.
	Kinds = []string{string(store.KindVerify), string(store.KindIdentify), string(store.KindMicrodeposit)}
	// EndStates a job ends in.
	EndStates = []string{string(store.StateSucceeded), string(store.StateFailed)}
	// ParkedOutcomes: how a wait on an MFA challenge ended.
	ParkedOutcomes = []string{ParkedAnswered, ParkedExpired, ParkedEnded}
	// HandlerCodes are package job's Code* error codes (job.Codes);
	// TestKnownCodesMatchHandlers fails when the two drift apart.
	HandlerCodes = job.Codes
	// Repairs are the sweeper's repairs (job.Repair); checked against its
	// source by TestKnownRepairsMatchHandlers.
	Repairs = []string{"poll", "trigger", "expire", "claim_released", "resumed", "task_lost"}
)

// How a parked wait ended (mxfleet_challenge_parked_seconds{outcome}).
const (
	ParkedAnswered = "answered" // answers accepted, the job runs on
	ParkedExpired  = "expired"  // ended challenge_expired
	ParkedEnded    = "ended"    // ended otherwise (deadline, MX refused the answers, ...)
)

// Whether an MX webhook came before the poll that found a job finished
// (mxfleet_jobs_finished_by_mx_total{webhook}).
const (
	WebhookSeen = "seen"
	WebhookNone = "none"
)

// ErrorCodes is every error code a failed job can carry: package job's
// codes (a missing and an unknown status among them), then the reasons of
// job.Classify (the lower-cased statuses whose outcome is Failed or
// RetryLater).
func ErrorCodes() []string {
	codes := append([]string(nil), HandlerCodes...)
	seen := make(map[string]bool, len(codes)+len(job.Statuses))
	for _, c := range codes {
		seen[c] = true
	}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	for _, s := range job.Statuses {
		if s.Outcome == job.Failed || s.Outcome == job.RetryLater {
			add(strings.ToLower(s.Status))
		}
	}
	return codes
}

// zero creates the series of every known label value at 0.
func (m *Metrics) zero() {
	codes := ErrorCodes()
	for _, kind := range Kinds {
		m.jobsStarted.WithLabelValues(kind)
		m.jobPolls.WithLabelValues(kind)
		m.jobsEnded.WithLabelValues(kind, string(store.StateSucceeded), "")
		for _, code := range codes {
			m.jobsEnded.WithLabelValues(kind, string(store.StateFailed), code)
		}
		for _, state := range EndStates {
			m.jobDuration.WithLabelValues(kind, state)
		}
	}
	for _, o := range ParkedOutcomes {
		m.parkedSeconds.WithLabelValues(o)
	}
	for _, w := range []string{WebhookSeen, WebhookNone} {
		m.finishedByMX.WithLabelValues(w)
	}
	for _, r := range Repairs {
		m.jobsRepaired.WithLabelValues(r)
	}
}
