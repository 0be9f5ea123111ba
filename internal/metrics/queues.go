package metrics

import (
	"slices"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueInspector reads asynq's queues: *asynq.Inspector.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// QueueStates are the states mxfleet_asynq_tasks exports per queue.
var QueueStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed"}

// WatchQueues exports, read at scrape time through insp, the sizes,
// latency and pause of each of queues (the figures asynq's x/metrics
// collector gives): mxfleet_asynq_tasks{queue,state},
// mxfleet_asynq_queue_latency_seconds{queue} and
// mxfleet_asynq_queue_paused{queue}. A queue that never held a task
// (asynq does not know it yet) is exported as zeros, so every series
// exists from a fleet's first scrape; when Redis does not answer, no
// queue series are exported at all (absent, rather than a false 0).
func (m *Metrics) WatchQueues(insp QueueInspector, queues []string) {
	m.Registry.MustRegister(newQueueCollector(insp, queues))
}

type queueCollector struct {
	insp    QueueInspector
	queues  []string
	size    *prometheus.Desc
	latency *prometheus.Desc
	paused  *prometheus.Desc
}

func newQueueCollector(insp QueueInspector, queues []string) *queueCollector {
	return &queueCollector{insp: insp, queues: slices.Sorted(slices.Values(queues)),
		size: prometheus.NewDesc("mxfleet_asynq_tasks", "Tasks in an asynq queue by state.",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("mxfleet_asynq_queue_latency_seconds", "Age of the oldest pending task of a queue.",
			[]string{"queue"}, nil),
		paused: prometheus.NewDesc("mxfleet_asynq_queue_paused", "1 when a queue is paused.", []string{"queue"}, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.latency
	ch <- c.paused
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
	}
}
