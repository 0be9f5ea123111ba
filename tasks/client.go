package tasks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// Errors the producer Client returns.
var (
	ErrNotFound          = store.ErrNotFound
	ErrIDConflict        = errors.New("job id already used by a job of another kind")
	ErrRequestDiffers    = errors.New("job id already used by a job with another request")
	ErrNotChallenged     = errors.New("job is not waiting for MFA answers")
	ErrChallengeMismatch = errors.New("answers do not match the job's challenges")
	// ErrAlreadyAnswered: another answer to the job's current MFA round
	// is being applied; this one would be refused.
	ErrAlreadyAnswered = errors.New("the job's MFA round was already answered")
)

// Client enqueues jobs and answers and reads job records. It is safe for
// concurrent use.
type Client struct {
	q     *asynq.Client
	insp  *asynq.Inspector
	store *store.Store
	keys  *Keyring
	eta   store.Estimator // nil: views say no ETA is learned
}

// NewClient returns a producer over rdb (for example
// asynq.ParseRedisURI(url) → MakeRedisClient) that seals credentials and
// answers with keys (ParseKeys(os.Getenv(KeysEnv))) and opens results with
// them. Close it when done; rdb itself stays open.
func NewClient(rdb redis.UniversalClient, keys *Keyring, opts ...store.Option) *Client {
	return &Client{q: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb),
		store: store.New(rdb, keys, opts...), keys: keys}
}

// SetEstimator makes the views the client returns carry running jobs'
// learned ETAs from est (a read-only internal/learn.Learner over the
// fleet's shared estimates); without one they say none. Call it before
// using the client.
func (c *Client) SetEstimator(est store.Estimator) { c.eta = est }

// Close releases the client.
func (c *Client) Close() error { return c.q.Close() }

// Request describes a job. ID is optional: without it one is generated.
// Using an id again with the same request returns the existing job and
// changes nothing; with another request it is refused (ErrRequestDiffers).
type Request struct {
	ID     string
	User   User
	Member Member
	// CallbackURL, when set, receives a signed POST when the job is
	// challenged, succeeds or fails. The API refuses hosts not on
	// MXFLEET_CALLBACK_ALLOW at creation; workers check every delivery
	// against their own MXFLEET_CALLBACK_ALLOW (and the address dialled).
	CallbackURL string
	// CallbackResults puts the results in the succeeded event.
	CallbackResults bool
	// Person, identify jobs only: the upstream's data about the person,
	// matched against the account owners (View.Match). Sealed in the job
	// record; see Person.
	Person *Person
	// Thresholds, identify jobs with a Person only: the verdict
	// thresholds of the owner match; nil: match.DefaultThresholds.
	Thresholds *Thresholds
	// Fallback, verify jobs only: the account to verify by micro-deposits
	// should MX not support instant verification at the institution
	// (fallback.go). Checked as a micro-deposit job's account, sealed in
	// the start task.
	Fallback *Account
}

// An OAuth job (Member.OAuth set, an institution code, no credentials)
// waits in state authorizing for the end user at its OAuthWindowURI (see
// RequestOAuthWindow for a fresh one), then runs on by itself.

// Verify starts a verification job: account and routing numbers.
func (c *Client) Verify(ctx context.Context, r Request) (*store.View, error) {
	v, _, err := c.Submit(ctx, store.KindVerify, r)
	return v, err
}

// Identify starts an identification job: account owners.
func (c *Client) Identify(ctx context.Context, r Request) (*store.View, error) {
	v, _, err := c.Submit(ctx, store.KindIdentify, r)
	return v, err
}

