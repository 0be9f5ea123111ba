package handlers

import (
	"time"

	"github.com/mxfleet/mxfleet/job"
)

// Observer learns how long MX takes from the fleet's status reads
// (internal/learn.Learner, for learned poll schedules). Seen is called
// once a poll's decision is written: r is the job as the poll found it,
// n the poll, st what it read and succeededAt MX's
// successfully_aggregated_at. It must not block.
type Observer interface {
	Seen(r *job.Record, n int, st job.Read, succeededAt string, now time.Time)
}
