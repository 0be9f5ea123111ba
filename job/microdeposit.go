package job

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Micro-deposit jobs (KindMicrodeposit) verify an account by MX's
// micro-deposit flow instead of a member's credentials: MX makes two small
// deposits into the account, the end user reads the two amounts on it and
// gives them, and MX verifies them. The job reuses the verify job's
// machinery where it fits:
//
//   - the record's MemberGUID holds the micro-deposit's guid (MIC-…: MX
//     makes no member for it), so the member index finds the job from MX's
//     microdeposit webhook, and ConnectionStatus holds the micro-deposit's
//     status (INITIATED, REQUESTED, DEPOSITED, VERIFIED, …);
//   - its polls are mx:poll tasks (PollDue, the sweeper's poll repair and
//     the webhooks' wake work unchanged), every MicrodepositPoll;
//   - at DEPOSITED it parks as challenged on two challenges, AmountGUID1
//     and AmountGUID2: an answer of the two amounts is an MFA answer
//     (sealed, claimed exactly once by Claim, noted when refused); each
//     round is one attempt;
//   - the amounts sent, the job runs again and reads the micro-deposit
//     until MX gives its verdict, as MX asks ("The verification has not
//     successfully completed until the status is VERIFIED. Poll the read
//     microdeposit endpoint until you see this status or an error state",
//     verifyMicrodeposit's description). A verdict already in the verify's
//     answer is used. VERIFIED succeeds; DENIED (MX's Connect widget:
//     "User entered incorrect amounts", and it asks for the amounts again:
//     "One or more of the amounts was incorrect. Please try again") parks
//     the job on the next round, saying so, up to MicrodepositAttempts;
//     PREVENTED ("After the third incorrect attempt, the microdeposit
//     moves to a PREVENTED status", MX's micro-deposits guide), ERRORED,
//     CONFLICTED, REJECTED or MX's 404 end it. A round parked at DENIED
//     cannot tell MX's new verdict from the old one by the status: as
//     MX's widget does (Verifying.js), the job reads every MDVerifyEvery
//     and goes by the status as it stands after MDVerifyReads reads;
//     nothing is reported refused before MX shows DENIED;
//   - the parked round expires at the job's deadline (MicrodepositDeadline,
//     days): microdeposit_expired; its expiry task reads the micro-deposit
//     every MicrodepositCheck meanwhile, so MX's soft delete (404) or an
//     end status ends the job too.
//
//	state       event                          function        → state       enqueues / notifies
//	pending     start: micro-deposit created   MDStarted       → running     poll 1
//	running     poll n: INITIATED, REQUESTED   MDPolled        → running     poll n+1 (MicrodepositPoll)
//	running     poll n: DEPOSITED              MDPolled        → challenged  expire:<round>, challenged event
//	running     poll n: VERIFIED               MDPolled,MDSucceed → succeeded succeeded event (numbers from MX)
//	running     poll n: ERRORED/PREV./…/404    MDPolled        → failed      failed event (microdeposit_<status>)
//	challenged  answer claims round r          Claim           → challenged  (claim recorded)
//	challenged  MX answers: VERIFIED           MDAnswered      → succeeded   succeeded event
//	challenged  MX answers: DENIED (was DEP.)  MDAnswered      → challenged  round r+1, expire:<r+1>, challenged event
//	challenged  MX answers: no verdict yet     MDAnswered      → running     poll Polls+1 (MDVerifyEvery)
//	challenged  MX answers: PREVENTED/… /404   MDAnswered      → failed      failed event (microdeposit_<status>)
//	running     poll n after round r: DEPOSITED, MDPolled      → running     poll n+1 (MDVerifyEvery, then MicrodepositPoll)
//	            or DENIED unchanged, < MDVerifyReads reads
//	running     poll n after round r: VERIFIED MDPolled,MDSucceed → succeeded succeeded event
//	running     poll n after round r: DENIED   MDPolled        → challenged  round r+1, expire:<r+1>, challenged event
//	            (changed, or MDVerifyReads reads), r < limit
//	running     … DENIED at the limit          MDPolled        → failed      failed event (microdeposit_prevented)
//	challenged  check: VERIFIED / end / 404    MDChecked       → succeeded / failed
//	challenged  expiry due, no answer queued   MDExpire        → failed      failed event (microdeposit_expired)
//	pending     verify start: unsupported,     MDFellBack      → running     poll 1 (then the rows above;
//	            fallback account given                                       Via microdeposit, kind verify)

