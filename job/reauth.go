package job

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Re-authentication: a job given an existing member's guid and new
// credentials (Record.Reauth) gives the member the credentials (MX's
// update member) and then runs verify or identify on it: same member
// guid, no new member.
//
// The start records the update (CredsUpdated, with Started's progress, in
// the write that records the MX job started, or alone when a later step
// fails), so a run after it does not update again. A crash between MX
// taking the credentials and that write sends them again: harmless, the
// same credentials on the same member (v20111101 skips aggregation; in
// v20250224 MX's aggregation is either still running, which the update
// joins or MX refuses with 409, a wait, or it ended and one more
// aggregation runs with the credentials it already had).
//
// v20111101 sends skip_aggregation, so verify or identify follows at
// once. v20250224's update member has no skip_aggregation and MX starts an
// aggregation "automatically when a member's credentials are updated"
// (docs.mx.com/api-reference/nexus/reference/update-member): the job polls
// that aggregation first (Prelude), like its own MX job (an MFA challenge
// parks the job, a failing status ends it with its code), and once it
// reads CONNECTED, Preluded starts verify or identify as the next
// attempt. A 409 meanwhile (another job runs on the member) is a wait
// (Busy), bounded by the job deadline, never a failure.

// CodeUnknownMember: MX has no such member for the job's user (a
// re-authentication's member guid).
const CodeUnknownMember = "unknown_member"

// ReauthCodes are the error codes after which the end user's new
// credentials may connect the member: a job naming the member and new
// credentials re-authenticates it (ReauthHint says so in the message).
var ReauthCodes = []string{"denied", "prevented", "impaired", "rejected", CodeChallengeExpired}

// ReauthHint is msg, for a code of ReauthCodes followed by how to send
// new credentials for the member (its guid when known). Record.Fail adds
// it to every failure, so each failing path has it.
func ReauthHint(code, msg, member string) string {
	if !slices.Contains(ReauthCodes, code) {
		return msg
	}
	if member == "" {
		return msg + "; new credentials can be sent for the same member: a job with member.guid and member.credentials"
	}
	return fmt.Sprintf("%s; new credentials can be sent for member %s: a job with member.guid %s and member.credentials (CLI: --member-guid %s --credential NAME=VALUE)",
		msg, member, member, member)
}

// Reauthed is a re-authentication's start progress, applied after then
// (Started) in the same write: MX took the new credentials (updated), and
// in v20250224 the update started the aggregation the first polls follow
// (prelude; set only before the first MX job is recorded).
func Reauthed(updated, prelude bool, then func(*Record) error) func(*Record) error {
	return func(cur *Record) error {
		err := then(cur)
		if err != nil && !errors.Is(err, ErrNoChange) {
			return err
		}
		changed := err == nil
		if cur.Reauth && cur.State == StateRunning {
			if updated && !cur.CredsUpdated {
				cur.CredsUpdated, changed = true, true
			}
			if prelude && !cur.Prelude && cur.Triggered == 0 {
				cur.Prelude, changed = true, true
			}
		}
		if !changed {
			return ErrNoChange
		}
		return nil
	}
}

// Preluded decides on poll n reading CONNECTED after a re-authentication's
// update started MX's own aggregation (Prelude): the new credentials
// connect; start the job's verify or identify now, as the next attempt.
func Preluded(r *Record, n int, st Read, now time.Time) Decision {
	_, saw := Reading(r, n, st)
	return Decision{Tasks: []Task{triggerTask(r.ID, r.Attempt+1, now)},
		Change: polled(n, st, saw, func(cur *Record) { cur.Attempt++; cur.Prelude = false })}
}

// Busy decides on MX's 409 (another job runs on the member) to a
// re-authentication's update, verify or identify: MX is still running the
// aggregation the new credentials started, or one begun before. The task
// runs again after PollInitial (MX's minimum between status reads),
// spending no retry; the deadline, checked at every run, bounds it. Zero
// for any other job (its usual handling).
func Busy(r *Record, now time.Time, cfg Config) Decision {
	if !r.Reauth || r.State.Terminal() {
		return Decision{}
	}
	return Decision{Wait: &Wait{Until: now.Add(cfg.PollInitial),
		Reason: fmt.Sprintf("job %s: another MX job runs on member %s (409); re-authentication waits for it", r.ID, r.MemberGUID)}}
}
