// Package store keeps the fleet's state outside asynq in Redis: job records
// and the hash of jobs parked on an MFA challenge. It is the only package
// besides asynq that talks to Redis; every key it uses is in keys.go.
package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/match"
)

// The job's kinds, states and record fields are the state machine's
// (package job); the store adds what it keeps with them.
type (
	Kind          = job.Kind
	State         = job.State
	JobError      = job.Error
	RefusedAnswer = job.RefusedAnswer
)

const (
	KindVerify       = job.KindVerify
	KindIdentify     = job.KindIdentify
	KindMicrodeposit = job.KindMicrodeposit
	StatePending     = job.StatePending
	StateRunning     = job.StateRunning
	StateChallenged  = job.StateChallenged
	StateAuthorizing = job.StateAuthorizing
	StateSucceeded   = job.StateSucceeded
	StateFailed      = job.StateFailed
)

// Job is the record of one verify or identify job: the state machine's
// Record (its fields are the record's JSON fields) plus the payloads.
type Job struct {
	job.Record
	Challenges   []Challenge `json:"challenges,omitempty"`    // while parked
	Result       *Result     `json:"-"`                       // sealed at rest in SealedResult
	SealedResult string      `json:"result_sealed,omitempty"` // AES-GCM, see internal/seal
	// Person: the upstream's KYC data (identify jobs only), sealed at rest
	// in SealedPerson; opened when the result is (decode), else by
	// OpenPerson. Nil while sealed or when the job was given none.
	Person       *Person `json:"-"`
	SealedPerson string  `json:"person_sealed,omitempty"`
	// Thresholds: the owner match's verdict thresholds the job was given
	// (identify jobs with a person only); nil: match.DefaultThresholds.
	Thresholds *match.Thresholds `json:"thresholds,omitempty"`

	raw []byte // the record as read or written, for UpdateFrom's compare-and-set
}

// Result is what a succeeded job read from MX (mapped by ResultFrom).
type Result struct {
	AccountNumbers []AccountNumber `json:"account_numbers,omitempty"`
	AccountOwners  []AccountOwner  `json:"account_owners,omitempty"`
}

// Parked is one entry of the parked hash: a job waiting for MFA answers.
type Parked struct {
	JobID      string      `json:"job_id"`
	UserGUID   string      `json:"user_guid"`
	MemberGUID string      `json:"member_guid"`
	Challenges []Challenge `json:"challenges"`
	Round      int         `json:"round"`
	ExpiresAt  time.Time   `json:"expires_at"`
}