// Submit starts a job of the given kind and tells whether it is new.
//
// An id used before returns the existing job, changed in nothing, when the
// request is the same; a job of another kind is refused with
// ErrIDConflict, and another request with an error wrapping
// ErrRequestDiffers that names the fields that differ (never their
// values). What is compared: the user (partner id or guid), the member
// (guid, institution code, follow), the names of the credentials (never
// their values: they are sealed), the callback URL and callback_results,
// the person (opened from the record with the client's keys), the
// thresholds (none and the defaults are the same), and the
// fallback account (whether one was given; its values while the start
// task is in Redis).
// The job record keeps neither the partner user id nor the credential
// names, so those two are compared only while the job's start task is
// still in Redis (until a worker has started the job); after that, the
// user guid the worker found stands for the user.
func (c *Client) Submit(ctx context.Context, kind store.Kind, r Request) (*store.View, bool, error) {
	j, created, err := c.submit(ctx, kind, r)
	return c.view(ctx, j), created, err
}

// view is j's public shape (store.View), its ETA from the client's
// estimator; nil for nil. Everything the producer API returns goes
// through it: callers never see the record's bookkeeping (claims,
// attempts, marks).
func (c *Client) view(ctx context.Context, j *store.Job) *store.View {
	if j == nil {
		return nil
	}
	v := j.ViewWith(ctx, c.eta)
	return &v
}

func (c *Client) submit(ctx context.Context, kind store.Kind, r Request) (*store.Job, bool, error) {
	if r.ID == "" {
		r.ID = "job_" + uuid.NewString()
	}
	p := Job{V: Version, JobID: r.ID, User: r.User, Member: r.Member, Fallback: r.Fallback}
	task, err := NewJobTask(c.keys, kind, p)
	if err != nil {
		return nil, false, err
	}
	if err := cmp.Or(ValidatePerson(kind, r.Person), ValidateThresholds(kind, r.Person, r.Thresholds)); err != nil {
		return nil, false, err
	}
	j, created, err := c.store.Create(ctx, &store.Job{Record: job.Record{
		ID: r.ID, Kind: kind, State: store.StatePending,
		UserGUID: r.User.GUID, MemberGUID: r.Member.GUID, InstitutionCode: r.Member.InstitutionCode, Follow: r.Member.Follow,
		Reauth:      r.Member.GUID != "" && len(r.Member.Credentials) > 0,
		CallbackURL: r.CallbackURL, CallbackResults: r.CallbackResults, OAuthProgress: job.OAuthProgress{OAuth: r.Member.OAuth},
		Fallback: fallbackKind(r.Fallback),
	}, Person: r.Person, Thresholds: jobThresholds(r.Thresholds)})
	if err != nil {
		return nil, false, err
	}
	if !created && j.Kind != kind {
		return j, false, fmt.Errorf("job %s is a %s job: %w", j.ID, j.Kind, ErrIDConflict)
	}
	if !created {
		start := c.startPayload(j.ID)
		diff := append(requestDiff(j, start, r), c.fallbackDiff(j, start, r)...)
		if differs, err := c.personDiffers(j, r.Person); err != nil {
			return nil, false, err // as when the record's result does not open
		} else if differs {
			diff = append(diff, "person")
		}
		if len(diff) > 0 {
			return j, false, fmt.Errorf("job %s was submitted with other %s: %w", j.ID, strings.Join(diff, ", "), ErrRequestDiffers)
		}
	}
	if !created && j.State != store.StatePending {
		return j, false, nil // started already: nothing to enqueue
	}
	// A pending job is (re)enqueued: the task id makes this a no-op when
	// the first enqueue went through, and a repair when it did not.
	j, err = c.enqueueStart(ctx, j, created, task)
	return j, created && j != nil, err
}

