package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/store"
)

// RedisOutageWait bounds how long a handler that failed while Redis could
// not be reached waits for it to answer again (outlastRedis). It covers a
// Sentinel or Cluster promoting a replica with short timeouts, and stays
// under asynq's 30 s task lease: once the lease has run out, asynq no
// longer writes the task's outcome at all.
const RedisOutageWait = 15 * time.Second

// outlastRedis is the worker's outermost middleware. asynq records a task's
// outcome (done, retry, archived) in Redis after the handler returns. When
// that write fails, asynq v0.26 queues a re-sync that cannot succeed (it
// reuses the handler's cancelled context), so the task stays active until
// its lease runs out and asynq's recoverer, once a minute, hands it out
// again: after a failover, every task that failed during it stood still
// for up to 90 s. So a handler that failed while its queue's
// Redis or the store's could not be reached waits, up to RedisOutageWait,
// checking every 100 ms, for both to answer before it returns, and its
// failure becomes a wait (handlers.WaitError): an outage spends no retry
// and ends no job. A wait passes through untouched (it was decided on a
// record just read, so Redis answered); another failure with Redis
// answering costs one EXISTS per key and returns at once.
func outlastRedis(rdb redis.UniversalClient, st *store.Store, log zerolog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			err := next.ProcessTask(ctx, t)
			if err == nil || errors.Is(err, handlers.ErrWait) {
				return err // a wait decided on a record just read: Redis answered
			}
			q, _ := asynq.GetQueueName(ctx)
			up := func() bool {
				c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				defer cancel()
				// the queue's keys share its hash tag: this reaches its slot
				return st.PingSlot(c, q) == nil && st.Ping(c) == nil
			}
			if up() {
				return err
			}
			began := time.Now()
			for !up() && time.Since(began) < RedisOutageWait && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			id, _ := asynq.GetTaskID(ctx)
			log.Warn().Str("task_type", t.Type()).Str("task_id", id).Str("error", err.Error()).
				Dur("waited", time.Since(began).Round(time.Millisecond)).Msg("task failed while Redis could not be reached: it runs again, no retry spent")
			return &handlers.WaitError{Reason: "Redis could not be reached: " + err.Error(), Delay: time.Second}
		})
	}
}
