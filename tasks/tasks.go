// Package tasks is the producer contract of the fleet: the asynq task types,
// their versioned payloads and constructors, and a Client that upstream Go
// services use to start verify, identify and micro-deposit jobs
// (microdeposit.go), answer MFA challenges and micro-deposit amounts, and
// read job status.
package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/internal/strictjson"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// Keyring holds the keys that seal secrets before they reach Redis (the
// first key) and open them (every key). Producers and workers share it.
type Keyring = seal.Keyring

// ParseKeys reads MXFLEET_SECRET_KEYS: "id:base64(32 bytes)[,id:base64...]".
// The first key seals; every key opens, so keys rotate without downtime.
func ParseKeys(s string) (*Keyring, error) { return seal.Parse(s) }

// KeysEnv names the variable ParseKeys reads.
const KeysEnv = seal.EnvVar

// Task types. Verify, Identify and Answer are enqueued by producers; Poll,
// Trigger and Expire are the worker's own follow-ups.
const (
	TypeVerify   = "mx:verify"   // start a verification job (account numbers)
	TypeIdentify = "mx:identify" // start an identification job (account owners)
	TypeAnswer   = "mx:answer"   // MFA answers for a parked job
	TypePoll     = "mx:poll"     // read the member status once
	TypeTrigger  = "mx:trigger"  // start the MX job again after a retry-later failure
	TypeExpire   = "mx:expire"   // end a job whose challenge was not answered in time
	// TypeOAuth (oauth.go): a fresh OAuth window URI.
)

// Queues and their weights: answers first (an end user is waiting), then
// polls (jobs already running), then new jobs.
const (
	QueueAnswers = "mx_answers"
	QueuePolls   = "mx_polls"
	QueueJobs    = "mx_jobs"
)

// Queues is the asynq queue configuration a worker serves.
var Queues = map[string]int{QueueAnswers: 6, QueuePolls: 3, QueueCallbacks: 2, QueueJobs: 1}

// Version is the payload version this build writes and reads.
const Version = 1

// MaxPayload bounds a payload; larger ones are refused.
const MaxPayload = 64 << 10

// Limits on the values a job carries.
const (
	maxCredentials = 20
	maxFieldLen    = 128
	maxValueLen    = 1024
	maxSealedLen   = 1536 // a sealed maxValueLen
	maxAnswers     = 20
	maxGUIDLen     = 128
	taskMaxRetry   = 12
	taskTimeout    = 2 * time.Minute
)

// ErrBadPayload marks a payload that cannot be processed: it will never
// succeed, so the worker archives it without retries.
var ErrBadPayload = errors.New("bad payload")

// User names the MX user of a job: an MX guid, or a partner id that the
// worker looks up and creates when missing. Exactly one is set.
type User struct {
	GUID  string `json:"guid,omitempty"`
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"` // only used when the worker creates the user
}

// Member names the MX member of a job: an existing member guid, or an
// institution code plus credentials by field name ("username",
// "password"), which the worker maps to the institution's credential guids.
// A member guid with credentials re-authenticates that member: the worker
// gives it the new credentials (mapped against the fields of the
// institution MX has it at) and then verifies or identifies it, on the
// same guid.
// With Follow, the member was connected elsewhere (MXconnect): the worker
// follows its status and reads the results without starting a new MX job.
type Member struct {
	GUID            string            `json:"guid,omitempty"`
	InstitutionCode string            `json:"institution_code,omitempty"`
	Credentials     map[string]string `json:"credentials,omitempty"`
	Follow          bool              `json:"follow,omitempty"`
	// OAuth, set (possibly empty): an OAuth member, no credentials; the
	// end user authorizes MX at the job's oauth_window_uri.
	OAuth *OAuth `json:"oauth,omitempty"`
}

// Job is the payload of mx:verify and mx:identify. On the wire (in Redis)
// every credential value is sealed; NewJobTask seals and OpenCredentials
// opens.
type Job struct {
	V      int    `json:"v"`
	JobID  string `json:"job_id"`
	User   User   `json:"user"`
	Member Member `json:"member"`
	// Fallback: verify only, the account to verify by micro-deposits
	// should the institution not support instant verification
	// (fallback.go); sealed as a micro-deposit job's account.
	Fallback *Account `json:"fallback_account,omitempty"`
}

