// Package job is the fleet's state machine with no I/O: job states, error
// codes, how MX's connection statuses read, and every transition. It
// imports no asynq, Redis or HTTP. Its functions take a job record, what
// just happened (a start, an MX status read, an answer, an expiry, a lost
// task) and the time, and return a Decision that package handlers
// executes: the tasks to enqueue (deterministic ids), the callback event to
// notify, and the guarded change to the record.
//
// The transitions, on one screen (function: guard → state, tasks, event):
//
//	state       event                          function          guard                          → state       enqueues / notifies
//	pending     start: MX job started          StartDue,Started  not started yet                → running     poll 1
//	running     trigger n: MX job started      TriggerDue        Attempt = n > Triggered        → running     poll Polls+1
//	running     poll n: in progress            PollDue,Polled    Polls < n, Triggered = Attempt → running     poll n+1 (backoff)
//	running     poll n: CHALLENGED             Park              Polls < n                      → challenged  expire:<round>, challenged event
//	running     poll n: CONNECTED, results     Succeed           Polls < n                      → succeeded   succeeded event
//	running     poll n: CONNECTED, no results  Succeed           Polls < n                      → failed      failed event (no_results)
//	running     poll n: DEGRADED/FAILED/DISC.  Polled            Attempt < MaxAttempts          → running     trigger Attempt+1
//	running     poll n: any other end status   Polled            Polls < n                      → failed      failed event (status code)
//	challenged  answer claims round r          Claim             Round = r, no claim, matches*  → challenged  (claim recorded)
//	challenged  MX took the answer             Sent, Resumed     claim is this answer           → running     poll Polls+1
//	challenged  check: MX shows EXPIRED        ExpireDue,Checked round open                     → failed      failed event (challenge_expired)
//	challenged  expiry due, no answer queued   ExpireDue,Expire  round open, due                → failed      failed event (challenge_expired)
//	pending     start: credentials updated     Reauthed          Reauth, CredsUpdated unset     → running     poll 1; v20250224: Prelude set
//	running     poll n: CONNECTED, Prelude     Preluded          Polls < n                      → running     trigger Attempt+1 now
//	running     start/trigger: MX 409          Busy              Reauth                         → running     (no write) the task waits
//	pending     start: update's duplicate 409  DuplicateUpdate   no MX job runs on the member   → failed      failed event (duplicate_member)
//	pending     start: OAuth member, its URI   Authorizing       not started yet                → authorizing poll 1, authorizing event (window 1)
//	authorizing poll n: PENDING                Authorization     Polls < n                      → authorizing poll n+1 (backoff)
//	authorizing poll n: DENIED / EXPIRED       Authorization     Polls < n                      → failed      failed event (oauth_denied / oauth_expired)
//	authorizing poll n: any other status       Authorization     Polls < n                      → running     poll n+1, or trigger 1 (v20111101)
//	authorizing fresh URI n asked (mx:oauth)   WindowDue,Issued  windows = n-1                  → authorizing authorizing event (window n)
//	any live    deadline passed                Overdue           Deadline ≤ now                 → failed      failed event (timeout)
//	any live    a step ends for good (Ending:  Ending.Decide     not ended                      → failed      failed event (the Ending's
//	            MX refused, retries spent, …)  (outcome.go)      (a start's: Named)                           code and message)
//	any live    next task lost (sweeper)       Repair            record unchanged since looked  → same        the lost task again; a lost
//	                                                                                                          claim is released, a lost start
//	                                                                                                          before MX fails task_lost
//
// * The answers must also match the challenges parked with the round.
// Those are the store's payload, not the Record: the executor checks them
// (its payload guard) in the same compare-and-set as Claim's own guard.
//
// Waits (WaitDelay, no retry spent): a poll before its start or trigger
// is recorded or while an answer resumes; a trigger before its attempt is
// recorded (an OAuth job's trigger 1 before its authorization is); a
// parked round's expiry task between checks.
//
// A re-authentication (Reauth) updates the member's credentials before
// its MX job (reauth.go); its start lost before MX took them fails
// task_lost like any start lost before MX.
//
// OAuth jobs wait for the end user in state authorizing: see oauth.go for
// why that is a state and not a challenge.
//
// ExpectedTasks says which task must exist for a live job; Sweep and
// Purge both ask it.
//
// Micro-deposit jobs (kind microdeposit) have their own small table in
// microdeposit.go; they park and take answers as above. A verify job with
// a fallback account switches to that table at its start when MX says the
// institution does not support instant verification (MDFellBack).
package job

import "time"

// Kind is what a job asks of MX.
type Kind string

const (
	KindVerify   Kind = "verify"   // account and routing numbers
	KindIdentify Kind = "identify" // account owners
)

// Valid tells whether k is a known kind.
func (k Kind) Valid() bool { return k == KindVerify || k == KindIdentify || k == KindMicrodeposit }

// State is where a job stands.
type State string

const (
	StatePending    State = "pending"    // enqueued, no worker has started it
	StateRunning    State = "running"    // a worker is driving MX
	StateChallenged State = "challenged" // parked until the end user answers MFA
	StateSucceeded  State = "succeeded"  // results stored
	StateFailed     State = "failed"     // ended; Error says why
)