// Fail ends j as failed with a code and a message.
func (j *Job) Fail(code, msg string) {
	j.Record.Fail(code, msg)
	j.Challenges = nil
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

// View is the public shape of a job record, the one type callers see: the
// HTTP API's job, what `mxfleet status --json` prints and what the
// producer (package tasks) returns. Progress bookkeeping (claims and the
// task delivering them, attempts, marks, deadlines) is left out; whether an
// answer is being applied shows as AnswerPending.
type View struct {
	ID               string      `json:"id"`
	Kind             Kind        `json:"kind"`
	State            State       `json:"state"`
	ConnectionStatus string      `json:"connection_status"`
	UserGUID         string      `json:"user_guid"`
	MemberGUID       string      `json:"member_guid"`
	Challenges       []Challenge `json:"challenges"`
	Result           *Result     `json:"result"`
	Error            *JobError   `json:"error"`
	Polls            int         `json:"polls"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`
	// Round: the MFA rounds the job has been parked on so far (the
	// current one while challenged); 0 for a job never challenged.
	Round int `json:"round,omitempty"`
	// AnswerPending: challenged, and an answer has claimed this round and
	// is being applied (the job resumes once MX takes it); another answer
	// to the round is refused (already_answered).
	AnswerPending bool `json:"answer_pending,omitempty"`
	// LastRefusedAnswer: the latest answer the worker refused, the job
	// unchanged (until an answer is accepted).
	LastRefusedAnswer *RefusedAnswer `json:"last_refused_answer,omitempty"`
	// PersonGiven: the job was given the upstream's data about the
	// person (never shown back); Match scores the owners against it once
	// the job has its result.
	PersonGiven bool   `json:"person_given,omitempty"`
	Match       *Match `json:"match,omitempty"`
	// OAuth: an OAuth job's options; OAuthWindowURI: while authorizing,
	// the page where the end user authorizes MX at the institution (a
	// one-time link for the end user: never logged); OAuthWindows: URIs
	// issued so far.
	OAuth          *job.OAuth `json:"oauth,omitempty"`
	OAuthWindowURI string     `json:"oauth_window_uri,omitempty"`
	OAuthWindows   int        `json:"oauth_windows,omitempty"`
	// OAuthWindowRefused: the latest fresh window URI MX refused (until
	// one is issued): which, why, when.
	OAuthWindowRefused *job.WindowRefusal `json:"oauth_window_refused,omitempty"`
	// Fallback: a verify job asked to fall back to micro-deposits (with
	// an account) should MX not support instant verification at the
	// institution; Via: it did (the job then runs as a microdeposit job:
	// member_guid is the micro-deposit's guid, instant_member_guid the
	// member MX could not verify on).
	Fallback          Kind   `json:"fallback,omitempty"`
	Via               Kind   `json:"via,omitempty"`
	InstantMemberGUID string `json:"instant_member_guid,omitempty"`
	// ETA: while the job has not ended, when it is expected to; absent
	// once it has. Computed when the job is read, never stored.
	ETA *ETA `json:"eta,omitempty"`
}

// ETA is when a job that has not ended is expected to have its result.
type ETA struct {
	// Basis: ETALearned (P50 and P90 are set), ETANone (no estimate:
	// the job waits on the end user, has not started at MX, or its
	// institution and kind have too few recent runs to learn from) or
	// ETAOverdue (it has run longer than nearly every run learned for
	// its institution and kind).
	Basis string `json:"basis"`
	// P50, P90: the fleet expects the result by P50 for half of such
	// jobs and by P90 for nine in ten, given how long this one has run
	// already (from the fleet's learned run times at MX, per institution
	// and kind).
	P50 *time.Time `json:"p50,omitempty"`
	P90 *time.Time `json:"p90,omitempty"`
	// WaitingOn: ETAEndUser while challenged or authorizing: the job
	// goes on when the end user answers or authorizes; nothing to
	// estimate.
	WaitingOn string `json:"waiting_on,omitempty"`
}

// ETA bases and what a job may wait on.
const (
	ETALearned = "learned"
	ETANone    = "none"
	ETAOverdue = "overdue"
	ETAEndUser = "end_user"
)

// An Estimator gives the learned ETA of a job that is running at MX
// (internal/learn.Learner): an ETA with basis ETALearned, ETAOverdue or
// ETANone.
type Estimator interface {
	ETA(ctx context.Context, r *job.Record) ETA
}

// EndUserETA is the ETA of a job waiting on the end user.
func EndUserETA() *ETA { return &ETA{Basis: ETANone, WaitingOn: ETAEndUser} }

// eta is j's ETA: nil once it has ended; waiting on the end user while
// challenged or authorizing; est's (nil: none) while it runs at MX.
func (j *Job) eta(ctx context.Context, est Estimator) *ETA {
	switch {
	case j.State.Terminal():
		return nil
	case j.State == StateChallenged || j.State == StateAuthorizing:
		return EndUserETA()
	case j.State != StateRunning || j.TriggeredAt.IsZero() || est == nil:
		return &ETA{Basis: ETANone}
	}
	e := est.ETA(ctx, &j.Record)
	return &e
}

// View returns the public shape of j, with no learned ETA (ViewWith).
func (j *Job) View() View { return j.ViewWith(context.Background(), nil) }

// ViewWith returns the public shape of j, its ETA from est (nil: none).
func (j *Job) ViewWith(ctx context.Context, est Estimator) View {
	chs := j.Challenges
	if chs == nil {
		chs = []Challenge{}
	}
	return View{ID: j.ID, Kind: j.Kind, State: j.State, ConnectionStatus: j.ConnectionStatus,
		UserGUID: j.UserGUID, MemberGUID: j.MemberGUID, Challenges: chs, Result: j.Result, Error: j.Error,
		Polls: j.Polls, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, Round: j.Round,
		AnswerPending: j.State == StateChallenged && j.ResumeClaim != "", LastRefusedAnswer: j.LastRefusedAnswer,
		PersonGiven: j.Person != nil || j.SealedPerson != "", Match: j.match(),
		OAuth: j.OAuth, OAuthWindowURI: oauthURI(j), OAuthWindows: j.OAuthWindows, OAuthWindowRefused: j.OAuthWindowRefused,
		Fallback: j.Fallback, Via: j.Via, InstantMemberGUID: j.InstantMemberGUID, ETA: j.eta(ctx, est)}
}

// oauthURI is the job's window URI while it is authorizing.
func oauthURI(j *Job) string {
	if j.State != StateAuthorizing {
		return ""
	}
	return j.OAuthWindowURI
}