// KindMicrodeposit: account and routing numbers verified by micro-deposits.
const KindMicrodeposit Kind = "microdeposit"

// Error codes of micro-deposit jobs: MX's end statuses, MX's soft delete
// (or the amounts not given by the deadline), and statuses the fleet
// cannot read. DENIED is no end: MX takes the amounts again.
const (
	CodeMicrodepositErrored       = "microdeposit_errored"    // MX could not make the deposits
	CodeMicrodepositPrevented     = "microdeposit_prevented"  // wrong amounts too many times
	CodeMicrodepositConflicted    = "microdeposit_conflicted" // MX: another micro-deposit request exists for the account
	CodeMicrodepositRejected      = "microdeposit_rejected"   // MX or its provider refused the request
	CodeMicrodepositExpired       = "microdeposit_expired"    // MX deleted it (21 days), or no amounts by the deadline
	CodeNoMicrodepositStatus      = "no_microdeposit_status"
	CodeUnknownMicrodepositStatus = "unknown_microdeposit_status"
)

// The two challenges a parked micro-deposit job answers: the amounts, in
// dollars ("0.07"), in either order.
const (
	AmountGUID1 = "amount_1"
	AmountGUID2 = "amount_2"
)

// Defaults of the micro-deposit settings (Config).
const (
	DefaultMicrodepositPoll     = time.Minute         // MX refreshes a micro-deposit's status every minute
	DefaultMicrodepositDeadline = 14 * 24 * time.Hour // deposits take 1-3 business days; MX deletes after 21
	DefaultMicrodepositAttempts = 3                   // MX's: the third wrong pair makes it PREVENTED
	MaxMicrodepositPoll         = time.Hour
)

// How a job reads MX's verdict on amounts it sent: MX's Connect widget
// (Verifying.js) reads the micro-deposit every 3 seconds until its status
// differs from the one the amounts were given at, and after the sixth
// read goes by the status as it stands.
const (
	MDVerifyEvery = 3 * time.Second
	MDVerifyReads = 6
)

// MDPoll is the poll interval of a running micro-deposit job (0: the
// default; capped at MaxMicrodepositPoll).
func (c Config) MDPoll() time.Duration {
	return min(cmp.Or(c.MicrodepositPoll, DefaultMicrodepositPoll), MaxMicrodepositPoll)
}

// MDDeadline is how long a micro-deposit job may take (0: the default).
func (c Config) MDDeadline() time.Duration {
	return cmp.Or(c.MicrodepositDeadline, DefaultMicrodepositDeadline)
}

// MDAttempts is how many pairs of amounts a job sends MX (0: MX's 3).
func (c Config) MDAttempts() int { return cmp.Or(c.MicrodepositAttempts, DefaultMicrodepositAttempts) }

// MDCheck is how often a parked micro-deposit job reads MX: ten poll
// intervals (the amounts come from the end user; MX's own changes then are
// ends: its soft delete, PREVENTED).
func (c Config) MDCheck() time.Duration { return 10 * c.MDPoll() }

// MDRead is one read of a micro-deposit: its status, or Gone (MX's 404:
// deleted, or soft-deleted after 21 days).
type MDRead struct {
	Status string
	Gone   bool
}

// ClassifyMD reads a micro-deposit status: InProgress (PREINITIATED,
// INITIATED, REQUESTED), NeedsUser (DEPOSITED, and DENIED: the amounts
// given were incorrect and MX takes others), Succeeded (VERIFIED) or
// Failed with its code. The statuses are MX's (its Connect widget's
// src/views/microdeposits/const.js lists all ten).
func ClassifyMD(st MDRead) Classification {
	s := strings.ToUpper(strings.TrimSpace(st.Status))
	switch {
	case st.Gone:
		return Classification{Outcome: Failed, Reason: CodeMicrodepositExpired}
	case s == "PREINITIATED" || s == "INITIATED" || s == "REQUESTED":
		return Classification{Outcome: InProgress}
	case s == "DEPOSITED" || s == "DENIED":
		return Classification{Outcome: NeedsUser}
	case s == "VERIFIED":
		return Classification{Outcome: Succeeded}
	case s == "ERRORED" || s == "PREVENTED" || s == "CONFLICTED" || s == "REJECTED":
		return Classification{Outcome: Failed, Reason: "microdeposit_" + strings.ToLower(s)}
	case s == "":
		return Classification{Outcome: Failed, Reason: CodeNoMicrodepositStatus}
	}
	return Classification{Outcome: Failed, Reason: CodeUnknownMicrodepositStatus}
}