// States is every state, in the order a job goes through them
// (StateAuthorizing, an OAuth job's wait for the end user, is in oauth.go).
var States = []State{StatePending, StateAuthorizing, StateRunning, StateChallenged, StateSucceeded, StateFailed}

// Terminal tells whether a job in state s has ended.
func (s State) Terminal() bool { return s == StateSucceeded || s == StateFailed }

// Error codes a failed job carries besides the lower-cased connection
// statuses of Classify ("denied", "rejected", "locked", ...).
const (
	CodeTimeout            = "timeout"             // the job deadline passed
	CodeChallengeExpired   = "challenge_expired"   // MFA not answered within the challenge TTL
	CodeNoResults          = "no_results"          // MX succeeded but returned no numbers / owners
	CodeUnknownInstitution = "unknown_institution" // MX does not know the institution code
	CodeUnknownCredential  = "unknown_credential"  // a credential field the institution does not have
	CodeMissingCredential  = "missing_credential"  // a credential the institution requires is missing
	CodeUnsupported        = "unsupported"         // the institution does not support the job (MX 400)
	CodeResumeRefused      = "resume_refused"      // MX refused the MFA answers
	CodeMXUnavailable      = "mx_unavailable"      // transient MX errors outlasted every retry
	CodeMXError            = "mx_error"            // MX refused a call for good (4xx)
	CodeRetriesExhausted   = "retries_exhausted"   // a step kept failing (Redis, enqueue) past every retry
	CodeBadPayload         = "bad_payload"         // the job's sealed credentials do not open (altered, or wrong key material)
	CodeTaskLost           = "task_lost"           // the start task, with the sealed credentials, was lost in Redis (Sweep)
	CodeNoStatus           = "no_connection_status"
	CodeUnknownStatus      = "unknown_connection_status"
)

// Codes is every Code* constant of the package: the codes a failed job
// carries besides the status-derived ones, each decided by some function
// of the package (TestEveryCodeIsDecided).
var Codes = []string{CodeTimeout, CodeChallengeExpired, CodeNoResults, CodeUnknownInstitution,
	CodeUnknownCredential, CodeMissingCredential, CodeUnsupported, CodeResumeRefused,
	CodeMXUnavailable, CodeMXError, CodeRetriesExhausted, CodeBadPayload, CodeTaskLost,
	CodeNoStatus, CodeUnknownStatus,
	CodeUnknownMember, CodeDuplicateMember, CodeOAuthDenied, CodeOAuthExpired,
	CodeMicrodepositErrored, CodeMicrodepositPrevented, CodeMicrodepositConflicted, CodeMicrodepositRejected, CodeMicrodepositExpired,
	CodeNoMicrodepositStatus, CodeUnknownMicrodepositStatus}

// Error says why a job failed. Code is stable and machine-readable.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Record is the part of a job record the transitions read and write. The
// store's record embeds it (its JSON fields are the record's, unchanged)
// and adds the payloads: challenges, results, the last refused answer.
type Record struct {
	ID               string    `json:"id"`
	Kind             Kind      `json:"kind"`
	State            State     `json:"state"`
	ConnectionStatus string    `json:"connection_status,omitempty"`
	UserGUID         string    `json:"user_guid,omitempty"`
	MemberGUID       string    `json:"member_guid,omitempty"`
	InstitutionCode  string    `json:"institution_code,omitempty"`
	Follow           bool      `json:"follow,omitempty"`
	Reauth           bool      `json:"reauth,omitempty"` // member guid and new credentials: update them first (reauth.go)
	CallbackURL      string    `json:"callback_url,omitempty"`
	CallbackResults  bool      `json:"callback_results,omitempty"` // results go in the succeeded event
	Error            *Error    `json:"error,omitempty"`
	Polls            int       `json:"polls"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`

	// Progress: where the job is, so that a task run twice finds its
	// step done.
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

	// A re-authentication's progress (reauth.go).
	CredsUpdated bool `json:"creds_updated,omitempty"` // MX took the new credentials
	Prelude      bool `json:"prelude,omitempty"`       // the MX job polled is the update's own aggregation (v20250224)

	// LastRefusedAnswer is the latest answer the worker refused while the
	// job went on as it was (cleared when an answer is accepted).
	LastRefusedAnswer *RefusedAnswer `json:"last_refused_answer,omitempty"`

	OAuthProgress // an OAuth job's options and windows (oauth.go)

	// A verify job's micro-deposit fallback (microdeposit.go, MDFellBack):
	// Fallback is asked at submit (KindMicrodeposit: the start task holds
	// the account, sealed); Via is set when the job switched to it, and
	// InstantMemberGUID is then the member MX could not verify on
	// (MemberGUID being the micro-deposit's).
	Fallback          Kind   `json:"fallback,omitempty"`
	Via               Kind   `json:"via,omitempty"`
	InstantMemberGUID string `json:"instant_member_guid,omitempty"`
}

// RefusedAnswer says why a worker refused an answer: which one and the
// reason (never an answer value).
type RefusedAnswer struct {
	AnswerID string    `json:"answer_id"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// Fail ends r as failed with a code and a message (for a code after which
// new credentials may help, with how to send them: ReauthHint).
func (r *Record) Fail(code, msg string) {
	r.State = StateFailed
	r.Error = &Error{Code: code, Message: ReauthHint(code, msg, r.MemberGUID)}
	r.ResumeClaim = ""
}
