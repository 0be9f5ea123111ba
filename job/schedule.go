package job

import "time"

// Scheduler chooses when a job's next status read runs, instead of the
// geometric backoff (PollDelay): the fleet's learned poll schedules
// (internal/learn) implement it. It must be safe for concurrent use and
// must not block (no I/O): it is asked inside the state machine's pure
// decisions.
type Scheduler interface {
	// NextPoll is the wait before the next status read of r, in the
	// situation p; ok false leaves the choice to PollDelay.
	NextPoll(r *Record, p PollState) (wait time.Duration, ok bool)
}

// PollState is where a job stands when it schedules its next status read.
type PollState struct {
	Resume     bool          // the run was a resume after MFA answers (ResumeRun)
	Reads      int           // status reads since MX was asked to work
	SinceAsked time.Duration // since MX was asked to work (the trigger or the resume)
	SinceRead  time.Duration // since the last status read; SinceAsked when none
}

// ResumeRun tells whether r's current MX run is a resume after MFA
// answers: the job has been parked on a challenge before. (A retry-later
// restart after an MFA round counts as a resume too; it is rare.)
func ResumeRun(r *Record) bool { return r.Round > 0 }

// firstPoll is the wait before the first read after MX was asked to work
// at asked (zero: the fleet asked nothing, a followed member).
func (c Config) firstPoll(r *Record, asked, now time.Time) time.Duration {
	if c.Schedule != nil && !asked.IsZero() {
		since := max(now.Sub(asked), 0)
		if d, ok := c.Schedule.NextPoll(r, PollState{Resume: ResumeRun(r), SinceAsked: since, SinceRead: since}); ok {
			return d
		}
	}
	return c.PollDelay(1)
}

// nextPoll is the wait before the read after poll n, which ran at now.
func (c Config) nextPoll(r *Record, n int, now time.Time) time.Duration {
	k := n + 1 - r.PollMark
	if c.Schedule != nil && !r.TriggeredAt.IsZero() {
		p := PollState{Resume: ResumeRun(r), Reads: k - 1, SinceAsked: max(now.Sub(r.TriggeredAt), 0)}
		if d, ok := c.Schedule.NextPoll(r, p); ok {
			return d
		}
	}
	return c.PollDelay(k)
}
