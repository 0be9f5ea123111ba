package metrics_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// series is one gathered series: its family, labels and value (counter,
// gauge, or a histogram's sample count).
type series struct {
	name   string
	labels map[string]string
	value  float64
}

func gather(t *testing.T, g prometheus.Gatherer) ([]series, map[string]dto.MetricType) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []series
	types := map[string]dto.MetricType{}
	for _, mf := range mfs {
		types[mf.GetName()] = mf.GetType()
		for _, m := range mf.GetMetric() {
			s := series{name: mf.GetName(), labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				s.value = m.GetCounter().GetValue()
			case m.Gauge != nil:
				s.value = m.GetGauge().GetValue()
			case m.Histogram != nil:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out = append(out, s)
		}
	}
	return out, types
}

// find returns the value of the series name{labels}, and whether it exists.
func find(all []series, name string, labels map[string]string) (float64, bool) {
	for _, s := range all {
		if s.name == name && maps.Equal(s.labels, labels) {
			return s.value, true
		}
	}
	return 0, false
}

func wantZero(t *testing.T, all []series, name string, labels map[string]string) {
	t.Helper()
	v, ok := find(all, name, labels)
	switch {
	case !ok:
		t.Errorf("fresh registry: no series %s%v", name, labels)
	case v != 0:
		t.Errorf("fresh registry: %s%v = %v, want 0", name, labels, v)
	}
}

// A fresh worker's registry has a zero series for every label value known
// up front, so rate(), increase() and absent() work before the first job.
func TestFreshRegistryExportsZeroSeries(t *testing.T) {
	m := metrics.New()
	all, _ := gather(t, m.Registry)
	codes := metrics.ErrorCodes()
	for _, kind := range metrics.Kinds {
		wantZero(t, all, "mxfleet_jobs_started_total", map[string]string{"kind": kind})
		wantZero(t, all, "mxfleet_job_polls", map[string]string{"kind": kind})
		wantZero(t, all, "mxfleet_jobs_ended_total", map[string]string{"kind": kind, "state": "succeeded", "code": ""})
		for _, code := range codes {
			wantZero(t, all, "mxfleet_jobs_ended_total", map[string]string{"kind": kind, "state": "failed", "code": code})
		}
		for _, state := range metrics.EndStates {
			wantZero(t, all, "mxfleet_job_duration_seconds", map[string]string{"kind": kind, "state": state})
		}
	}
	for _, o := range []string{"answered", "expired", "ended"} {
		wantZero(t, all, "mxfleet_challenge_parked_seconds", map[string]string{"outcome": o})
	}
	for _, r := range metrics.Repairs {
		wantZero(t, all, "mxfleet_jobs_repaired_total", map[string]string{"reason": r})
	}
	wantZero(t, all, "mxfleet_mx_throttled_total", map[string]string{})
	wantZero(t, all, "mxfleet_webhook_poll_delay_seconds", map[string]string{})
	for _, w := range []string{metrics.WebhookSeen, metrics.WebhookNone} {
		wantZero(t, all, "mxfleet_jobs_finished_by_mx_total", map[string]string{"webhook": w})
	}
	if n := m.JobsEnded(); n != 0 {
		t.Errorf("JobsEnded on a fresh registry = %v", n)
	}

	// As Prometheus scrapes it.
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`mxfleet_jobs_started_total{kind="identify"} 0`,
		`mxfleet_jobs_ended_total{code="",kind="verify",state="succeeded"} 0`,
		`mxfleet_jobs_ended_total{code="timeout",kind="verify",state="failed"} 0`,
		`mxfleet_jobs_ended_total{code="denied",kind="identify",state="failed"} 0`,
		`mxfleet_challenge_parked_seconds_count{outcome="expired"} 0`,
		`mxfleet_jobs_repaired_total{reason="task_lost"} 0`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Recording still counts on the zero series.
	now := time.Now()
	j := &store.Job{Record: job.Record{ID: "j", Kind: store.KindVerify, State: store.StateFailed, CreatedAt: now.Add(-time.Minute),
		Error: &store.JobError{Code: "denied"}}}
	m.Transition(store.StateRunning, j, now)
	all, _ = gather(t, m.Registry)
	if v, _ := find(all, "mxfleet_jobs_ended_total", map[string]string{"kind": "verify", "state": "failed", "code": "denied"}); v != 1 {
		t.Errorf("after one denied job: %v", v)
	}
	if n := m.JobsEnded(); n != 1 {
		t.Errorf("JobsEnded = %v, want 1", n)
	}
}

