package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// TypeOAuth asks MX for a fresh oauth_window_uri for an authorizing job.
const TypeOAuth = "mx:oauth"

// ErrNotAuthorizing: the job is not waiting for an OAuth authorization.
var ErrNotAuthorizing = job.ErrNotAuthorizing

// OAuth is an OAuth job's options (Member.OAuth): the end user authorizes
// MX at the institution, at the job's oauth_window_uri.
type OAuth = job.OAuth

// OAuthWindow is the payload of mx:oauth: ask for window number Window.
type OAuthWindow struct {
	V      int    `json:"v"`
	JobID  string `json:"job_id"`
	Window int    `json:"window"`
}

func (p *OAuthWindow) version() int { return p.V }

// Validate checks an mx:oauth payload.
func (p *OAuthWindow) Validate() error {
	if p.Window < 2 {
		return errors.New("window must be at least 2 (window 1 comes with the member)")
	}
	return store.ValidateID(p.JobID)
}

// OAuthID is the id of the task asking for window n of a job.
func OAuthID(jobID string, n int) string { return job.OAuthID(jobID, n) }

// NewOAuthWindowTask builds the mx:oauth task of window n; its id is
// OAuthID, so asking twice before the worker runs it asks MX once.
func NewOAuthWindowTask(jobID string, n int) (*asynq.Task, error) {
	p := OAuthWindow{V: Version, JobID: jobID, Window: n}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeOAuth, p, asynq.Queue(QueueAnswers), asynq.TaskID(OAuthID(jobID, n)),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// validOAuth checks an OAuth member: an institution, no credentials, no
// member guid, and MX's options.
func validOAuth(m Member) error {
	if m.OAuth == nil {
		return nil
	}
	if m.GUID != "" || len(m.Credentials) > 0 || m.Follow || m.InstitutionCode == "" {
		return errors.New("member: oauth takes an institution code and no credentials, member guid or follow (the end user authorizes MX at the institution)")
	}
	return m.OAuth.Validate()
}

// RequestOAuthWindow asks for a fresh oauth_window_uri for a job waiting
// for the end user's OAuth authorization (the last one was used, lost or
// is about to expire) and returns the window's number; the worker asks MX
// and the job's oauth_window_uri becomes the new one (the old one stops
// working). Asking again before the worker has done so is the same
// request. A job not authorizing is refused: ErrNotAuthorizing.
func (c *Client) RequestOAuthWindow(ctx context.Context, jobID string) (int, error) {
	j, err := c.store.Get(ctx, jobID)
	if err != nil {
		return 0, err
	}
	if j.State != store.StateAuthorizing {
		why := ""
		if j.OAuth == nil {
			why = " (not an OAuth job)"
		}
		return 0, fmt.Errorf("job %s is %s%s: %w", jobID, j.State, why, ErrNotAuthorizing)
	}
	n := j.OAuthWindows + 1
	task, err := NewOAuthWindowTask(jobID, n)
	if err != nil {
		return 0, err
	}
	if _, err := c.q.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, fmt.Errorf("enqueue the request for a fresh OAuth window for job %s: %w", jobID, err)
	}
	return n, nil
}

// notChallengedHint explains why an authorizing job takes no answers.
func notChallengedHint(j *store.Job) string {
	if j.State == store.StateAuthorizing {
		return " (an OAuth job: the end user authorizes at its oauth_window_uri; there is nothing to answer)"
	}
	return ""
}
