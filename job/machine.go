package job

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// ErrNoChange is what a change returns when the record as it stands
// needs none: another run of the step, or a race, got there first.
var ErrNoChange = errors.New("no change")

// Reasons an answer is refused; the job stays as it was.
var (
	ErrNotParked       = errors.New("job is not parked on a challenge")
	ErrAlreadyAnswered = errors.New("this challenge round was already answered")
)

// Config is the timing of the state machine.
type Config struct {
	PollInitial     time.Duration // first poll after MX starts a job; MX asks for ≥3s
	PollMax         time.Duration // cap of the poll backoff
	PollFactor      float64       // growth of the poll delay
	JobDeadline     time.Duration // a job not ended by then fails "timeout"
	ChallengeTTL    time.Duration // a parked challenge not answered by then fails "challenge_expired"
	RetryLaterDelay time.Duration // wait before restarting a job MX failed transiently
	MaxAttempts     int           // MX jobs started per fleet job, retry-later restarts included
	// ParkCheck is how often a parked job's expiry task reads the
	// member's status before the round is due: 0 means
	// max(ChallengeTTL/5, PollMax); negative: no scheduled checks.
	ParkCheck time.Duration
	// Micro-deposit jobs (microdeposit.go; 0: the defaults there): their
	// poll interval, deadline, and pairs of amounts sent to MX.
	MicrodepositPoll     time.Duration
	MicrodepositDeadline time.Duration
	MicrodepositAttempts int
	// Jitter returns a number in [0, 1) that spreads poll delays ±20 %;
	// nil: 0.5, no spread.
	Jitter func() float64
	// Schedule, when set, may choose the wait before a poll instead of
	// PollDelay (learned schedules: job/schedule.go); nil: PollDelay.
	Schedule Scheduler
}

// StaleReads is how many polls right after MX was asked to work may show
// the member's previous run (MX lagging) before the status is believed.
const StaleReads = 3

// WaitDelay is how long a task waits for a step that is a Redis write away.
const WaitDelay = time.Second

// PollDelay is the wait before the k-th poll since MX was last asked to
// work (k ≥ 1): exponential from PollInitial, capped, ±20% jitter, never
// under PollInitial (MX asks for no more than one status read every 3 s).
func (c Config) PollDelay(k int) time.Duration {
	j := 0.5
	if c.Jitter != nil {
		j = c.Jitter()
	}
	d := float64(c.PollInitial) * math.Pow(c.PollFactor, float64(max(k-1, 0)))
	d = min(d, float64(c.PollMax))
	return max(time.Duration(d*(0.8+0.4*j)), c.PollInitial)
}

// Check is how often a parked job's expiry task reads the member's
// status before the round is due; 0: never.
func (c Config) Check() time.Duration {
	switch {
	case c.ParkCheck < 0:
		return 0
	case c.ParkCheck > 0:
		return c.ParkCheck
	}
	return max(c.ChallengeTTL/5, c.PollMax)
}

// nextCheck is the expiry task's next run after now for a round due at
// exp: the next status check, or exp.
func (c Config) nextCheck(now, exp time.Time) time.Time {
	if d := c.Check(); d > 0 && now.Add(d).Before(exp) {
		return now.Add(d)
	}
	return exp
}

// Decision is what a handler does next, in this order: enqueue Tasks,
// notify Event (when the job has a callback), then write Change as a
// compare-and-set. Drop, Wait and Need end the step before any of that.
type Decision struct {
	Drop   string // nothing to do: the step is done or not due (why, for the log)
	Wait   *Wait  // not yet: run this task again, spending no retry
	Need   Need   // read this from MX first, then decide again
	Tasks  []Task
	Event  *Event
	Change func(*Record) error // on the record as it stands; ErrNoChange: nothing to write
	Repair string              // the sweeper's name for this repair
}

// Wait says when a task runs again: at Until, or after WaitDelay.
type Wait struct {
	Reason string
	Until  time.Time
}

// Need is what a step must read from MX before it can decide.
type Need int

const (
	NeedNothing    Need = iota
	NeedChallenges      // the round's challenges (the status read had none)
	NeedResults         // every page of account numbers or owners
	NeedStatus          // the member's status (a parked job's check)
	NeedAnswers         // whether an answer of the round is still in asynq
)

// Event is the callback a transition announces, enqueued before the write.
type Event struct {
	State            State
	Round            int
	ConnectionStatus string
	Error            *Error
	OAuthWindowURI   string // an authorizing event's URI
}

