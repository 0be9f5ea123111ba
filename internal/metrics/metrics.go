// Package metrics holds the fleet's Prometheus metrics (all named
// mxfleet_*) and the worker's /metrics, /healthz and /readyz server.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// Metrics are the fleet's own metrics. A nil *Metrics records nothing.
type Metrics struct {
	Registry      *prometheus.Registry
	jobsStarted   *prometheus.CounterVec
	jobsEnded     *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	jobPolls      *prometheus.HistogramVec
	parkedSeconds *prometheus.HistogramVec
	jobsRepaired  *prometheus.CounterVec
	mxRequests    *prometheus.CounterVec
	mxDuration    *prometheus.HistogramVec
	mxRetriable   *prometheus.CounterVec
	mxThrottled   prometheus.Counter
	webhookDelay  prometheus.Histogram
	finishedByMX  *prometheus.CounterVec
}

// New registers the metrics, Go and process collectors on a new registry,
// with a zero series for every label value known up front (known.go).
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r,
		jobsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_jobs_started_total",
			Help: "Jobs a worker started (left pending: running, or failed at their first step), by kind."}, []string{"kind"}),
		jobsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_jobs_ended_total",
			Help: "Jobs ended, by kind, state (succeeded, failed) and error code (empty when succeeded)."}, []string{"kind", "state", "code"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mxfleet_job_duration_seconds",
			Help:    "From creation to the end of a job, by kind and state.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800}}, []string{"kind", "state"}),
		jobPolls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mxfleet_job_polls",
			Help: "Status polls per ended job.", Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32}}, []string{"kind"}),
		parkedSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mxfleet_challenge_parked_seconds",
			Help:    "Time a job waited parked on an MFA challenge, by how the wait ended (answered, expired, ended).",
			Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800}}, []string{"outcome"}),
		jobsRepaired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_jobs_repaired_total",
			Help: "Jobs the sweeper drove again after their next task was lost, by repair (poll, trigger, expire, claim_released, resumed, task_lost)."}, []string{"reason"}),
		mxRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_mx_requests_total",
			Help: "MX API calls by operation and HTTP status (0: no answer)."}, []string{"op", "status"}),
		mxDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mxfleet_mx_request_duration_seconds",
			Help: "MX API call latency by operation.", Buckets: prometheus.DefBuckets}, []string{"op"}),
		mxRetriable: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_mx_retriable_errors_total",
			Help: "MX calls that failed transiently (5xx, 429, timeouts, resets) and are retried, by operation."}, []string{"op"}),
		mxThrottled: prometheus.NewCounter(prometheus.CounterOpts{Name: "mxfleet_mx_throttled_total",
			Help: "MX calls held back by the fleet-wide rate limit or a fleet-wide 429 pause."}),
		webhookDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mxfleet_webhook_poll_delay_seconds",
			Help:    "From the latest MX webhook about a job to the start of the poll that followed it (the poll it woke).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}}),
		finishedByMX: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mxfleet_jobs_finished_by_mx_total",
			Help: "Jobs a poll found finished at MX, by whether an MX webhook about the job came before that poll (webhook: seen, none)."}, []string{"webhook"}),
	}
	for _, c := range []prometheus.Collector{m.jobsStarted, m.jobsEnded, m.jobDuration, m.jobPolls, m.parkedSeconds, m.jobsRepaired,
		m.mxRequests, m.mxDuration, m.mxRetriable, m.mxThrottled, m.webhookDelay, m.finishedByMX,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	m.zero()
	return m
}

// Transition records a job moving from one state to another.
func (m *Metrics) Transition(from store.State, j *store.Job, now time.Time) {
	if m == nil || from == j.State {
		return
	}
	kind := string(j.Kind)
	if from == store.StatePending {
		// Started, whether it runs or fails at its first step.
		m.jobsStarted.WithLabelValues(kind).Inc()
	}
	if from == store.StateChallenged && !j.ParkedAt.IsZero() {
		outcome := ParkedAnswered
		if j.State.Terminal() {
			outcome = ParkedEnded
			if j.Error != nil && j.Error.Code == "challenge_expired" {
				outcome = ParkedExpired
			}
		}
		m.parkedSeconds.WithLabelValues(outcome).Observe(now.Sub(j.ParkedAt).Seconds())
	}
	if j.State.Terminal() {
		code := ""
		if j.Error != nil {
			code = j.Error.Code
		}
		m.jobsEnded.WithLabelValues(kind, string(j.State), code).Inc()
		m.jobDuration.WithLabelValues(kind, string(j.State)).Observe(now.Sub(j.CreatedAt).Seconds())
		m.jobPolls.WithLabelValues(kind).Observe(float64(j.Polls))
	}
}

// Repaired counts a job the sweeper drove again, by the repair it made.
func (m *Metrics) Repaired(reason string) {
	if m != nil {
		m.jobsRepaired.WithLabelValues(reason).Inc()
	}
}

// MXCall records one MX call (mx.WithObserver).
func (m *Metrics) MXCall(op string, status int, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.mxRequests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.mxDuration.WithLabelValues(op).Observe(took.Seconds())
	if mx.IsRetriable(err) {
		m.mxRetriable.WithLabelValues(op).Inc()
	}
}

// PollAfterWebhook records a poll that started after an MX webhook about
// its job, since took.
func (m *Metrics) PollAfterWebhook(took time.Duration) {
	if m != nil {
		m.webhookDelay.Observe(took.Seconds())
	}
}

// FinishedByMX counts a job a poll found finished at MX; webhook tells
// whether an MX webhook about it came before that poll.
func (m *Metrics) FinishedByMX(webhook bool) {
	if m == nil {
		return
	}
	l := WebhookNone
	if webhook {
		l = WebhookSeen
	}
	m.finishedByMX.WithLabelValues(l).Inc()
}

// JobsEnded is the sum of mxfleet_jobs_ended_total: jobs this process
// ended. It reads the counter alone (gathering the registry would also
// ask Redis for queue sizes).
func (m *Metrics) JobsEnded() float64 {
	if m == nil {
		return 0
	}
	ch := make(chan prometheus.Metric)
	go func() { m.jobsEnded.Collect(ch); close(ch) }()
	n := 0.0
	for pm := range ch {
		var d dto.Metric
		if pm.Write(&d) == nil {
			n += d.GetCounter().GetValue()
		}
	}
	return n
}

// Throttled counts a call held back by the limiter.
func (m *Metrics) Throttled(err error) {
	if m != nil && errors.As(err, new(*mx.Throttled)) {
		m.mxThrottled.Inc()
	}
}

// Gauge registers a gauge read at scrape time (e.g. parked jobs).
func (m *Metrics) Gauge(name, help string, read func(context.Context) (float64, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := read(ctx)
		if err != nil {
			return -1
		}
		return v
	}))
}

// Handler serves /metrics, /healthz (alive) and /readyz (ready() == nil).
func (m *Metrics) Handler(ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