// Answer is the payload of mx:answer: answers by challenge guid, each
// value sealed on the wire (NewAnswerTask seals, OpenAnswers opens).
type Answer struct {
	V        int                  `json:"v"`
	JobID    string               `json:"job_id"`
	AnswerID string               `json:"answer_id"`
	Round    int                  `json:"round"` // the MFA round answered
	Answers  []mx.ChallengeAnswer `json:"answers"`
}

// Poll is the payload of mx:poll: the N-th status read of a job.
type Poll struct {
	V     int    `json:"v"`
	JobID string `json:"job_id"`
	N     int    `json:"n"`
}

// Trigger is the payload of mx:trigger: start MX job number Attempt.
type Trigger struct {
	V       int    `json:"v"`
	JobID   string `json:"job_id"`
	Attempt int    `json:"attempt"`
}

// Expire is the payload of mx:expire: end the job if MFA round Round is
// still unanswered.
type Expire struct {
	V     int    `json:"v"`
	JobID string `json:"job_id"`
	Round int    `json:"round"`
}

// Validate checks a job payload.
func (p *Job) Validate() error {
	if err := store.ValidateID(p.JobID); err != nil {
		return err
	}
	switch {
	case p.User.GUID == "" && p.User.ID == "":
		return errors.New("user: give a user guid or a partner user id")
	case p.User.GUID != "" && p.User.ID != "":
		return errors.New("user: give a user guid or a partner user id, not both")
	case len(p.User.GUID) > maxGUIDLen || len(p.User.ID) > maxGUIDLen || len(p.User.Email) > maxValueLen:
		return errors.New("user: guid, id or email too long")
	}
	m := p.Member
	switch {
	case m.GUID != "" && m.InstitutionCode != "":
		return errors.New("member: give a member guid (with credentials to re-authenticate it) or an institution code with credentials, not both: MX knows the member's institution")
	case m.Follow && len(m.Credentials) > 0:
		return errors.New("member: follow starts no MX job and takes no credentials (a member guid with credentials re-authenticates it)")
	case m.GUID == "" && m.InstitutionCode == "":
		return errors.New("member: give a member guid, or an institution code with credentials")
	case m.GUID == "" && len(m.Credentials) == 0 && m.OAuth == nil:
		return fmt.Errorf("member: institution %q needs credentials (or oauth, at an institution that uses OAuth)", m.InstitutionCode)
	case m.Follow && m.GUID == "":
		return errors.New("member: follow needs the guid of a member connected by MXconnect")
	case len(m.GUID) > maxGUIDLen || len(m.InstitutionCode) > maxGUIDLen:
		return errors.New("member: guid or institution code too long")
	case len(m.Credentials) > maxCredentials:
		return fmt.Errorf("member: %d credentials, at most %d", len(m.Credentials), maxCredentials)
	}
	if err := validOAuth(m); err != nil {
		return err
	}
	if err := validFallback(store.KindVerify, p, false); err != nil {
		return err
	}
	for name, v := range m.Credentials {
		if name == "" || len(name) > maxFieldLen || strings.ContainsAny(name, "\x00\r\n") {
			return fmt.Errorf("member: credential field name %q is not valid", truncate(name, 40))
		}
		if !seal.IsSealed(v) || len(v) > maxSealedLen {
			return fmt.Errorf("member: credential %q is not a sealed value", name)
		}
	}
	return nil
}

// Validate checks an answer payload (not against the job: the worker does).
func (p *Answer) Validate() error {
	if err := store.ValidateID(p.JobID); err != nil {
		return err
	}
	if p.Round < 1 {
		return errors.New("answer round must be at least 1")
	}
	if p.AnswerID == "" || len(p.AnswerID) > maxGUIDLen {
		return errors.New("answer id missing or too long")
	}
	if len(p.Answers) == 0 || len(p.Answers) > maxAnswers {
		return fmt.Errorf("give 1-%d answers", maxAnswers)
	}
	seen := map[string]bool{}
	for _, a := range p.Answers {
		if a.GUID == "" || len(a.GUID) > maxGUIDLen {
			return errors.New("an answer has no challenge guid")
		}
		if seen[a.GUID] {
			return fmt.Errorf("challenge %s answered twice", a.GUID)
		}
		seen[a.GUID] = true
		if !seal.IsSealed(a.Value) || len(a.Value) > maxSealedLen {
			return fmt.Errorf("the answer to challenge %s is not a sealed value", a.GUID)
		}
	}
	return nil
}

