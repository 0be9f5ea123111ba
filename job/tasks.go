package job

import (
	"fmt"
	"time"
)

// TaskKind is what a follow-up task does.
type TaskKind string

const (
	TaskStart   TaskKind = "start"   // mx:verify / mx:identify
	TaskPoll    TaskKind = "poll"    // mx:poll, N = poll number
	TaskTrigger TaskKind = "trigger" // mx:trigger, N = attempt
	TaskExpire  TaskKind = "expire"  // mx:expire, N = round
	TaskAnswer  TaskKind = "answer"  // mx:answer; its id is the delivery's (ResumeBy)
)

// Task is a task a decision enqueues, or one that must exist for a job.
type Task struct {
	Kind TaskKind
	ID   string    // deterministic: StartID, PollID, TriggerID, ExpireID
	N    int       // poll number, attempt or round
	At   time.Time // when it is to run (zero: now)
}

// Task ids. A handler run twice enqueues the same id, which asynq keeps
// once: that is how a job stays one chain.
func StartID(jobID string) string                { return "start:" + jobID }
func PollID(jobID string, n int) string          { return fmt.Sprintf("poll:%s:%d", jobID, n) }
func TriggerID(jobID string, attempt int) string { return fmt.Sprintf("trigger:%s:%d", jobID, attempt) }
func ExpireID(jobID string, round int) string    { return fmt.Sprintf("expire:%s:%d", jobID, round) }

func pollTask(id string, n int, at time.Time) Task {
	return Task{Kind: TaskPoll, ID: PollID(id, n), N: n, At: at}
}
func triggerTask(id string, attempt int, at time.Time) Task {
	return Task{Kind: TaskTrigger, ID: TriggerID(id, attempt), N: attempt, At: at}
}
func expireTask(id string, round int, at time.Time) Task {
	return Task{Kind: TaskExpire, ID: ExpireID(id, round), N: round, At: at}
}

// ExpectedTasks names the task that moves a job that has not ended on:
// the start task until MX was first asked to run the job (or the trigger
// of attempt 1 the sweeper put in its place), then the trigger of a
// restart or the next poll; while parked, the round's expiry, or the
// answer task that claimed the round. One of them must exist; an ended
// job needs none.
func ExpectedTasks(r *Record) []Task {
	switch {
	case r.State.Terminal():
		return nil
	case r.State == StateChallenged && r.ResumeClaim == "":
		return []Task{expireTask(r.ID, r.Round, r.ChallengeExp)}
	case r.State == StateChallenged:
		return []Task{{Kind: TaskAnswer, ID: r.ResumeBy}}
	case r.State == StatePending:
		return []Task{{Kind: TaskStart, ID: StartID(r.ID)}}
	case r.State == StateAuthorizing:
		return []Task{pollTask(r.ID, r.Polls+1, time.Time{})}
	case r.Triggered == 0 && r.Attempt <= 1:
		return []Task{{Kind: TaskStart, ID: StartID(r.ID)}, triggerTask(r.ID, 1, time.Time{})}
	case r.Triggered < r.Attempt:
		return []Task{triggerTask(r.ID, r.Attempt, time.Time{})}
	}
	return []Task{pollTask(r.ID, r.Polls+1, time.Time{})}
}

// WebhookPoll is the task an MX webhook about job r may run now (MX says
// the member changed): the poll that moves the job on, as it is scheduled
// (ExpectedTasks), so running it early polls nothing twice. A job that
// has ended, is parked on MFA, is between MX jobs (its trigger is next)
// or has not started has none: a webhook about it changes nothing.
func WebhookPoll(r *Record) (Task, bool) {
	if next := ExpectedTasks(r); len(next) == 1 && next[0].Kind == TaskPoll {
		return next[0], true
	}
	return Task{}, false
}

// AllTasks names every follow-up task a job can have had, up to the next
// ones: its start, every poll and trigger up to the next, every round's
// expiry. Answers have ids of their own (the producer's) and are not
// named.
func AllTasks(r *Record) []Task {
	out := []Task{{Kind: TaskStart, ID: StartID(r.ID)}}
	for n := 1; n <= r.Polls+1; n++ {
		out = append(out, pollTask(r.ID, n, time.Time{}))
	}
	for a := 1; a <= r.Attempt+1; a++ {
		out = append(out, triggerTask(r.ID, a, time.Time{}))
	}
	for n := 1; n <= r.Round; n++ {
		out = append(out, expireTask(r.ID, n, time.Time{}))
	}
	return append(out, oauthTasks(r)...)
}