// mdDenied tells whether st, read reads reads after the amounts were sent
// (0: the verify's own answer) with the job's last known status before,
// is MX's DENIED verdict on them: DENIED where the status was another, or
// DENIED still after MDVerifyReads reads (MX's widget's window).
func mdDenied(before string, st MDRead, reads int) bool {
	return strings.EqualFold(strings.TrimSpace(st.Status), "DENIED") &&
		(!strings.EqualFold(strings.TrimSpace(before), "DENIED") || reads >= MDVerifyReads)
}

// mdVerifyNext is when a job waiting for MX's verdict reads next, after
// reads reads.
func (c Config) mdVerifyNext(reads int) time.Duration {
	if reads < MDVerifyReads {
		return min(MDVerifyEvery, c.MDPoll())
	}
	return c.MDPoll()
}

// MDVerifying tells whether the job sent the amounts of its round and
// waits for MX's verdict on them (running after a round was parked).
func (r *Record) MDVerifying() bool {
	return r.Microdeposit() && r.State == StateRunning && r.Round > 0
}

// mdMessage says why a micro-deposit job ends with code.
func mdMessage(code string, st MDRead) string {
	if st.Gone {
		return "MX no longer has the micro-deposit (deleted, or soft-deleted after 21 days waiting)"
	}
	return fmt.Sprintf("MX micro-deposit status %s", cmp.Or(st.Status, `""`))
}

// MDStarted records the micro-deposit the start created (or found): the
// job runs, with its own deadline, and polls.
func MDStarted(r *Record, user, md, status string, now time.Time, cfg Config) Decision {
	return Decision{
		Tasks: []Task{pollTask(r.ID, r.Polls+1, now.Add(cfg.MDPoll()))},
		Change: func(cur *Record) error {
			if cur.State != StatePending {
				return ErrNoChange
			}
			cur.State, cur.Deadline, cur.Attempt, cur.Triggered, cur.TriggeredAt = StateRunning, now.Add(cfg.MDDeadline()), 1, 1, now
			cur.UserGUID, cur.MemberGUID, cur.ConnectionStatus = cmpOr(cur.UserGUID, user), md, status
			return nil
		},
	}
}

// MDFellBack records a verify job's switch to micro-deposits: MX said
// the institution does not support instant verification on member (code
// unsupported), the job carries a fallback account, and the start created
// (or found) the micro-deposit md. The job keeps its kind (verify) and
// runs on as a micro-deposit job does (Record.Microdeposit): MemberGUID is
// now the micro-deposit's guid, InstantMemberGUID the member MX could not
// verify on. In the same write as MDStarted's, so a start that runs again
// finds the job running and does nothing.
func MDFellBack(r *Record, user, member, md, status string, now time.Time, cfg Config) Decision {
	d := MDStarted(r, user, md, status, now, cfg)
	start := d.Change
	d.Change = func(cur *Record) error {
		if cur.Fallback != KindMicrodeposit || cur.Via != "" {
			return ErrNoChange
		}
		if err := start(cur); err != nil {
			return err
		}
		cur.Via, cur.InstantMemberGUID = KindMicrodeposit, member
		return nil
	}
	return d
}

// Microdeposit tells whether the job runs micro-deposit steps: a
// micro-deposit job, or a verify job that fell back to micro-deposits.
func (r *Record) Microdeposit() bool { return r.Kind == KindMicrodeposit || r.Via == KindMicrodeposit }

