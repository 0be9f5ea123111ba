package metrics

import (
	"strings"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// Label values known up front. New exports a zero series for each of them,
// so that a fresh fleet exposes every series its dashboard and alerts
// read (rate() over a series that does not exist yet is no data, not 0,
// and absent() cannot tell a quiet fleet from a dead one).
var (
	// Kinds of jobs.
	Kinds = []string{string(store.KindVerify), string(store.KindIdentify)}
	// EndStates a job ends in.
	EndStates = []string{string(store.StateSucceeded), string(store.StateFailed)}
	// ParkedOutcomes: how a wait on an MFA challenge ended.
	ParkedOutcomes = []string{ParkedAnswered, ParkedExpired, ParkedEnded}
	// HandlerCodes are the handlers package's Code* error codes. The
	// handlers import this package, so they are listed here;
	// TestKnownCodesMatchHandlers fails when the two drift apart.
	HandlerCodes = []string{"timeout", "challenge_expired", "no_results", "unknown_institution", "unknown_credential",
		"missing_credential", "unsupported", "resume_refused", "mx_unavailable", "mx_error", "retries_exhausted",
		"bad_payload", "task_lost"}
	// Repairs are the sweeper's repairs (handlers' repair); checked
	// against the handlers' source by TestKnownRepairsMatchHandlers.
	Repairs = []string{"poll", "trigger", "expire", "claim_released", "resumed", "task_lost"}
)

// How a parked wait ended (mxfleet_challenge_parked_seconds{outcome}).
const (
	ParkedAnswered = "answered" // answers accepted, the job runs on
	ParkedExpired  = "expired"  // ended challenge_expired
	ParkedEnded    = "ended"    // ended otherwise (deadline, MX refused the answers, ...)
)

// Reasons mx.Classify gives besides the lower-cased connection statuses.
const (
	reasonNoStatus      = "no_connection_status"
	reasonUnknownStatus = "unknown_connection_status"
)

// ErrorCodes is every error code a failed job can carry: the handlers'
// codes, then the reasons of mx.Classify (the lower-cased statuses whose
// outcome is Failed or RetryLater, a missing and an unknown status).
func ErrorCodes() []string {
	codes := append([]string(nil), HandlerCodes...)
	seen := make(map[string]bool, len(codes)+len(mx.Statuses))
	for _, c := range codes {
		seen[c] = true
	}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	for _, s := range mx.Statuses {
		if s.Outcome == mx.Failed || s.Outcome == mx.RetryLater {
			add(strings.ToLower(s.Status))
		}
	}
	add(reasonNoStatus)
	add(reasonUnknownStatus)
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
	for _, r := range Repairs {
		m.jobsRepaired.WithLabelValues(r)
	}
}