// enqueueStart enqueues job j's start task. When that fails and this
// submission created j, j is withdrawn (store.Withdraw), unless its start
// task is there after all: a refused submission leaves no record behind
// (a full Redis takes the record, then refuses the task). It returns the
// record that stands: nil once withdrawn.
func (c *Client) enqueueStart(ctx context.Context, j *store.Job, created bool, task *asynq.Task) (*store.Job, error) {
	_, err := c.q.EnqueueContext(ctx, task)
	if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) {
		return j, nil
	}
	why := ""
	if store.Full(err) {
		why = "Redis is full (it takes no writes until memory is freed); "
	}
	if created {
		if _, terr := c.insp.GetTaskInfo(QueueJobs, StartID(j.ID)); errors.Is(terr, asynq.ErrTaskNotFound) || errors.Is(terr, asynq.ErrQueueNotFound) {
			if ok, _ := c.store.Withdraw(ctx, j); ok {
				return nil, fmt.Errorf("enqueue job %s: %snothing was recorded: submit it again: %w", j.ID, why, err)
			}
		}
	}
	return j, fmt.Errorf("enqueue job %s: %sthe record exists: submit the same id again to enqueue it; a job left without its start task fails task_lost after the sweeper's quiet period: %w", j.ID, why, err)
}

// startPayload is the payload of the job's start task while asynq holds
// it (pending, scheduled, retrying, running or archived); nil once it is
// gone (started jobs' finished start tasks are not retained) or unreadable.
func (c *Client) startPayload(jobID string) *Job {
	ti, err := c.insp.GetTaskInfo(QueueJobs, StartID(jobID))
	if err != nil {
		return nil
	}
	var p Job
	if Decode(ti.Payload, &p) != nil || p.JobID != jobID {
		return nil
	}
	return &p
}

// requestDiff names the fields of r that differ from the request job j was
// created with, as the record j keeps it and, when not nil, as its start
// task's payload p has it. Names, never values.
func requestDiff(j *store.Job, p *Job, r Request) []string {
	var diff []string
	add := func(field string, differs bool) {
		if differs && !slices.Contains(diff, field) {
			diff = append(diff, field)
		}
	}
	// Until a worker starts the job, the record's user and member guids
	// are the ones given; after, the worker's finds fill them in.
	pending := j.State == store.StatePending
	switch {
	case p != nil:
		add("user.id", p.User.ID != r.User.ID)
		add("user.guid", p.User.GUID != r.User.GUID)
	case r.User.GUID != "":
		add("user.guid", j.UserGUID != r.User.GUID)
		add("user.id", pending && j.UserGUID == "") // given a partner id then
	case pending:
		// r gives a partner id: the first request did too unless the
		// record holds a guid.
		add("user.id", j.UserGUID != "")
		add("user.guid", j.UserGUID != "")
		// Started: the record does not keep the partner id; the guid the
		// worker found for it cannot be told from a guid given.
	}
	switch {
	case p != nil:
		add("member.guid", p.Member.GUID != r.Member.GUID)
		add("member.credentials", !slices.Equal(credentialNames(p.Member.Credentials), credentialNames(r.Member.Credentials)))
	case r.Member.GUID != "":
		add("member.guid", j.MemberGUID != r.Member.GUID)
		add("member.credentials", j.Reauth != (len(r.Member.Credentials) > 0))
	case pending:
		add("member.guid", j.MemberGUID != "")
	}
	add("member.institution_code", j.InstitutionCode != r.Member.InstitutionCode)
	add("member.follow", j.Follow != r.Member.Follow)
	add("member.oauth", !j.OAuth.Same(r.Member.OAuth))
	add("callback_url", j.CallbackURL != r.CallbackURL)
	add("callback_results", j.CallbackResults != r.CallbackResults)
	add("thresholds", *cmp.Or(j.Thresholds, &match.DefaultThresholds) != *cmp.Or(r.Thresholds, &match.DefaultThresholds))
	return diff
}