// MDPolled decides what poll n does with the micro-deposit it read: poll
// again, park for the amounts, end; VERIFIED needs the results first
// (MDSucceed). After a round's amounts were sent, it reads MX's verdict
// on them.
func MDPolled(r *Record, n int, st MDRead, now time.Time, cfg Config) Decision {
	read := Read{ConnectionStatus: st.Status}
	c := ClassifyMD(st)
	verifying := r.MDVerifying()
	switch {
	case c.Outcome == Succeeded:
		return Decision{Need: NeedResults}
	case c.Outcome == Failed && verifying:
		return end(r, n, read, r.SawRunning, c.Reason, mdMessage(c.Reason, st)+fmt.Sprintf(" after the amounts of attempt %d", r.Round))
	case c.Outcome == Failed:
		return end(r, n, read, r.SawRunning, c.Reason, mdMessage(c.Reason, st))
	case verifying && mdDenied(r.ConnectionStatus, st, n-r.PollMark):
		return mdRefused(r, r.ResumeClaim, st, now, cfg, func(then func(*Record)) func(*Record) error {
			return polled(n, read, r.SawRunning, then)
		})
	case verifying:
		return Decision{Tasks: []Task{pollTask(r.ID, n+1, now.Add(cfg.mdVerifyNext(n-r.PollMark)))}, Change: polled(n, read, r.SawRunning, nil)}
	case c.Outcome == InProgress:
		return Decision{Tasks: []Task{pollTask(r.ID, n+1, now.Add(cfg.MDPoll()))}, Change: polled(n, read, r.SawRunning, nil)}
	}
	round, exp := r.Round+1, cmp.Or(r.Deadline, now.Add(cfg.MDDeadline()))
	return Decision{
		Tasks: []Task{expireTask(r.ID, round, mdNextCheck(now, exp, cfg))},
		Event: &Event{State: StateChallenged, Round: round, ConnectionStatus: st.Status},
		Change: polled(n, read, r.SawRunning, func(cur *Record) {
			cur.State, cur.Round, cur.ChallengeExp, cur.ResumeClaim, cur.ResumeSent = StateChallenged, round, exp, "", false
			cur.ParkedAt = now
		}),
	}
}

// MDSucceed ends a job whose poll n read VERIFIED (the results are the
// handler's payload).
func MDSucceed(r *Record, n int) Decision {
	return Decision{
		Event:  &Event{State: StateSucceeded, ConnectionStatus: "VERIFIED"},
		Change: polled(n, Read{ConnectionStatus: "VERIFIED"}, r.SawRunning, func(cur *Record) { cur.State, cur.Error = StateSucceeded, nil }),
	}
}

// mdEnd ends a parked job as succeeded (VERIFIED) or failed, if guard
// still holds on the record as it stands.
func mdEnd(r *Record, st MDRead, code, msg string, guard func(*Record) bool) Decision {
	if code != "" {
		d := Fail(r, code, msg, guard)
		end := d.Change
		d.Change = func(cur *Record) error {
			if err := end(cur); err != nil {
				return err
			}
			cur.ConnectionStatus = cmpOr(st.Status, cur.ConnectionStatus)
			return nil
		}
		return d
	}
	return Decision{
		Event: &Event{State: StateSucceeded, ConnectionStatus: "VERIFIED"},
		Change: func(cur *Record) error {
			if cur.State.Terminal() || !guard(cur) {
				return ErrNoChange
			}
			cur.State, cur.Error, cur.ConnectionStatus, cur.ResumeClaim = StateSucceeded, nil, "VERIFIED", ""
			return nil
		},
	}
}

// MDAnswered decides on a parked job whose round claim's amounts MX has
// answered (st: the micro-deposit in the verify's answer, or as read on a
// retry that found the amounts sent already): a verdict there is used
// (VERIFIED succeeds, DENIED where the round was parked at DEPOSITED
// parks the next round, an end status fails); without one, the job runs
// and reads the micro-deposit until MX gives it (MDPolled).
func MDAnswered(r *Record, claim string, st MDRead, now time.Time, cfg Config) Decision {
	ours := func(cur *Record) bool { return cur.State == StateChallenged && cur.ResumeClaim == claim }
	c := ClassifyMD(st)
	switch {
	case c.Outcome == Succeeded:
		return mdEnd(r, st, "", "", ours)
	case c.Outcome == Failed:
		return mdEnd(r, st, c.Reason, mdMessage(c.Reason, st)+" after the amounts of attempt "+fmt.Sprint(r.Round), ours)
	case mdDenied(r.ConnectionStatus, st, 0):
		return mdRefused(r, claim, st, now, cfg, func(then func(*Record)) func(*Record) error {
			return func(cur *Record) error {
				if !ours(cur) {
					return ErrNoChange
				}
				then(cur)
				return nil
			}
		})
	}
	d := Resumed(r, claim, []string{AmountGUID1, AmountGUID2}, now, cfg)
	d.Tasks = []Task{pollTask(r.ID, r.Polls+1, now.Add(cfg.mdVerifyNext(0)))}
	return d
}

