package fleet

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mxfleet/mxfleet/tasks"
)

// queueCollector exports asynq's queue sizes and latency at scrape time,
// the figures asynq's x/metrics collector gives, for the fleet's queues.
type queueCollector struct {
	insp    *asynq.Inspector
	size    *prometheus.Desc
	latency *prometheus.Desc
	paused  *prometheus.Desc
}

func newQueueCollector(insp *asynq.Inspector) *queueCollector {
	return &queueCollector{insp: insp,
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
	for q := range tasks.Queues {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			continue // a queue that never held a task does not exist yet
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, paused, q)
	}
}