// Read is one read of the member's status.
type Read struct {
	ConnectionStatus string
	BeingAggregated  bool
	AggregatedAt     string   // RFC 3339
	Challenges       []string // guids of the challenges shown with it
}

func drop(format string, args ...any) Decision { return Decision{Drop: fmt.Sprintf(format, args...)} }
func wait(format string, args ...any) Decision {
	return Decision{Wait: &Wait{Reason: fmt.Sprintf(format, args...)}}
}

// Fail ends a job that has not ended, and for which cond (when not nil)
// holds, as failed with code.
func Fail(r *Record, code, msg string, cond func(*Record) bool) Decision {
	e := &Error{Code: code, Message: msg}
	return Decision{
		Event: &Event{State: StateFailed, ConnectionStatus: r.ConnectionStatus, Error: e},
		Change: func(cur *Record) error {
			if cur.State.Terminal() || cond != nil && !cond(cur) {
				return ErrNoChange
			}
			cur.Fail(code, msg)
			return nil
		},
	}
}

// FailStart is Fail for a start that knows the job's MX user and member
// before its record does: the failed record names them, in the same write
// (a caller reading the failed job sees whom MX knows it by).
func FailStart(r *Record, user, member, code, msg string) Decision {
	return Named(Fail(r, code, msg, nil), user, member)
}

// Overdue fails a job past its deadline; ok is false when it is not.
func Overdue(r *Record, now time.Time, cfg Config) (Decision, bool) {
	if r.Deadline.IsZero() || now.Before(r.Deadline) {
		return Decision{}, false
	}
	return Fail(r, CodeTimeout, fmt.Sprintf("job not finished within its deadline (%s)", cfg.JobDeadline), nil), true
}

// StartDue drops a start whose job has started already; zero: go on.
func StartDue(r *Record) Decision {
	if r.State != StatePending && (r.State != StateRunning || r.Triggered > 0) {
		return drop("already started: the job is %s", r.State)
	}
	return Decision{}
}

