package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// Purge deletes everything stored for a job: its record, its parked entry
// and its tasks in every queue and state, and returns how many tasks it
// deleted. A task running right now cannot be deleted: Purge says so, and
// can be called again once it has ended.
func (c *Client) Purge(ctx context.Context, jobID string) (int, error) {
	if err := store.ValidateID(jobID); err != nil {
		return 0, err
	}
	ids := map[string][]string{}
	j, err := c.store.Get(ctx, jobID)
	switch {
	case err == nil:
		// Follow-up ids are deterministic: name them instead of scanning.
		for _, t := range job.AllTasks(&j.Record) {
			ids[Queue(t.Kind)] = append(ids[Queue(t.Kind)], t.ID)
		}
		events := []string{EventID(jobID, store.StateSucceeded, 0), EventID(jobID, store.StateFailed, 0)}
		for r := 1; r <= j.Round; r++ {
			events = append(events, EventID(jobID, store.StateChallenged, r))
		}
		for w := 1; w <= j.OAuthWindows; w++ {
			events = append(events, EventID(jobID, store.StateAuthorizing, w))
		}
		for _, ev := range events {
			ids[QueueCallbacks] = append(ids[QueueCallbacks], "callback:"+ev)
		}
		if err := c.store.ForgetDelivered(ctx, events...); err != nil {
			return 0, err
		}
		answers, err := c.scan(QueueAnswers, prefixed("answer:"+jobID+":"))
		if err != nil {
			return 0, err
		}
		ids[QueueAnswers] = append(ids[QueueAnswers], answers...)
	case errors.Is(err, store.ErrNotFound):
		// No record (expired or purged): look for leftovers everywhere.
		for q := range Queues {
			got, err := c.scan(q, func(id string) bool {
				if id == StartID(jobID) {
					return true
				}
				for _, p := range []string{"poll:", "trigger:", "expire:", "answer:"} {
					if strings.HasPrefix(id, p+jobID+":") {
						return true
					}
				}
				if strings.HasPrefix(id, "callback:"+jobID+".") {
					return true
				}
				return false
			})
			if err != nil {
				return 0, err
			}
			ids[q] = got
		}
	default:
		return 0, err
	}
	deleted := 0
	var running []string
	for q, list := range ids {
		for _, id := range list {
			err := c.insp.DeleteTask(q, id)
			switch {
			case err == nil:
				deleted++
			case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			case c.active(q, id):
				// asynq refuses to delete a running task, with no error
				// type to say so: its state does.
				running = append(running, id)
			default:
				return deleted, fmt.Errorf("delete task %s: %w", id, err)
			}
		}
	}
	if err := c.store.Delete(ctx, jobID); err != nil {
		return deleted, err
	}
	if len(running) > 0 {
		return deleted, fmt.Errorf("tasks %s are running now and were not deleted; purge again once they end", strings.Join(running, ", "))
	}
	return deleted, nil
}

// active tells whether a task is running now.
func (c *Client) active(queue, id string) bool {
	ti, err := c.insp.GetTaskInfo(queue, id)
	return err == nil && ti.State == asynq.TaskStateActive
}

// scan lists the ids of a queue's tasks, in every state, that match.
func (c *Client) scan(queue string, match func(id string) bool) ([]string, error) {
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		c.insp.ListPendingTasks, c.insp.ListScheduledTasks, c.insp.ListRetryTasks,
		c.insp.ListArchivedTasks, c.insp.ListCompletedTasks, c.insp.ListActiveTasks,
	}
	var out []string
	for _, list := range lists {
		for page := 1; ; page++ {
			tis, err := list(queue, asynq.PageSize(1000), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return out, nil
			}
			if err != nil {
				return out, fmt.Errorf("list %s tasks: %w", queue, err)
			}
			for _, ti := range tis {
				if match(ti.ID) {
					out = append(out, ti.ID)
				}
			}
			if len(tis) < 1000 {
				break
			}
		}
	}
	return out, nil
}

func prefixed(p string) func(string) bool {
	return func(id string) bool { return strings.HasPrefix(id, p) }
}