// credentialNames is the sorted set of credential names, each as the
// worker matches it to a field: case and spaces do not count.
func credentialNames(creds map[string]string) []string {
	out := make([]string, 0, len(creds))
	for name := range creds {
		n := strings.ToLower(strings.Join(strings.Fields(name), ""))
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Parked lists the jobs waiting for MFA answers.
func (c *Client) Parked(ctx context.Context) ([]store.Parked, error) { return c.store.Parked(ctx) }

// Wake runs now the scheduled poll of the job following an MX member (an
// MX webhook says the member changed). jobID, when not empty, is the job
// the webhook names (MX's X-CALLBACK-PAYLOAD); it is used when that job
// follows memberGUID, else the member's job is. A payload naming a job
// the store no longer holds (purged, expired) is a late webhook about
// that job: store.ErrNotFound, as for a member no job follows.
//
// Whether the webhook may wake the job is job.WebhookPoll's: only a job
// polling MX has a poll to run, the one its schedule holds, so nothing is
// polled twice. delivery, when not empty, identifies the webhook delivery
// (a digest): a delivery MX sends again, or a duplicate of it, wakes the
// job once. Ended, parked and unknown jobs are only read: nothing is
// written or enqueued for them. Wake reports the job and whether a
// scheduled poll was there to run.
func (c *Client) Wake(ctx context.Context, memberGUID, jobID, delivery string) (string, bool, error) {
	var r *job.Record
	if jobID != "" {
		// MX's X-CALLBACK-PAYLOAD names the job; believed only for the
		// member the webhook is about.
		found, err := c.store.Peek(ctx, jobID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "", false, err
		case err != nil:
			return jobID, false, err
		case memberGUID == "" || found.MemberGUID == memberGUID:
			r = found
		}
	}
	if r == nil {
		if memberGUID == "" {
			return "", false, store.ErrNotFound
		}
		id, err := c.store.JobByMember(ctx, memberGUID)
		if err != nil {
			return "", false, err
		}
		if r, err = c.store.Peek(ctx, id); err != nil {
			return id, false, err
		}
	}
	poll, ok := job.WebhookPoll(r)
	if !ok {
		return r.ID, false, nil // parked, ended, or between MX jobs: no poll to run
	}
	if delivery != "" {
		if first, err := c.store.FirstDelivery(ctx, r.ID, delivery); err != nil || !first {
			return r.ID, false, err // a copy of a delivery that reached the job already
		}
	}
	if err := c.insp.RunTask(Queue(poll.Kind), poll.ID); err != nil {
		return r.ID, false, nil // not scheduled (running now, or already queued): polling goes on
	}
	return r.ID, true, nil
}

// Answer sends MFA answers (challenge guid → value) for a challenged job
// and returns the answer's id. The job must be parked on exactly these
// challenges; the worker checks again and resumes the job once, however
// many answers arrive. A round another answer has claimed already is
// refused here (ErrAlreadyAnswered); what only the worker finds (a key it
// lacks, a round answered meanwhile) shows as the job's LastRefusedAnswer.
func (c *Client) Answer(ctx context.Context, jobID string, answers map[string]string) (string, error) {
	j, err := c.store.Get(ctx, jobID)
	if err != nil {
		return "", err
	}
	if j.State != store.StateChallenged {
		return "", fmt.Errorf("job %s is %s%s: %w", jobID, j.State, notChallengedHint(j), ErrNotChallenged)
	}
	if j.ResumeClaim != "" {
		return "", fmt.Errorf("job %s: answer %s is being applied to MFA round %d: %w", jobID, j.ResumeClaim, j.Round, ErrAlreadyAnswered)
	}
	if err := MatchChallenges(j.Challenges, answers); err != nil {
		return "", err
	}
	p := Answer{V: Version, JobID: jobID, AnswerID: uuid.NewString(), Round: j.Round}
	for _, ch := range j.Challenges {
		p.Answers = append(p.Answers, mx.ChallengeAnswer{GUID: ch.GUID, Value: answers[ch.GUID]})
	}
	task, err := NewAnswerTask(c.keys, p)
	if err != nil {
		return "", err
	}
	if _, err := c.q.EnqueueContext(ctx, task); err != nil {
		return "", fmt.Errorf("enqueue answer for job %s: %w", jobID, err)
	}
	return p.AnswerID, nil
}

// MatchChallenges checks that answers (guid → value) answer exactly the
// given challenges.
func MatchChallenges(chs []store.Challenge, answers map[string]string) error {
	want := make([]string, 0, len(chs))
	for _, ch := range chs {
		want = append(want, ch.GUID)
	}
	got := make([]string, 0, len(answers))
	for g := range answers {
		got = append(got, g)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Errorf("%w: challenges %v, answered %v", ErrChallengeMismatch, want, got)
	}
	return nil
}

// Status reads a job: its public view (results opened with the keys).
func (c *Client) Status(ctx context.Context, jobID string) (*store.View, error) {
	j, err := c.store.Get(ctx, jobID)
	return c.view(ctx, j), err
}

// Wait blocks until the job has ended (or ctx ends) and returns its view.
// Running out of time is always an error (see Watch).
func (c *Client) Wait(ctx context.Context, jobID string) (*store.View, error) {
	return c.Watch(ctx, jobID, nil)
}

// watchInterval is how often Watch reads the record.
const watchInterval = 100 * time.Millisecond

// Watch reads the job until it has ended, calling fn (when not nil) with
// every change of state, connection status, poll count or MFA round; fn
// returning false stops the watch early (nil error). It returns the last
// view read, and a nil error only when the job has ended or fn stopped
// the watch. fn and the result see the job's view (store.View). When ctx ends first, the error wraps ctx's error
// (context.DeadlineExceeded or context.Canceled) and says the job's state
// as last read ("job X is still challenged: context deadline exceeded").
// A job that does not exist (ErrNotFound), an invalid id and a record whose
// results these keys cannot open end the watch at once; other read errors
// (Redis failing over) are retried until ctx ends.
func (c *Client) Watch(ctx context.Context, jobID string, fn func(*store.View) bool) (*store.View, error) {
	if err := store.ValidateID(jobID); err != nil {
		return nil, err
	}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var last *store.View
	var readErr error // the latest read error not due to ctx, while last is older
	for {
		rec, err := c.store.Get(ctx, jobID)
		switch {
		case err == nil:
			j := c.view(ctx, rec)
			changed := last == nil || j.State != last.State || j.ConnectionStatus != last.ConnectionStatus || j.Polls != last.Polls || j.Round != last.Round
			last, readErr = j, nil
			if changed && fn != nil && !fn(j) {
				return j, nil
			}
			if j.State.Terminal() {
				return j, nil
			}
		case errors.Is(err, store.ErrNotFound), errors.Is(err, seal.ErrUnknownKey), errors.Is(err, seal.ErrWrongKey), errors.Is(err, seal.ErrNotSealed):
			return last, err
		case ctx.Err() == nil:
			// Redis unreachable for a moment (a failover, a restart): the
			// job goes on without us; keep watching until ctx ends.
			readErr = err
		}
		// Checked after every read, whatever it returned: a deadline that
		// passes during a read is a timeout like any other.
		if ctx.Err() != nil {
			return last, stillErr(ctx, jobID, last, readErr)
		}
		select {
		case <-ctx.Done():
			return last, stillErr(ctx, jobID, last, readErr)
		case <-t.C:
		}
	}
}

// stillErr is Watch's error when ctx ends before the job: it wraps ctx's
// error and says where the job stood.
func stillErr(ctx context.Context, jobID string, last *store.View, readErr error) error {
	var msg string
	switch {
	case last != nil:
		msg = fmt.Sprintf("job %s is still %s", jobID, last.State)
	default:
		msg = fmt.Sprintf("job %s was not read", jobID)
	}
	if readErr != nil {
		msg += fmt.Sprintf(" (last read failed: %v)", readErr)
	}
	return fmt.Errorf("%s: %w", msg, ctx.Err())
}