// The queue series exist, at zero, for every known queue of a fresh Redis;
// they follow the queue once it holds tasks; none are exported while Redis
// does not answer.
func TestQueueSeries(t *testing.T) {
	r := testenv.NewRedis(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	queues := slices.Sorted(maps.Keys(tasks.Queues))
	keys, err := testenv.FastConfig("http://127.0.0.1:1").Keys()
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.WatchQueues(insp, store.New(r.Client, keys), queues)

	all, _ := gather(t, m.Registry)
	for _, q := range queues {
		for _, st := range metrics.QueueStates {
			wantZero(t, all, "mxfleet_asynq_tasks", map[string]string{"queue": q, "state": st})
		}
		wantZero(t, all, "mxfleet_asynq_queue_latency_seconds", map[string]string{"queue": q})
		wantZero(t, all, "mxfleet_asynq_queue_paused", map[string]string{"queue": q})
		wantZero(t, all, "mxfleet_asynq_tasks_due", map[string]string{"queue": q})
	}

	c := asynq.NewClientFromRedisClient(r.Client)
	defer func() { _ = c.Close() }()
	if _, err := c.Enqueue(asynq.NewTask("test", nil), asynq.Queue(tasks.QueueJobs)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(asynq.NewTask("test", nil), asynq.Queue(tasks.QueuePolls), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Due: the pending job, a poll within the window; not the poll in an
	// hour nor the answer just past the window.
	if _, err := c.Enqueue(asynq.NewTask("test", nil), asynq.Queue(tasks.QueuePolls), asynq.ProcessIn(metrics.DueWindow/2)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(asynq.NewTask("test", nil), asynq.Queue(tasks.QueueAnswers), asynq.ProcessIn(metrics.DueWindow+time.Minute)); err != nil {
		t.Fatal(err)
	}
	all, _ = gather(t, m.Registry)
	for _, c := range []struct {
		queue, state string
		want         float64
	}{{tasks.QueueJobs, "pending", 1}, {tasks.QueuePolls, "scheduled", 2}, {tasks.QueuePolls, "pending", 0}, {tasks.QueueAnswers, "pending", 0}, {tasks.QueueAnswers, "scheduled", 1}} {
		if v, ok := find(all, "mxfleet_asynq_tasks", map[string]string{"queue": c.queue, "state": c.state}); !ok || v != c.want {
			t.Errorf("mxfleet_asynq_tasks{queue=%s,state=%s} = %v (exists %v), want %v", c.queue, c.state, v, ok, c.want)
		}
	}
	for q, want := range map[string]float64{tasks.QueueJobs: 1, tasks.QueuePolls: 1, tasks.QueueAnswers: 0, tasks.QueueCallbacks: 0} {
		if v, ok := find(all, "mxfleet_asynq_tasks_due", map[string]string{"queue": q}); !ok || v != want {
			t.Errorf("mxfleet_asynq_tasks_due{queue=%s} = %v (exists %v), want %v", q, v, ok, want)
		}
	}
	// An hour on, everything scheduled is due.
	later := metrics.New()
	later.WatchQueues(insp, store.New(r.Client, keys, store.WithClock(func() time.Time { return time.Now().Add(time.Hour + time.Minute) })), queues)
	all, _ = gather(t, later.Registry)
	for q, want := range map[string]float64{tasks.QueueJobs: 1, tasks.QueuePolls: 2, tasks.QueueAnswers: 1} {
		if v, _ := find(all, "mxfleet_asynq_tasks_due", map[string]string{"queue": q}); v != want {
			t.Errorf("an hour on: mxfleet_asynq_tasks_due{queue=%s} = %v, want %v", q, v, want)
		}
	}

	r.Stop(t)
	all, _ = gather(t, m.Registry)
	for _, s := range all {
		if strings.HasPrefix(s.name, "mxfleet_asynq_") {
			t.Errorf("Redis down: %s%v still exported", s.name, s.labels)
		}
	}
	r.Start(t)
}

// failingInspector: the queue is known but cannot be read.
type failingInspector struct{}

func (failingInspector) Queues() ([]string, error) { return []string{"a", "b"}, nil }
func (failingInspector) GetQueueInfo(q string) (*asynq.QueueInfo, error) {
	if q == "a" {
		return nil, errors.New("boom")
	}
	return &asynq.QueueInfo{Queue: q, Pending: 2, Latency: 3 * time.Second, Paused: true}, nil
}

func TestQueueSeriesSkipUnreadableQueue(t *testing.T) {
	m := metrics.New()
	m.WatchQueues(failingInspector{}, nil, []string{"b", "a", "c"})
	all, _ := gather(t, m.Registry)
	if _, ok := find(all, "mxfleet_asynq_tasks", map[string]string{"queue": "a", "state": "pending"}); ok {
		t.Error("unreadable queue a exported")
	}
	for name, want := range map[string]float64{"mxfleet_asynq_queue_latency_seconds": 3, "mxfleet_asynq_queue_paused": 1} {
		if v, _ := find(all, name, map[string]string{"queue": "b"}); v != want {
			t.Errorf("%s{queue=b} = %v, want %v", name, v, want)
		}
	}
	wantZero(t, all, "mxfleet_asynq_tasks", map[string]string{"queue": "c", "state": "pending"})
}

// handlersSource parses the handlers package (which imports metrics, so
// metrics lists its label values itself).
// coreSource is the state machine's source, package job: its error
// codes and its repairs.
func coreSource(t *testing.T) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	paths, _ := filepath.Glob("../../job/*.go")
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatal("no source in ../../job")
	}
	return files
}

func unquote(t *testing.T, e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s, true
}

func TestKnownCodesMatchHandlers(t *testing.T) {
	var codes []string
	for _, f := range coreSource(t) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.HasPrefix(n.Name, "Code") && i < len(vs.Values) {
						if s, ok := unquote(t, vs.Values[i]); ok {
							codes = append(codes, s)
						}
					}
				}
			}
		}
	}
	slices.Sort(codes)
	if known := slices.Sorted(slices.Values(metrics.HandlerCodes)); !slices.Equal(codes, known) {
		t.Errorf("job's Code* constants %v\nmetrics.HandlerCodes %v\nupdate job.Codes", codes, known)
	}
}

