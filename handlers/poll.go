package handlers

import (
	"context"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// handlePoll runs mx:poll: read the member status once and move the job
// as the state machine decides (job.PollDue, job.Polled, job.Park,
// job.Succeed).
func (h *Handlers) handlePoll(ctx context.Context, t *asynq.Task) error {
	var p tasks.Poll
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	j, err := h.jobFor(ctx, t, p.JobID)
	if j == nil {
		return err
	}
	if done, err := h.decided(ctx, t, j.ID, job.PollDue(&j.Record, p.N)); done {
		return err
	}
	if done, err := h.overdue(ctx, j); done {
		return err
	}
	if j.Microdeposit() {
		return h.pollMicrodeposit(ctx, j, p.N)
	}
	hooked := h.webhookSeen(ctx, j)
	st, err := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID)
	if err != nil {
		return h.mxErr(ctx, j.ID, err)
	}
	read := reading(st)
	now, cfg := h.now(), h.core()
	d := job.Polled(&j.Record, p.N, read, now, cfg)
	var pay payload
	switch d.Need {
	case job.NeedChallenges:
		// The status read had none: read them (none: no longer
		// challenged, poll again soon).
		chs, err := mx.Collect(h.mx.Challenges(ctx, j.UserGUID, j.MemberGUID))
		if err != nil {
			return h.mxErr(ctx, j.ID, err)
		}
		pay.challenges = store.ChallengesFrom(chs)
		d = job.Park(&j.Record, p.N, read, len(pay.challenges), now, cfg)
	case job.NeedResults:
		if pay.result, err = h.results(ctx, j); err != nil {
			return h.mxErr(ctx, j.ID, err)
		}
		d = job.Succeed(&j.Record, p.N, read, len(pay.result.AccountNumbers)+len(pay.result.AccountOwners))
	}
	if d.Event != nil && d.Event.State == store.StateChallenged && pay.challenges == nil {
		pay.challenges = store.ChallengesFrom(st.Challenges)
	}
	if len(d.Tasks) == 1 && d.Tasks[0].Kind == job.TaskTrigger {
		h.log.Info().Str("job", j.ID).Str("connection_status", st.ConnectionStatus).Int("attempt", d.Tasks[0].N).
			Dur("in", h.cfg.RetryLaterDelay).Msg("MX failed transiently: job will start again")
	}
	_, _, err = h.execute(ctx, j, d, pay)
	if err == nil && d.Event != nil && d.Event.State.Terminal() {
		h.cfg.Metrics.FinishedByMX(hooked)
	}
	if err == nil && h.cfg.Observer != nil {
		h.cfg.Observer.Seen(&j.Record, p.N, read, st.SuccessfullyAggregatedAt, now)
	}
	return err
}

// webhookSeen tells whether an MX webhook about job j came after its
// record's last write, when this poll was scheduled: the poll it woke (or
// one already running when it came: Wake cannot tell those apart), and
// records how long ago it came. It reads the delivery set's age, one Redis
// read and no write, and only when webhooks are configured; an error
// reads as no webhook.
func (h *Handlers) webhookSeen(ctx context.Context, j *store.Job) bool {
	if !h.cfg.Webhooks {
		return false
	}
	since, ok, err := h.store.SinceDelivery(ctx, j.ID)
	if err != nil || !ok || since > h.now().Sub(j.UpdatedAt) {
		return false
	}
	h.cfg.Metrics.PollAfterWebhook(since)
	return true
}

// reading is the state machine's view of a status read.
func reading(st *mx.MemberStatus) job.Read {
	r := job.Read{ConnectionStatus: st.ConnectionStatus, BeingAggregated: st.IsBeingAggregated, AggregatedAt: st.AggregatedAt}
	for _, c := range st.Challenges {
		r.Challenges = append(r.Challenges, c.GUID)
	}
	return r
}

// results reads every page of the job's results.
func (h *Handlers) results(ctx context.Context, j *store.Job) (*store.Result, error) {
	if j.Kind == store.KindIdentify {
		owners, err := mx.Collect(h.mx.AccountOwners(ctx, j.UserGUID, j.MemberGUID))
		return store.ResultFrom(nil, owners), err
	}
	numbers, err := mx.Collect(h.mx.AccountNumbers(ctx, j.UserGUID, j.MemberGUID))
	return store.ResultFrom(numbers, nil), err
}
