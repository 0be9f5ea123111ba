package job

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
//
// MX's other 409 to the update is the duplicate member ("Updating an
// existing member's credentials can also return a duplicate member error
// if the user already has another member connected to the same
// institution using the same credentials", MX's "Creating a New Member"
// guide), told from the busy one by the member running no MX job
// (mx.IsDuplicateUpdate): the same credentials get the same answer, so it
// ends the job at once (DuplicateUpdate), never a wait.

// CodeUnknownMember: MX has no such member for the job's user (a
// re-authentication's member guid).
const CodeUnknownMember = "unknown_member"

// CodeDuplicateMember: MX refused a re-authentication's new credentials as
// a duplicate member: the user has another member at the institution with
// those credentials.
const CodeDuplicateMember = "duplicate_member"

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
func Reauthed(updated, prelude bool, then Decision) Decision {
	return Decision{Change: func(cur *Record) error {
		err := then.Change(cur)
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
	}}
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

// DuplicateUpdate decides on MX's duplicate member 409 to a
// re-authentication's update of member (of MX user user, at institution):
// the job fails duplicate_member at once, with no wait and no retry, since
// the same credentials get the same answer. others are the guids of the
// user's other members at that institution, as listed after the 409: MX
// names none in its answer and never returns credentials, so the member
// that has them is named only when it is the user's one other member
// there.
func DuplicateUpdate(r *Record, user, member, institution string, others []string) Decision {
	refused := fmt.Sprintf("MX refused the new credentials for member %s as a duplicate member (409 to the update, no MX job running on the member)", member)
	var msg string
	switch len(others) {
	case 0:
		msg = fmt.Sprintf("%s, but the user has no other member at %s now, so the fleet cannot name the one that had those credentials", refused, institution)
	case 1:
		msg = fmt.Sprintf("%s: the user's member %s at %s already has those credentials; verify or identify that member instead (a job with member.guid %s)",
			refused, others[0], institution, others[0])
	default:
		msg = fmt.Sprintf("%s: one of the user's members at %s (%s) already has those credentials; MX does not say which",
			refused, institution, strings.Join(others, ", "))
	}
	return FailStart(r, user, member, CodeDuplicateMember, msg)
}
