package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// Errors the producer Client returns.
var (
	ErrNotFound          = store.ErrNotFound
	ErrIDConflict        = errors.New("job id already used by a job of another kind")
	ErrNotChallenged     = errors.New("job is not waiting for MFA answers")
	ErrChallengeMismatch = errors.New("answers do not match the job's challenges")
)

// Client enqueues jobs and answers and reads job records. It is safe for
// concurrent use.
type Client struct {
	q     *asynq.Client
	insp  *asynq.Inspector
	store *store.Store
	keys  *Keyring
}

// NewClient returns a producer over rdb (for example
// asynq.ParseRedisURI(url) → MakeRedisClient) that seals credentials and
// answers with keys (ParseKeys(os.Getenv(KeysEnv))) and opens results with
// them. Close it when done; rdb itself stays open.
func NewClient(rdb redis.UniversalClient, keys *Keyring, opts ...store.Option) *Client {
	return &Client{q: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb),
		store: store.New(rdb, keys, opts...), keys: keys}
}

// Close releases the client.
func (c *Client) Close() error { return c.q.Close() }

// Request describes a job. ID is optional: without it one is generated.
// Using an id again returns the existing job and changes nothing.
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
}

// Verify starts a verification job: account and routing numbers.
func (c *Client) Verify(ctx context.Context, r Request) (*store.Job, error) {
	j, _, err := c.Submit(ctx, store.KindVerify, r)
	return j, err
}

// Identify starts an identification job: account owners.
func (c *Client) Identify(ctx context.Context, r Request) (*store.Job, error) {
	j, _, err := c.Submit(ctx, store.KindIdentify, r)
	return j, err
}

// Submit starts a job of the given kind and tells whether it is new; an id
// used before returns the existing job, changed in nothing.
func (c *Client) Submit(ctx context.Context, kind store.Kind, r Request) (*store.Job, bool, error) {
	if r.ID == "" {
		r.ID = "job_" + uuid.NewString()
	}
	p := Job{V: Version, JobID: r.ID, User: r.User, Member: r.Member}
	task, err := NewJobTask(c.keys, kind, p)
	if err != nil {
		return nil, false, err
	}
	j, created, err := c.store.Create(ctx, &store.Job{
		ID: r.ID, Kind: kind, State: store.StatePending,
		UserGUID: r.User.GUID, MemberGUID: r.Member.GUID, InstitutionCode: r.Member.InstitutionCode, Follow: r.Member.Follow,
		CallbackURL: r.CallbackURL, CallbackResults: r.CallbackResults,
	})
	if err != nil {
		return nil, false, err
	}
	if !created && j.Kind != kind {
		return j, false, fmt.Errorf("job %s is a %s job: %w", j.ID, j.Kind, ErrIDConflict)
	}
	if !created && j.State != store.StatePending {
		return j, false, nil // started already: nothing to enqueue
	}
	// A pending job is (re)enqueued: the task id makes this a no-op when
	// the first enqueue went through, and a repair when it did not.
	if _, err := c.q.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return j, created, fmt.Errorf("enqueue job %s (the record exists: submit the same id again to enqueue it; a job left without its start task fails task_lost after the sweeper's quiet period): %w", j.ID, err)
	}
	return j, created, nil
}

// Parked lists the jobs waiting for MFA answers.
func (c *Client) Parked(ctx context.Context) ([]store.Parked, error) { return c.store.Parked(ctx) }

// Wake runs now the scheduled poll of the job following an MX member (an
// MX webhook says the member changed). jobID, when not empty, is the job
// the webhook names (MX's X-CALLBACK-PAYLOAD); it is used when that job
// follows memberGUID, else the member's job is. It is the same task the
// schedule holds, so nothing is polled twice; it reports the job and
// whether a scheduled poll was there to run. No job: store.ErrNotFound.
func (c *Client) Wake(ctx context.Context, memberGUID, jobID string) (string, bool, error) {
	var j *store.Job
	if jobID != "" {
		// MX's X-CALLBACK-PAYLOAD names the job; believed only for the
		// member the webhook is about.
		if found, err := c.store.Get(ctx, jobID); err == nil && (memberGUID == "" || found.MemberGUID == memberGUID) {
			j = found
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobID, false, err
		}
	}
	if j == nil {
		if memberGUID == "" {
			return "", false, store.ErrNotFound
		}
		id, err := c.store.JobByMember(ctx, memberGUID)
		if err != nil {
			return "", false, err
		}
		if j, err = c.store.Get(ctx, id); err != nil {
			return id, false, err
		}
	}
	id := j.ID
	if j.State != store.StateRunning || j.Triggered < j.Attempt {
		return id, false, nil // parked, ended, or between MX jobs: no poll to run
	}
	if err := c.insp.RunTask(QueuePolls, PollID(id, j.Polls+1)); err != nil {
		return id, false, nil // not scheduled (running now, or already queued): polling goes on
	}
	return id, true, nil
}

// Answer sends MFA answers (challenge guid → value) for a challenged job
// and returns the answer's id. The job must be parked on exactly these
// challenges; the worker checks again and resumes the job once, however
// many answers arrive.
func (c *Client) Answer(ctx context.Context, jobID string, answers map[string]string) (string, error) {
	j, err := c.store.Get(ctx, jobID)
	if err != nil {
		return "", err
	}
	if j.State != store.StateChallenged || j.ResumeClaim != "" {
		return "", fmt.Errorf("job %s is %s: %w", jobID, j.State, ErrNotChallenged)
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
func MatchChallenges(chs []mx.Challenge, answers map[string]string) error {
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

// Status reads a job record.
func (c *Client) Status(ctx context.Context, jobID string) (*store.Job, error) {
	return c.store.Get(ctx, jobID)
}

// Wait blocks until the job has ended (or ctx ends) and returns its record.
func (c *Client) Wait(ctx context.Context, jobID string) (*store.Job, error) {
	return c.Watch(ctx, jobID, nil)
}

// watchInterval is how often Watch reads the record.
const watchInterval = 100 * time.Millisecond

// Watch reads the job until it has ended, calling fn (when not nil) with
// every change of state, connection status or poll count; fn returning
// false stops the watch early. It returns the last record read.
func (c *Client) Watch(ctx context.Context, jobID string, fn func(*store.Job) bool) (*store.Job, error) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var last *store.Job
	for {
		j, err := c.store.Get(ctx, jobID)
		switch {
		case errors.Is(err, store.ErrNotFound) || ctx.Err() != nil:
			return last, err
		case err != nil:
			// Redis unreachable for a moment (a failover, a restart): the
			// job goes on without us; keep watching until ctx ends.
			select {
			case <-ctx.Done():
				return last, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			case <-t.C:
			}
			continue
		}
		changed := last == nil || j.State != last.State || j.ConnectionStatus != last.ConnectionStatus || j.Polls != last.Polls || j.Round != last.Round
		last = j
		if changed && fn != nil && !fn(j) {
			return j, nil
		}
		if j.State.Terminal() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-t.C:
		}
	}
}
