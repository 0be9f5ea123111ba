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
}

// Verify starts a verification job: account and routing numbers.
func (c *Client) Verify(ctx context.Context, r Request) (*store.Job, error) {
	return c.submit(ctx, store.KindVerify, r)
}

// Identify starts an identification job: account owners.
func (c *Client) Identify(ctx context.Context, r Request) (*store.Job, error) {
	return c.submit(ctx, store.KindIdentify, r)
}

func (c *Client) submit(ctx context.Context, kind store.Kind, r Request) (*store.Job, error) {
	if r.ID == "" {
		r.ID = "job_" + uuid.NewString()
	}
	p := Job{V: Version, JobID: r.ID, User: r.User, Member: r.Member}
	task, err := NewJobTask(c.keys, kind, p)
	if err != nil {
		return nil, err
	}
	j, created, err := c.store.Create(ctx, &store.Job{
		ID: r.ID, Kind: kind, State: store.StatePending,
		UserGUID: r.User.GUID, MemberGUID: r.Member.GUID, InstitutionCode: r.Member.InstitutionCode, Follow: r.Member.Follow,
	})
	if err != nil {
		return nil, err
	}
	if !created && j.Kind != kind {
		return j, fmt.Errorf("job %s is a %s job: %w", j.ID, j.Kind, ErrIDConflict)
	}
	if !created && j.State != store.StatePending {
		return j, nil // started already: nothing to enqueue
	}
	// A pending job is (re)enqueued: the task id makes this a no-op when
	// the first enqueue went through, and a repair when it did not.
	if _, err := c.q.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return j, fmt.Errorf("enqueue job %s (the record exists; submit the same id again to retry): %w", j.ID, err)
	}
	return j, nil
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
		if err != nil {
			return last, err
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
