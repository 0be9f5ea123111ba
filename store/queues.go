package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// TasksDue counts the tasks of an asynq queue that a worker must run now
// or within the next `within`: the pending list, plus the scheduled and
// retry sets' tasks whose time (asynq's score, unix seconds) comes by
// then. The three keys are asynq's own ("asynq:{queue}:pending", ...:scheduled,
// ...:retry, as asynq's internal/base names them) and share the queue's hash
// tag, so one pipeline reads them on Redis Cluster too. Read only: the
// store never writes asynq's keys.
func (s *Store) TasksDue(ctx context.Context, queue string, within time.Duration) (int64, error) {
	prefix := "asynq:{" + queue + "}:"
	by := strconv.FormatInt(s.now().Add(within).Unix(), 10)
	p := s.rdb.Pipeline()
	pending := p.LLen(ctx, prefix+"pending")
	scheduled := p.ZCount(ctx, prefix+"scheduled", "-inf", by)
	retry := p.ZCount(ctx, prefix+"retry", "-inf", by)
	if _, err := p.Exec(ctx); err != nil {
		return 0, fmt.Errorf("store: count due tasks of %s: %w", queue, err)
	}
	return pending.Val() + scheduled.Val() + retry.Val(), nil
}