// Decode reads a payload strictly: size, JSON shape (no unknown fields),
// version, and the payload's own validation. Every failure wraps
// ErrBadPayload.
func Decode(payload []byte, v interface {
	version() int
	Validate() error
}) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrBadPayload, len(payload), MaxPayload)
	}
	if err := strictjson.Decode(bytes.NewReader(payload), v); errors.Is(err, strictjson.ErrTrailing) {
		return fmt.Errorf("%w: %w", ErrBadPayload, err)
	} else if err != nil {
		return fmt.Errorf("%w: malformed JSON: %s", ErrBadPayload, jsonErr(err))
	}
	if got := v.version(); got != Version {
		return fmt.Errorf("%w: payload version %d, this worker reads version %d", ErrBadPayload, got, Version)
	}
	if err := v.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return nil
}

// jsonErr describes a decoding error without quoting the input (which may
// hold secrets).
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var uf *strictjson.UnknownFieldError
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	case errors.As(err, &uf):
		return uf.Error()
	}
	return "not a JSON object"
}

func (p *Job) version() int     { return p.V }
func (p *Answer) version() int  { return p.V }
func (p *Poll) version() int    { return p.V }
func (p *Trigger) version() int { return p.V }
func (p *Expire) version() int  { return p.V }

// Validate checks a poll payload.
func (p *Poll) Validate() error {
	if p.N < 1 {
		return errors.New("poll number must be at least 1")
	}
	return store.ValidateID(p.JobID)
}

// Validate checks a trigger payload.
func (p *Trigger) Validate() error {
	if p.Attempt < 1 {
		return errors.New("attempt must be at least 1")
	}
	return store.ValidateID(p.JobID)
}

