// Package store keeps the fleet's state outside asynq in Redis: job records
// and the hash of jobs parked on an MFA challenge. It is the only package
// besides asynq that talks to Redis; every key it uses is in keys.go.
package store

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/mxfleet/mxfleet/mx"
)

// Kind is what a job asks of MX.
type Kind string

const (
	KindVerify   Kind = "verify"   // account and routing numbers
	KindIdentify Kind = "identify" // account owners
)

// Valid tells whether k is a known kind.
func (k Kind) Valid() bool { return k == KindVerify || k == KindIdentify }

// State is where a job stands.
type State string

const (
	StatePending    State = "pending"    // enqueued, no worker has started it
	StateRunning    State = "running"    // a worker is driving MX
	StateChallenged State = "challenged" // parked until the end user answers MFA
	StateSucceeded  State = "succeeded"  // results stored
	StateFailed     State = "failed"     // ended; Error says why
)

// Terminal tells whether a job in state s has ended.
func (s State) Terminal() bool { return s == StateSucceeded || s == StateFailed }

// Job is the record of one verify or identify job.
type Job struct {
	ID               string         `json:"id"`
	Kind             Kind           `json:"kind"`
	State            State          `json:"state"`
	ConnectionStatus string         `json:"connection_status,omitempty"`
	UserGUID         string         `json:"user_guid,omitempty"`
	MemberGUID       string         `json:"member_guid,omitempty"`
	InstitutionCode  string         `json:"institution_code,omitempty"`
	Follow           bool           `json:"follow,omitempty"`
	CallbackURL      string         `json:"callback_url,omitempty"`
	CallbackResults  bool           `json:"callback_results,omitempty"` // results go in the succeeded event
	Challenges       []mx.Challenge `json:"challenges,omitempty"`
	Result           *Result        `json:"-"`                       // sealed at rest in SealedResult
	SealedResult     string         `json:"result_sealed,omitempty"` // AES-GCM, see internal/seal
	Error            *JobError      `json:"error,omitempty"`
	Polls            int            `json:"polls"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`

	// Progress, for the handlers: where the job is, so that a task run
	// twice finds its step done.
	Round        int       `json:"round,omitempty"`        // MFA rounds parked so far
	Attempt      int       `json:"attempt,omitempty"`      // MX jobs started (retry_later restarts)
	Triggered    int       `json:"triggered,omitempty"`    // attempt whose MX job is known started
	TriggeredAt  time.Time `json:"triggered_at,omitzero"`  // when MX was asked, for stale reads
	SawRunning   bool      `json:"saw_running,omitempty"`  // is_being_aggregated seen since TriggeredAt
	PollMark     int       `json:"poll_mark,omitempty"`    // Polls when MX was last asked to work; backoff restarts there
	Deadline     time.Time `json:"deadline,omitzero"`      // the job fails "timeout" after it
	ChallengeExp time.Time `json:"challenge_exp,omitzero"` // while parked
	ParkedAt     time.Time `json:"parked_at,omitzero"`     // when the current round was parked
	ResumeClaim  string    `json:"resume_claim,omitempty"` // answer id that won the latest round
	ResumeBy     string    `json:"resume_by,omitempty"`    // asynq task id of the delivery that sends it
	Answered     []string  `json:"answered,omitempty"`     // challenge guids of the round answered last
	ResumeSent   bool      `json:"resume_sent,omitempty"`  // MX accepted the claimed answer

	// LastRefusedAnswer is the latest answer the worker refused while the
	// job went on as it was (cleared when an answer is accepted).
	LastRefusedAnswer *RefusedAnswer `json:"last_refused_answer,omitempty"`

	raw []byte // the record as read or written, for UpdateFrom's compare-and-set
}

// Result is what a succeeded job read from MX, as MX returned it.
type Result struct {
	AccountNumbers []mx.AccountNumber `json:"account_numbers,omitempty"`
	AccountOwners  []mx.AccountOwner  `json:"account_owners,omitempty"`
}

// JobError says why a job failed. Code is stable and machine-readable.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// RefusedAnswer says why a worker refused an answer: which one and the
// reason (never an answer value).
type RefusedAnswer struct {
	AnswerID string    `json:"answer_id"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// Parked is one entry of the parked hash: a job waiting for MFA answers.
type Parked struct {
	JobID      string         `json:"job_id"`
	UserGUID   string         `json:"user_guid"`
	MemberGUID string         `json:"member_guid"`
	Challenges []mx.Challenge `json:"challenges"`
	Round      int            `json:"round"`
	ExpiresAt  time.Time      `json:"expires_at"`
}

// Fail ends j as failed with a code and a message.
func (j *Job) Fail(code, msg string) {
	j.State = StateFailed
	j.Error = &JobError{Code: code, Message: msg}
	j.Challenges = nil
	j.ResumeClaim = ""
}

// ErrInvalidID is a job id no job can have (ValidateID).
var ErrInvalidID = errors.New("invalid job id")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidateID checks a job id: 1 to 128 of [A-Za-z0-9_.-], starting with a
// letter or digit. Ids become parts of Redis keys and task ids.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w %q: want 1-128 characters of A-Z a-z 0-9 _ . - starting with a letter or digit", ErrInvalidID, truncate(id, 40))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// View is the public shape of a job record: what `mxfleet status --json`
// prints and the producer shows to callers. Progress bookkeeping is left out.
type View struct {
	ID               string         `json:"id"`
	Kind             Kind           `json:"kind"`
	State            State          `json:"state"`
	ConnectionStatus string         `json:"connection_status"`
	UserGUID         string         `json:"user_guid"`
	MemberGUID       string         `json:"member_guid"`
	Challenges       []mx.Challenge `json:"challenges"`
	Result           *Result        `json:"result"`
	Error            *JobError      `json:"error"`
	Polls            int            `json:"polls"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	// LastRefusedAnswer: the latest answer the worker refused, the job
	// unchanged (until an answer is accepted).
	LastRefusedAnswer *RefusedAnswer `json:"last_refused_answer,omitempty"`
}

// View returns the public shape of j.
func (j *Job) View() View {
	chs := j.Challenges
	if chs == nil {
		chs = []mx.Challenge{}
	}
	return View{ID: j.ID, Kind: j.Kind, State: j.State, ConnectionStatus: j.ConnectionStatus,
		UserGUID: j.UserGUID, MemberGUID: j.MemberGUID, Challenges: chs, Result: j.Result, Error: j.Error,
		Polls: j.Polls, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, LastRefusedAnswer: j.LastRefusedAnswer}
}