// Started is the start's progress: pending → running with its deadline
// and attempt 1, keeping the user and member found (a job that failed on
// the way keeps them too: they name what the job left at MX).
func Started(user, member string, now time.Time, cfg Config) Decision {
	return Decision{Change: func(cur *Record) error {
		switch {
		case cur.State == StatePending:
			cur.State, cur.Deadline, cur.Attempt = StateRunning, now.Add(cfg.JobDeadline), 1
		case cur.State == StateChallenged || (cur.UserGUID != "" || user == "") && (cur.MemberGUID != "" || member == ""):
			return ErrNoChange
		}
		cur.UserGUID = cmpOr(cur.UserGUID, user)
		cur.MemberGUID = cmpOr(cur.MemberGUID, member)
		return nil
	}}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TriggerDue tells whether the trigger of attempt may start its MX job.
func TriggerDue(r *Record, attempt int) Decision {
	switch {
	case r.State == StateAuthorizing && r.OAuthTrigger && attempt == 1:
		// The poll that saw the end user's authorization enqueues this
		// trigger before its write moves the job to running: come back
		// once it has (dropped, the job would have no task left).
		return wait("job %s: authorization not recorded yet, trigger 1 waits", r.ID)
	case r.State == StateRunning && r.Attempt < attempt:
		// The poll that enqueued this trigger has not recorded the
		// attempt yet: come back once it has.
		return wait("job %s: attempt %d not recorded yet", r.ID, attempt)
	case r.State != StateRunning || r.Attempt != attempt:
		return drop("attempt %d is not due: the job is %s at attempt %d", attempt, r.State, r.Attempt)
	case r.Triggered >= attempt:
		return drop("attempt %d was started already", attempt)
	}
	return Decision{}
}

// Triggered records that MX job attempt runs (asked at asked; zero for a
// followed member, which the fleet asks nothing) and schedules the first
// poll. also's change, when set, is applied in the same write (the
// start's progress).
func Triggered(r *Record, attempt int, asked time.Time, status string, also Decision, now time.Time, cfg Config) Decision {
	return Decision{
		Tasks: []Task{pollTask(r.ID, r.Polls+1, now.Add(cfg.firstPoll(r, asked, now)))},
		Change: func(cur *Record) error {
			if also.Change != nil {
				if err := also.Change(cur); err != nil && !errors.Is(err, ErrNoChange) {
					return err
				}
			}
			if cur.State != StateRunning || cur.Triggered >= attempt {
				return ErrNoChange
			}
			cur.Triggered, cur.TriggeredAt, cur.SawRunning, cur.PollMark = attempt, asked, false, cur.Polls
			cur.ConnectionStatus = status
			return nil
		},
	}
}

// PollDue tells whether poll n may read MX.
func PollDue(r *Record, n int) Decision {
	switch {
	case r.State == StateChallenged && r.ResumeClaim != "" && r.Polls < n:
		// An answer has claimed the round but not yet moved the job on
		// (it enqueues this poll first).
		return wait("job %s: resume in progress, poll %d waits", r.ID, n)
	case (r.State == StatePending || r.State == StateRunning && r.Triggered < r.Attempt) && r.Polls < n:
		// The start or trigger that enqueued this poll (it enqueues
		// first) has not recorded the MX job it started yet.
		return wait("job %s: MX job %d not recorded as started yet, poll %d waits", r.ID, max(r.Attempt, 1), n)
	case !pollCurrent(r, n) && !authorizingPoll(r, n):
		return drop("poll %d is not due: the job is %s after %d polls", n, r.State, r.Polls)
	}
	return Decision{}
}

func pollCurrent(r *Record, n int) bool { return r.State == StateRunning && r.Polls < n }

// Reading is how poll n reads a status: its outcome (after the stale
// guard) and whether MX has been seen running since it was asked.
func Reading(r *Record, n int, st Read) (Classification, bool) {
	c := Classify(st.ConnectionStatus, st.BeingAggregated)
	// MX shows a challenged member as being aggregated (its MFA guide):
	// that is the job waiting, not the run the stale guard waits to see.
	saw := r.SawRunning || st.BeingAggregated && c.Outcome != NeedsUser
	if c.Outcome != InProgress && Stale(r, st, saw, n) {
		c = Classification{Outcome: InProgress}
	}
	return c, saw
}

// Stale tells whether a final-looking status right after MX was asked to
// work is the member's previous run: MX has not shown the job running and
// its aggregated_at predates the request. It is believed after StaleReads
// polls. A challenge whose guids were just answered is stale too.
func Stale(r *Record, st Read, sawRunning bool, n int) bool {
	if sawRunning || r.TriggeredAt.IsZero() || n-r.PollMark > StaleReads {
		return false
	}
	if st.ConnectionStatus == "CHALLENGED" {
		return len(st.Challenges) > 0 && slices.Contains(r.Answered, st.Challenges[0])
	}
	at, err := time.Parse(time.RFC3339, st.AggregatedAt)
	return err == nil && at.Before(r.TriggeredAt.Add(-2*time.Second))
}

// polled is poll n's own write: the poll is recorded with the status.
func polled(n int, st Read, saw bool, then func(*Record)) func(*Record) error {
	return func(cur *Record) error {
		if !pollCurrent(cur, n) {
			return ErrNoChange
		}
		cur.Polls, cur.ConnectionStatus, cur.SawRunning = n, st.ConnectionStatus, saw
		if then != nil {
			then(cur)
		}
		return nil
	}
}

// Polled decides what poll n does with the status it read: poll again,
// restart later, or end the job; a challenge or a success needs more from
// MX first (Park, Succeed).
func Polled(r *Record, n int, st Read, now time.Time, cfg Config) Decision {
	if r.State == StateAuthorizing {
		return Authorization(r, n, st, now, cfg)
	}
	c, saw := Reading(r, n, st)
	switch c.Outcome {
	case InProgress:
		return Decision{Tasks: []Task{pollTask(r.ID, n+1, now.Add(cfg.nextPoll(r, n, now)))}, Change: polled(n, st, saw, nil)}
	case NeedsUser:
		if len(st.Challenges) == 0 {
			return Decision{Need: NeedChallenges}
		}
		return Park(r, n, st, len(st.Challenges), now, cfg)
	case Succeeded:
		if r.Prelude {
			return Preluded(r, n, st, now)
		}
		return Decision{Need: NeedResults}
	case RetryLater:
		if r.Attempt < cfg.MaxAttempts {
			// (The restart is the job's own verify or identify: a
			// re-authentication's prelude is over.)
			return Decision{Tasks: []Task{triggerTask(r.ID, r.Attempt+1, now.Add(cfg.RetryLaterDelay))},
				Change: polled(n, st, saw, func(cur *Record) { cur.Attempt++; cur.Prelude = false })}
		}
		return end(r, n, st, saw, c.Reason, fmt.Sprintf("MX connection status %s after %d attempts", st.ConnectionStatus, r.Attempt))
	}
	return end(r, n, st, saw, c.Reason, fmt.Sprintf("MX connection status %s", st.ConnectionStatus))
}

// end fails the job with code, recording poll n.
func end(r *Record, n int, st Read, saw bool, code, msg string) Decision {
	e := &Error{Code: code, Message: msg}
	return Decision{
		Event:  &Event{State: StateFailed, ConnectionStatus: r.ConnectionStatus, Error: e},
		Change: polled(n, st, saw, func(cur *Record) { cur.Fail(code, msg) }),
	}
}

// Park parks the job on the round's challenges (challenges of them) and
// schedules the round's expiry task, which first runs at its first status
// check; with none, the member is no longer challenged: poll again.
func Park(r *Record, n int, st Read, challenges int, now time.Time, cfg Config) Decision {
	_, saw := Reading(r, n, st)
	if challenges == 0 {
		return Decision{Tasks: []Task{pollTask(r.ID, n+1, now.Add(cfg.nextPoll(r, n, now)))}, Change: polled(n, st, saw, nil)}
	}
	round, exp := r.Round+1, now.Add(cfg.ChallengeTTL)
	return Decision{
		Tasks: []Task{expireTask(r.ID, round, cfg.nextCheck(now, exp))},
		Event: &Event{State: StateChallenged, Round: round, ConnectionStatus: st.ConnectionStatus},
		Change: polled(n, st, saw, func(cur *Record) {
			cur.State, cur.Round, cur.ChallengeExp, cur.ResumeClaim, cur.ResumeSent = StateChallenged, round, exp, "", false
			cur.ParkedAt = now
		}),
	}
}

// Succeed ends the job with the results MX returned (results of them).
func Succeed(r *Record, n int, st Read, results int) Decision {
	_, saw := Reading(r, n, st)
	if results == 0 {
		what := "account numbers"
		if r.Kind == KindIdentify {
			what = "account owners"
		}
		return end(r, n, st, saw, CodeNoResults, "MX connected the member but returned no "+what)
	}
	return Decision{
		Event: &Event{State: StateSucceeded, ConnectionStatus: "CONNECTED"},
		Change: polled(n, st, saw, func(cur *Record) {
			cur.State, cur.Error = StateSucceeded, nil
		}),
	}
}

// Claim is an answer's claim on round: the first answer to claim it wins.
// A claim by answerID already there is ErrNoChange (a retry or another
// delivery); a job not parked, or a round claimed or over, refuses it.
func Claim(answerID string, round int, taskID string) Decision {
	return Decision{Change: func(cur *Record) error {
		switch {
		case cur.ResumeClaim == answerID:
			return ErrNoChange
		case cur.State != StateChallenged:
			return fmt.Errorf("%w (state %s)", ErrNotParked, cur.State)
		case cur.ResumeClaim != "":
			return ErrAlreadyAnswered
		case cur.Round != round:
			return fmt.Errorf("%w: the answers are for MFA round %d, the job is at round %d", ErrAlreadyAnswered, round, cur.Round)
		}
		cur.ResumeClaim, cur.ResumeBy = answerID, taskID
		return nil
	}}
}

// Sent records that MX took the claimed answer.
func Sent(claim string) Decision {
	return Decision{Change: func(cur *Record) error {
		if cur.ResumeClaim != claim || cur.ResumeSent {
			return ErrNoChange
		}
		cur.ResumeSent = true
		return nil
	}}
}

// Resumed moves on a job whose round claim answered and MX accepted
// (answered: the round's challenge guids): it runs again and polls.
func Resumed(r *Record, claim string, answered []string, now time.Time, cfg Config) Decision {
	return Decision{
		Tasks: []Task{pollTask(r.ID, r.Polls+1, now.Add(cfg.firstPoll(r, now, now)))},
		Change: func(cur *Record) error {
			if cur.State != StateChallenged || cur.ResumeClaim != claim {
				return ErrNoChange
			}
			cur.Answered = slices.Clone(answered)
			cur.State, cur.ChallengeExp = StateRunning, time.Time{}
			cur.TriggeredAt, cur.SawRunning, cur.PollMark = now, false, cur.Polls
			cur.ResumeSent = true
			cur.LastRefusedAnswer = nil // an answer was accepted since
			return nil
		},
	}
}

// Refused notes on a challenged job that answer answerID was refused and
// why (never an answer value), leaving the job otherwise as it is.
func Refused(answerID, reason string, now time.Time) Decision {
	return Decision{Change: func(cur *Record) error {
		if cur.State != StateChallenged || cur.ResumeClaim == answerID ||
			(cur.LastRefusedAnswer != nil && cur.LastRefusedAnswer.AnswerID == answerID && cur.LastRefusedAnswer.Reason == reason) {
			return ErrNoChange
		}
		cur.LastRefusedAnswer = &RefusedAnswer{AnswerID: answerID, Reason: reason, At: now.UTC()}
		return nil
	}}
}

// RoundOpen tells whether MFA round n of r waits for an answer.
func RoundOpen(r *Record, n int) bool {
	return r.State == StateChallenged && r.Round == n && r.ResumeClaim == ""
}

// ExpireDue decides what the expiry task of round (running as taskID)
// does: drop a round that is over; before it is due, read the member's
// status (only the round's own task); once due, look for an answer of the
// round still in asynq first.
func ExpireDue(r *Record, round int, taskID string, now time.Time) Decision {
	switch {
	case !RoundOpen(r, round) && r.State == StateChallenged && r.Round == round:
		return drop("round %d was answered (answer %s)", round, r.ResumeClaim)
	case !RoundOpen(r, round):
		return drop("round %d is over: the job is %s at round %d", round, r.State, r.Round)
	case now.Before(r.ChallengeExp) && taskID != "" && taskID != ExpireID(r.ID, round):
		return drop("not the round's expiry task (%s), and round %d is not due until %s",
			ExpireID(r.ID, round), round, r.ChallengeExp.UTC().Format(time.RFC3339))
	case now.Before(r.ChallengeExp):
		return Decision{Need: NeedStatus}
	}
	return Decision{Need: NeedAnswers}
}

// Checked decides on a parked job's status check before its round is
// due: MX's EXPIRED ends it; otherwise (status "" when the read failed)
// the task runs again at the next check, or at the expiry.
func Checked(r *Record, round int, status string, now time.Time, cfg Config) Decision {
	if status == "EXPIRED" {
		return Expire(r, round, "MX expired the MFA challenge before it was answered (connection status EXPIRED)")
	}
	return Decision{Wait: &Wait{Until: cfg.nextCheck(now, r.ChallengeExp),
		Reason: fmt.Sprintf("job %s: round %d due at %s; MX shows %q", r.ID, round, r.ChallengeExp.UTC().Format(time.RFC3339), status)}}
}

// Expire ends the job challenge_expired if round is still open.
func Expire(r *Record, round int, msg string) Decision {
	return Fail(r, CodeChallengeExpired, msg, func(cur *Record) bool { return RoundOpen(cur, round) })
}

// Repair drives on a job whose next task (ExpectedTasks) is gone, as that
// task would have: the change applies only to the record as the sweeper
// saw it (its UpdatedAt). answered is the guids of a parked job's
// challenges.
func Repair(r *Record, answered []string, now time.Time, cfg Config) Decision {
	unchanged := func(cur *Record) bool { return cur.UpdatedAt.Equal(r.UpdatedAt) }
	var d Decision
	switch {
	case r.State == StateChallenged && r.ResumeClaim == "":
		d = Decision{Tasks: []Task{expireTask(r.ID, r.Round, r.ChallengeExp)}}
		d.Repair = "expire"
	case r.State == StateChallenged && r.ResumeSent:
		// MX took the answers: move on as the answer's task would have.
		d = Resumed(r, r.ResumeClaim, answered, now, cfg)
		d.Repair = "resumed"
	case r.State == StateChallenged:
		// The answers went with the task and may never have reached MX:
		// the round waits for an answer again, or for its expiry.
		d = Decision{Tasks: []Task{expireTask(r.ID, r.Round, r.ChallengeExp)}, Repair: "claim_released",
			Change: func(cur *Record) error {
				if !unchanged(cur) {
					return ErrNoChange
				}
				cur.ResumeClaim, cur.ResumeBy = "", ""
				return nil
			}}
	case r.State == StatePending || r.UserGUID == "" || r.MemberGUID == "" || r.Reauth && !r.CredsUpdated || r.OAuth != nil && r.OAuthWindows == 0:
		// The credentials were sealed in the lost task alone (a
		// re-authentication's too, until MX took them; an OAuth job's
		// start alone gets its window URI).
		d = Fail(r, CodeTaskLost, "the job's start task, which alone held its sealed credentials, was lost in Redis (a failover?) before MX started the job: submit it again with a new job id", unchanged)
		d.Repair = "task_lost"
	case r.Triggered < r.Attempt:
		// A restart is due RetryLaterDelay after the poll that recorded it.
		at := now
		if r.Attempt > 1 {
			at = r.UpdatedAt.Add(cfg.RetryLaterDelay)
		}
		d = Decision{Tasks: []Task{triggerTask(r.ID, r.Attempt, at)}, Repair: "trigger"}
	default:
		d = Decision{Tasks: []Task{pollTask(r.ID, r.Polls+1, now)}, Repair: "poll"}
	}
	return d
}
