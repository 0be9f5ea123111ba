package metrics

import (
	"context"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueInspector reads asynq's queues: *asynq.Inspector.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// DueCounter counts the tasks of a queue due now or within a window:
// *store.Store.
type DueCounter interface {
	TasksDue(ctx context.Context, queue string, within time.Duration) (int64, error)
}

// DueWindow is how far ahead mxfleet_asynq_tasks_due looks: scheduled and
// retry tasks (polls, waits, retries) due within it count as work now, so
// an autoscaler sees a parked fleet's polls before they fall due.
const DueWindow = time.Minute

// QueueStates are the states mxfleet_asynq_tasks exports per queue.
var QueueStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed"}

// WatchQueues exports, read at scrape time through insp, the sizes,
// latency and pause of each of queues (the figures asynq's x/metrics
// collector gives): mxfleet_asynq_tasks{queue,state},
// mxfleet_asynq_queue_latency_seconds{queue} and
// mxfleet_asynq_queue_paused{queue}, and, read through due (when not
// nil), mxfleet_asynq_tasks_due{queue}: pending tasks plus scheduled and
// retry tasks due within DueWindow, the work an autoscaler scales on
// (deploy/k8s/components/keda). A queue that never held a task
// (asynq does not know it yet) is exported as zeros, so every series
// exists from a fleet's first scrape; when Redis does not answer, no
// queue series are exported at all (absent, rather than a false 0).
func (m *Metrics) WatchQueues(insp QueueInspector, due DueCounter, queues []string) {
	m.Registry.MustRegister(newQueueCollector(insp, due, queues))
}

type queueCollector struct {
	insp    QueueInspector
	due     DueCounter
	queues  []string
	size    *prometheus.Desc
	latency *prometheus.Desc
	paused  *prometheus.Desc
	dueSize *prometheus.Desc
}

func newQueueCollector(insp QueueInspector, due DueCounter, queues []string) *queueCollector {
	return &queueCollector{insp: insp, due: due, queues: slices.Sorted(slices.Values(queues)),
		size: prometheus.NewDesc("mxfleet_asynq_tasks", "Tasks in an asynq queue by state.",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("mxfleet_asynq_queue_latency_seconds", "Age of the oldest pending task of a queue.",
			[]string{"queue"}, nil),
		paused: prometheus.NewDesc("mxfleet_asynq_queue_paused", "1 when a queue is paused.", []string{"queue"}, nil),
		dueSize: prometheus.NewDesc("mxfleet_asynq_tasks_due",
			"Tasks of an asynq queue due now or within "+DueWindow.String()+": pending, plus scheduled and retry tasks whose time comes by then.",
			[]string{"queue"}, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.latency
	ch <- c.paused
	ch <- c.dueSize
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	known, err := c.insp.Queues()
	if err != nil {
		return // Redis does not answer: export nothing rather than zeros
	}
	for _, q := range c.queues {
		info := &asynq.QueueInfo{Queue: q} // asynq creates a queue with its first task
		if slices.Contains(known, q) {
			if info, err = c.insp.GetQueueInfo(q); err != nil {
				continue
			}
		}
		for i, n := range []int{info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), q, QueueStates[i])
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, paused, q)
		if c.due != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			n, err := c.due.TasksDue(ctx, q, DueWindow)
			cancel()
			if err == nil {
				ch <- prometheus.MustNewConstMetric(c.dueSize, prometheus.GaugeValue, float64(n), q)
			}
		}
	}
}
