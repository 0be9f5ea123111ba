package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// notify enqueues the callback for an event the job is about to record.
// It runs before the record changes, so a crash in between cannot lose it;
// delivery waits (retries) until the record gets there, and drops the event
// only once the record shows it never will.
func (h *Handlers) notify(ctx context.Context, j *store.Job, ev tasks.Callback) error {
	if j.CallbackURL == "" {
		return nil
	}
	ev.JobID, ev.At = j.ID, h.now().UTC()
	return h.enqueue(ctx)(tasks.NewCallbackTask(ev))
}

// handleCallback runs mx:callback: POST the signed event once.
func (h *Handlers) handleCallback(ctx context.Context, t *asynq.Task) error {
	var p tasks.Callback
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	if done, err := h.store.Delivered(ctx, p.EventID); err != nil || done {
		if done {
			h.dropped(ctx, t, p.JobID, "event "+p.EventID+" already delivered")
		}
		return err
	}
	j, err := h.jobFor(ctx, t, p.JobID)
	if j == nil {
		return err
	}
	// The event was enqueued before the record moved. Send it once the
	// record is there; wait while it may still get there; drop it only when
	// it never will (a race ended the job otherwise than announced).
	reached, never := false, false
	switch p.State {
	case store.StateChallenged:
		reached, never = j.Round >= p.Round, j.State.Terminal() && j.Round < p.Round
	case store.StateAuthorizing:
		reached, never = j.OAuthWindows >= p.Round, j.State.Terminal() && j.OAuthWindows < p.Round
	default:
		reached, never = j.State == p.State, j.State.Terminal() && j.State != p.State
	}
	if never {
		h.log.Info().Str("job", j.ID).Str("event", p.EventID).Msg("callback dropped: the job ended otherwise")
		return nil
	}
	if !reached {
		// A wait, not a failure: the handler that enqueued the event
		// writes the record right after.
		return wait(job.WaitDelay, "callback %s: job %s has not recorded it yet", p.EventID, j.ID)
	}
	if j.CallbackURL == "" || h.cfg.CallbackClient == nil || h.cfg.CallbackAllow == nil {
		return stop("job %s has a callback but this worker has no %s", j.ID, "MXFLEET_CALLBACK_ALLOW")
	}
	if err := h.cfg.CallbackAllow.Check(j.CallbackURL); err != nil {
		return stop("callback %s refused: %v", p.EventID, err)
	}
	// The body is the record; a challenged event shows the round it
	// announces (the record may have moved on since).
	v := j.View()
	if p.State == store.StateChallenged {
		v.State, v.ConnectionStatus, v.Challenges, v.Error, v.Result, v.ETA = p.State, p.ConnectionStatus, p.Challenges, nil, nil, store.EndUserETA()
	}
	if p.State == store.StateAuthorizing {
		// The window it announces (the record may have moved on).
		v.State, v.ConnectionStatus, v.OAuthWindowURI, v.OAuthWindows, v.Error, v.Result, v.ETA = p.State, p.ConnectionStatus, p.OAuthWindowURI, p.Round, nil, nil, store.EndUserETA()
	}
	if v.Challenges == nil {
		v.Challenges = []store.Challenge{}
	}
	if p.State != store.StateSucceeded || !j.CallbackResults {
		v.Result, v.Match = nil, nil // the owner match goes with the results
	}
	body, err := json.Marshal(tasks.Event{ID: p.EventID, Type: "job." + string(p.State), CreatedAt: p.At, Job: v})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return stop("callback for job %s: the URL does not make a request", j.ID) // the URL may carry a token: not quoted
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mxfleet-callbacks")
	req.Header.Set(tasks.EventHeader, p.EventID)
	req.Header.Set(tasks.SignatureHeader, tasks.Sign(h.cfg.CallbackSecret, h.now(), body))
	host := req.URL.Host
	resp, err := h.cfg.CallbackClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token: name the host only
		}
		return fmt.Errorf("callback %s to %s: %v", p.EventID, host, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback %s to %s: HTTP %d", p.EventID, host, resp.StatusCode)
	}
	h.log.Info().Str("job", j.ID).Str("event", p.EventID).Msg("callback delivered")
	return h.store.MarkDelivered(ctx, p.EventID)
}