func TestKnownRepairsMatchHandlers(t *testing.T) {
	var reasons []string
	for _, f := range coreSource(t) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Repair" || fn.Recv != nil {
				continue
			}
			// Each case names its repair: Decision{Repair: "…"} or d.Repair = "…".
			add := func(e ast.Expr) {
				if s, ok := unquote(t, e); ok && !slices.Contains(reasons, s) {
					reasons = append(reasons, s)
				}
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Repair" {
						add(n.Value)
					}
				case *ast.AssignStmt:
					if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Repair" {
						add(n.Rhs[0])
					}
				}
				return true
			})
		}
	}
	slices.Sort(reasons)
	if len(reasons) == 0 {
		t.Fatal("no job.Repair in ../../job")
	}
	if known := slices.Sorted(slices.Values(metrics.Repairs)); !slices.Equal(reasons, known) {
		t.Errorf("job.Repair's repairs %v\nmetrics.Repairs    %v\nupdate internal/metrics/known.go", reasons, known)
	}
}

func TestKnownCodesCoverMXReasons(t *testing.T) {
	codes := metrics.ErrorCodes()
	reasons := []string{job.Classify("", false).Reason, job.Classify("NOT_A_STATUS", false).Reason}
	for _, s := range job.Statuses {
		reasons = append(reasons, job.Classify(s.Status, false).Reason)
	}
	for _, r := range reasons {
		if r != "" && !slices.Contains(codes, r) {
			t.Errorf("job.Classify reason %q is not in metrics.ErrorCodes()", r)
		}
	}
	if len(codes) != len(slices.Compact(slices.Sorted(slices.Values(codes)))) {
		t.Errorf("duplicate codes: %v", codes)
	}
}