// Validate checks an expire payload.
func (p *Expire) Validate() error {
	if p.Round < 1 {
		return errors.New("round must be at least 1")
	}
	return store.ValidateID(p.JobID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newTask(typ string, payload any, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%s payload is %d bytes, limit %d", typ, len(b), MaxPayload)
	}
	return asynq.NewTask(typ, b, opts...), nil
}

func credContext(jobID, name string) string { return "job/" + jobID + "/credential/" + name }
func answerContext(p *Answer, guid string) string {
	return fmt.Sprintf("job/%s/answer/%d/%s", p.JobID, p.Round, guid)
}

// plainValue checks a secret before it is sealed.
func plainValue(what, v string) error {
	if v == "" || len(v) > maxValueLen {
		return fmt.Errorf("%s must have a value of 1-%d bytes", what, maxValueLen)
	}
	return nil
}

// Task ids of a job's own tasks. They are deterministic, so a task
// enqueued twice is one task, and the sweeper can look a job's next task up.
func StartID(jobID string) string                { return job.StartID(jobID) }
func PollID(jobID string, n int) string          { return job.PollID(jobID, n) }
func TriggerID(jobID string, attempt int) string { return job.TriggerID(jobID, attempt) }
func ExpireID(jobID string, round int) string    { return job.ExpireID(jobID, round) }

// Queue is the queue of a job task of the state machine's.
func Queue(k job.TaskKind) string {
	switch k {
	case job.TaskStart:
		return QueueJobs
	case job.TaskPoll, job.TaskTrigger:
		return QueuePolls
	}
	return QueueAnswers // expiries, answers and fresh OAuth windows
}

// NewJobTask builds the task that starts a job of the given kind, sealing
// the credential values of p with k. Its id is "start:<job id>", so a job is
// started once however often it is enqueued while the first task lives.
// Completed start tasks are not retained.
func NewJobTask(k *Keyring, kind store.Kind, p Job) (*asynq.Task, error) {
	p.V = Version
	sealed := make(map[string]string, len(p.Member.Credentials))
	for name, v := range p.Member.Credentials {
		if err := plainValue(fmt.Sprintf("member: credential %q", name), v); err != nil {
			return nil, err
		}
		sealed[name] = k.Seal(credContext(p.JobID, name), v)
	}
	if len(sealed) > 0 {
		p.Member.Credentials = sealed
	}
	if err := validFallback(kind, &p, true); err != nil {
		return nil, err
	}
	if p.Fallback != nil {
		a := *p.Fallback
		sealAccount(k, p.JobID, &a)
		p.Fallback = &a
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	typ := TypeVerify
	if kind == store.KindIdentify {
		typ = TypeIdentify
	} else if kind != store.KindVerify {
		return nil, fmt.Errorf("unknown job kind %q", kind)
	}
	return newTask(typ, p, asynq.Queue(QueueJobs), asynq.TaskID(StartID(p.JobID)),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// OpenCredentials returns the job's credential values in the clear.
func (p *Job) OpenCredentials(k *Keyring) (map[string]string, error) {
	out := make(map[string]string, len(p.Member.Credentials))
	for name, v := range p.Member.Credentials {
		plain, err := k.Open(credContext(p.JobID, name), v)
		if err != nil {
			return nil, openErr("credential "+name, err)
		}
		out[name] = plain
	}
	return out, nil
}

// OpenAnswers returns the answers in the clear.
func (p *Answer) OpenAnswers(k *Keyring) ([]mx.ChallengeAnswer, error) {
	out := make([]mx.ChallengeAnswer, 0, len(p.Answers))
	for _, a := range p.Answers {
		plain, err := k.Open(answerContext(p, a.GUID), a.Value)
		if err != nil {
			return nil, openErr("answer to "+a.GUID, err)
		}
		out = append(out, mx.ChallengeAnswer{GUID: a.GUID, Value: plain})
	}
	return out, nil
}

// openErr: a key this worker lacks may be held by another (a rotation
// being rolled out), so that is worth a retry; anything else will never
// open and is a bad payload.
func openErr(what string, err error) error {
	if errors.Is(err, seal.ErrUnknownKey) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrBadPayload, what, err)
}

// NewAnswerTask builds an mx:answer task, sealing the answer values with k;
// its id names the job and the answer.
func NewAnswerTask(k *Keyring, p Answer) (*asynq.Task, error) {
	p.V = Version
	if err := CheckAmounts(p.Answers); err != nil {
		return nil, err
	}
	sealed := make([]mx.ChallengeAnswer, 0, len(p.Answers))
	for _, a := range p.Answers {
		if err := plainValue("the answer to challenge "+a.GUID, a.Value); err != nil {
			return nil, err
		}
		sealed = append(sealed, mx.ChallengeAnswer{GUID: a.GUID, Value: k.Seal(answerContext(&p, a.GUID), a.Value)})
	}
	p.Answers = sealed
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeAnswer, p, asynq.Queue(QueueAnswers), asynq.TaskID("answer:"+p.JobID+":"+p.AnswerID),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// notBefore schedules a task to run at t by the clock that read now, not
// earlier. asynq keeps scheduled times in whole seconds (the score is
// t.Unix()) and moves a task once the clock's second reaches it, so a task
// at 12:00:02.9 could run at 12:00:02.0: a first poll meant for 2.4 s
// after MX started the job ran at 1.4 s, under MX's 3 s minimum and before
// short jobs ended. Times are rounded up to the next second instead. Waits
// of a second or less (tests, benchmarks) mean "soon" and are kept as they
// are. asynq adds the delay to its own reading of the clock, which is later
// than now: the task runs no earlier than t.
func notBefore(now, t time.Time) asynq.Option {
	if d := t.Sub(now); d <= time.Second {
		return asynq.ProcessIn(max(d, 0))
	}
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return asynq.ProcessIn(t.Sub(now))
}

// NewPollTask builds the n-th poll of a job, to run at at (now is the
// clock's reading that at was computed from). Its id is
// "poll:<job id>:<n>": a handler that runs twice cannot fork a second chain.
//
// Follow-up tasks (poll, trigger, expire) are not retained once done: a
// late duplicate that enqueues one again after it ran finds the job record
// past it and does nothing, so keeping finished ones (about 450 bytes of
// Redis each, several per waiting job) would buy nothing.
func NewPollTask(jobID string, n int, now, at time.Time) (*asynq.Task, error) {
	return newTask(TypePoll, Poll{V: Version, JobID: jobID, N: n}, asynq.Queue(QueuePolls),
		asynq.TaskID(PollID(jobID, n)), notBefore(now, at),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// NewTriggerTask builds the task that starts MX job number attempt at at.
func NewTriggerTask(jobID string, attempt int, now, at time.Time) (*asynq.Task, error) {
	return newTask(TypeTrigger, Trigger{V: Version, JobID: jobID, Attempt: attempt}, asynq.Queue(QueuePolls),
		asynq.TaskID(TriggerID(jobID, attempt)), notBefore(now, at),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// NewExpireTask builds the task that ends MFA round round at at.
func NewExpireTask(jobID string, round int, now, at time.Time) (*asynq.Task, error) {
	return newTask(TypeExpire, Expire{V: Version, JobID: jobID, Round: round}, asynq.Queue(QueueAnswers),
		asynq.TaskID(ExpireID(jobID, round)), notBefore(now, at),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}
