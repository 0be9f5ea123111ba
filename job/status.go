package job

import "strings"

// Outcome is what a member's connection status means for a running
// verify or identify job. This is the fleet's policy; package mx only
// reads the status over HTTP.
type Outcome int

const (
	// InProgress: MX is still working; poll again later.
	InProgress Outcome = iota
	// NeedsUser: the member is CHALLENGED; park the job until the end user
	// answers the MFA challenges.
	NeedsUser
	// Succeeded: the job finished and its results can be read.
	Succeeded
	// Failed: the job ended for good; a new job needs the end user to act
	// (new credentials, contact the institution) or cannot work at all.
	Failed
	// RetryLater: the job failed, but the same job started again later may
	// succeed without the end user (institution trouble at MX's side).
	RetryLater
)

func (o Outcome) String() string {
	switch o {
	case InProgress:
		return "in_progress"
	case NeedsUser:
		return "needs_user"
	case Succeeded:
		return "succeeded"
	case Failed:
		return "failed"
	case RetryLater:
		return "retry_later"
	}
	return "unknown"
}

// StatusInfo describes one documented connection_status.
type StatusInfo struct {
	Status  string  // MX's value, e.g. "CHALLENGED"
	ID      int     // MX's connection_status_id
	Outcome Outcome // when the member is no longer being aggregated
	Meaning string
}

// Statuses is every connection_status MX documents for v20111101, in MX's
// id order, with the outcome the fleet gives it once is_being_aggregated is
// false. While is_being_aggregated is true every status but CHALLENGED is
// InProgress: MX is still running the job, as the Connect widget assumes.
var Statuses = []StatusInfo{
	{"CREATED", 0, InProgress, "new member, not aggregated yet"},
	{"PREVENTED", 1, Failed, "MX stopped after 3 failed credential attempts; needs new credentials"},
	{"DENIED", 2, Failed, "credentials refused by the institution"},
	{"CHALLENGED", 3, NeedsUser, "MFA challenge waiting for the end user"},
	{"REJECTED", 4, Failed, "MFA answer refused; start over with the end user"},
	{"LOCKED", 5, Failed, "the institution locked the account; the user must contact it"},
	{"CONNECTED", 6, Succeeded, "authenticated and aggregated"},
	{"IMPEDED", 7, Failed, "the user must act on the institution's website"},
	{"RECONNECTED", 8, InProgress, "moved to a new data source; aggregation continues"},
	{"DEGRADED", 9, RetryLater, "repeated failures at the institution; try again later"},
	{"DISCONNECTED", 10, RetryLater, "failing for two weeks; try again later, then escalate"},
	{"DISCONTINUED", 11, Failed, "MX no longer supports this institution"},
	{"CLOSED", 12, Failed, "the member was closed"},
	{"DELAYED", 13, InProgress, "taking longer than usual; keep polling until the deadline"},
	{"FAILED", 14, RetryLater, "the job failed without connecting"},
	{"UPDATED", 15, InProgress, "credentials updated, not yet connected"},
	{"DISABLED", 16, Failed, "aggregation disabled for this member"},
	{"IMPORTED", 17, Failed, "MX holds no credentials for this member"},
	{"RESUMED", 18, InProgress, "MFA answer received, being checked"},
	{"EXPIRED", 19, Failed, "MFA was not answered in time"},
	{"IMPAIRED", 20, Failed, "required credentials are missing"},
	{"PENDING", 21, InProgress, "OAuth not completed yet; bounded by the job deadline"},
}

var statusByName = func() map[string]StatusInfo {
	m := make(map[string]StatusInfo, len(Statuses))
	for _, s := range Statuses {
		m[s.Status] = s
	}
	return m
}()

// Classification is the fleet's reading of a member status.
type Classification struct {
	Outcome Outcome
	// Reason is the job error code for Failed and RetryLater: the
	// lower-cased status ("denied", "degraded"), "no_connection_status"
	// for a member without one, "unknown_connection_status" otherwise.
	Reason string
}

// Classify reads a connection_status together with is_being_aggregated.
func Classify(status string, beingAggregated bool) Classification {
	status = strings.ToUpper(strings.TrimSpace(status))
	if status == "CHALLENGED" {
		return Classification{Outcome: NeedsUser}
	}
	if beingAggregated {
		return Classification{Outcome: InProgress}
	}
	if status == "" {
		return Classification{Outcome: Failed, Reason: CodeNoStatus}
	}
	info, ok := statusByName[status]
	if !ok {
		return Classification{Outcome: Failed, Reason: CodeUnknownStatus}
	}
	c := Classification{Outcome: info.Outcome}
	if c.Outcome == Failed || c.Outcome == RetryLater {
		c.Reason = strings.ToLower(status)
	}
	return c
}