// exported is every metric name a worker exports, as PromQL sees it
// (histograms as _bucket, _sum and _count): the registry of a real worker
// (fleet.NewWorker), its queues known to asynq, and every labelled family
// given a series.
func exported(t *testing.T) (map[string]bool, []string) {
	t.Helper()
	r := testenv.NewRedis(t)
	w, err := fleet.NewWorker(r.Client, testenv.FastConfig("http://127.0.0.1:1"), nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClientFromRedisClient(r.Client)
	defer func() { _ = c.Close() }()
	for q := range tasks.Queues { // a queue exists in asynq from its first task
		if _, err := c.Enqueue(asynq.NewTask("test", nil), asynq.Queue(q), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	m := w.Metrics
	m.MXCall("readMemberStatus", 503, time.Second, &mx.Error{StatusCode: 503})
	m.Throttled(&mx.Throttled{Wait: time.Second})
	m.Repaired("poll")
	_, types := gather(t, m.Registry)
	names := map[string]bool{}
	var families []string
	for name, typ := range types {
		families = append(families, name)
		names[name] = true
		switch typ {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	slices.Sort(families)
	return names, families
}

// metricRef finds metric names of the fleet and its collectors in text.
var metricRef = regexp.MustCompile(`\b(?:mxfleet|go|process)_[a-zA-Z0-9_:]*[a-zA-Z0-9]\b`)

// refs lists the metric names a monitoring file uses, YAML comments left out.
func refs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") && !strings.HasSuffix(path, ".json") {
			continue
		}
		out = append(out, metricRef.FindAllString(line, -1)...)
	}
	return out
}

const (
	dashboardFile = "../../deploy/monitoring/mxfleet-dashboard.json"
	rulesFile     = "../../deploy/monitoring/mxfleet-rules.yml"
	ruleTestsFile = "../../deploy/monitoring/mxfleet-rules.test.yml"
	crFile        = "../../deploy/k8s/components/monitoring/prometheusrule.yaml"
	kedaFile      = "../../deploy/k8s/components/keda/scaledobject.yaml"
)

// The dashboard, the alert rules (both forms) and their tests, and the
// KEDA trigger's query name only metrics a worker exports.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	names, families := exported(t)
	for _, f := range []string{"mxfleet_jobs_parked", "mxfleet_asynq_tasks", "mxfleet_asynq_tasks_due", "mxfleet_mx_requests_total", "go_goroutines"} {
		if !names[f] {
			t.Fatalf("the worker's registry lacks %s: %v", f, families)
		}
	}
	used := map[string]bool{}
	for _, path := range []string{dashboardFile, rulesFile, ruleTestsFile, crFile, kedaFile} {
		rs := refs(t, path)
		if len(rs) == 0 {
			t.Errorf("%s names no metric", path)
		}
		for _, n := range rs {
			used[n] = true
			if !names[n] {
				t.Errorf("%s uses %s, which the fleet does not export", filepath.Base(path), n)
			}
		}
	}
	if t.Failed() {
		t.Logf("the fleet exports: %v", families)
	}
	for _, f := range families {
		if strings.HasPrefix(f, "mxfleet_") && !used[f] && !used[f+"_bucket"] && !used[f+"_count"] {
			t.Logf("note: %s is on no dashboard panel and in no rule", f)
		}
	}
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// The dashboard is a Grafana dashboard: its panels have unique ids, fit the
// 24-column grid, query the templated Prometheus data source, and every
// query names a metric.
func TestMonitoringDashboardShape(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string  `json:"uid"`
		Title         string  `json:"title"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name, Type string
			} `json:"list"`
		} `json:"templating"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want all set", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("no datasource variable: %v", vars)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if !strings.Contains(string(p.Datasource), "${datasource}") {
			t.Errorf("panel %q: datasource %s, want ${datasource}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			if q.RefID == "" || !metricRef.MatchString(q.Expr) {
				t.Errorf("panel %q: query %q (refId %q) names no metric", p.Title, q.Expr, q.RefID)
			}
			for _, v := range regexp.MustCompile(`\$(?:\{)?([a-zA-Z_]+)`).FindAllStringSubmatch(q.Expr, -1) {
				if _, ok := vars[v[1]]; !ok && !strings.HasPrefix(v[1], "__") {
					t.Errorf("panel %q: query uses $%s, which is no dashboard variable", p.Title, v[1])
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries", queries)
	}
}