// mdRefused is MX's DENIED on the amounts of the job's round (claim's):
// the job parks on the next round and says why, or at the fleet's limit
// ends microdeposit_prevented. guarded wraps the change in the caller's
// guard.
func mdRefused(r *Record, claim string, st MDRead, now time.Time, cfg Config, guarded func(then func(*Record)) func(*Record) error) Decision {
	if r.Round >= cfg.MDAttempts() {
		msg := fmt.Sprintf("MX found the amounts incorrect %d times (the fleet's limit, MXFLEET_MICRODEPOSIT_ATTEMPTS)", r.Round)
		return Decision{
			Event: &Event{State: StateFailed, ConnectionStatus: st.Status, Error: &Error{Code: CodeMicrodepositPrevented, Message: msg}},
			Change: guarded(func(cur *Record) {
				cur.Fail(CodeMicrodepositPrevented, msg)
				cur.ConnectionStatus = st.Status
			}),
		}
	}
	round, exp := r.Round+1, cmp.Or(r.ChallengeExp, r.Deadline, now.Add(cfg.MDDeadline()))
	reason := fmt.Sprintf("MX says the amounts of attempt %d were incorrect (DENIED): the job waits for the amounts again (attempt %d of %d)",
		r.Round, round, cfg.MDAttempts())
	return Decision{
		Tasks: []Task{expireTask(r.ID, round, mdNextCheck(now, exp, cfg))},
		Event: &Event{State: StateChallenged, Round: round, ConnectionStatus: st.Status},
		Change: guarded(func(cur *Record) {
			cur.LastRefusedAnswer = &RefusedAnswer{AnswerID: claim, Reason: reason, At: now.UTC()}
			cur.State, cur.Round, cur.ChallengeExp, cur.ParkedAt = StateChallenged, round, exp, now
			cur.ResumeClaim, cur.ResumeBy, cur.ResumeSent, cur.ConnectionStatus = "", "", false, st.Status
		}),
	}
}

// MDChecked decides on a parked job's read of its micro-deposit before
// the round is due (ok false: the read failed): VERIFIED (the amounts of a
// lost answer task reached MX) succeeds, an end status or MX's delete
// fails it, otherwise the task runs again at the next check or the expiry.
func MDChecked(r *Record, round int, st MDRead, ok bool, now time.Time, cfg Config) Decision {
	open := func(cur *Record) bool { return RoundOpen(cur, round) }
	if ok {
		switch c := ClassifyMD(st); c.Outcome {
		case Succeeded:
			return mdEnd(r, st, "", "", open)
		case Failed:
			return mdEnd(r, st, c.Reason, mdMessage(c.Reason, st)+" while the job waited for the amounts", open)
		}
	}
	return Decision{Wait: &Wait{Until: mdNextCheck(now, r.ChallengeExp, cfg),
		Reason: fmt.Sprintf("job %s: amounts of round %d due by %s; MX shows %q", r.ID, round, r.ChallengeExp.UTC().Format(time.RFC3339), st.Status)}}
}

// MDExpire ends the job microdeposit_expired if round is still open.
func MDExpire(r *Record, round int) Decision {
	return Fail(r, CodeMicrodepositExpired, "the micro-deposit amounts were not given before the job's deadline",
		func(cur *Record) bool { return RoundOpen(cur, round) })
}

// mdNextCheck is a parked micro-deposit job's next read of MX: the next
// check, or exp.
func mdNextCheck(now, exp time.Time, cfg Config) time.Time {
	if at := now.Add(cfg.MDCheck()); at.Before(exp) {
		return at
	}
	return exp
}
