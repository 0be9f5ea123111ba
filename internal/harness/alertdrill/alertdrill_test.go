// Package alertdrill proves the shipped alert rules on a live Prometheus
// and Alertmanager (Debian's prometheus and prometheus-alertmanager):
// real fleets, each under its own namespace label as the PodMonitor's
// service discovery gives, are made to fail one way each, and every fault's
// alert must reach Alertmanager; a healthy fleet under load must raise none.
//
// The rules are deploy/monitoring/mxfleet-rules.yml with only their for:
// shortened (drillFor); scrapes and evaluations run every second. Each
// drill logs its time to fire (fault → alert in Alertmanager): docs/alerts.md.
package alertdrill

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// RequireEnv, when 1, makes a missing Prometheus or Alertmanager fatal (CI).
const RequireEnv = "MXFLEET_TEST_REQUIRE_PROMETHEUS"

// drillFor replaces every rule's for: in the drill's copy of the rules.
const drillFor = "5s"

const rulesFile = "../../../deploy/monitoring/mxfleet-rules.yml"

// binary finds one of names on PATH, or skips (fails under RequireEnv).
func binary(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("none of %v on PATH: apt-get install -y prometheus prometheus-alertmanager to run the live alert drill", names)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s and %s=1", msg, RequireEnv)
	}
	t.Skip(msg)
	return ""
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs bin with args, killed at cleanup, and waits for addr's /-/ready.
func start(t *testing.T, ctx context.Context, bin, addr string, args ...string) {
	t.Helper()
	log := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), tail(log.String(), 4000))
		}
	})
	testenv.Until(t, ctx, bin+" ready on "+addr, func() error {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s; log:\n%s", resp.Status, tail(log.String(), 4000))
		}
		return nil
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// drillFleet is one fleet scraped under its own namespace label.
type drillFleet struct {
	ns      string
	f       *testenv.Fleet
	metrics *httptest.Server // the first worker's /metrics
	worker  *fleet.Worker
}

func newDrillFleet(t *testing.T, ns string, tune func(*fleet.Config)) *drillFleet {
	t.Helper()
	f := testenv.NewFleet(t, func(c *fleet.Config) {
		c.MaxAttempts, c.RetryMax = 2, 200*time.Millisecond
		if tune != nil {
			tune(c)
		}
	})
	f.StopWorker() // its metrics are not served: a worker of the drill's own serves them
	d := &drillFleet{ns: ns, f: f, worker: f.StartWorker(t)}
	d.metrics = httptest.NewServer(d.worker.Metrics.Handler(d.worker.Ready))
	t.Cleanup(d.metrics.Close)
	return d
}

// submit creates a verify job of scenario sc.
func (d *drillFleet) submit(t *testing.T, ctx context.Context, sc string) string {
	t.Helper()
	id := uuid.NewString()
	if _, err := d.f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, sc), id, "u-"+id[:8])); err != nil {
		t.Errorf("%s: submit %s: %v", d.ns, sc, err)
	}
	return id
}

// load submits a job of sc every interval until ctx ends.
func (d *drillFleet) load(t *testing.T, ctx context.Context, wg *sync.WaitGroup, sc string, every time.Duration) {
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				id := uuid.NewString()
				_, _ = d.f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, sc), id, "u-"+id[:8]))
			}
		}
	})
}

// overlay writes the shipped rules with every for: set to drillFor.
func overlay(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s+)for: \S+$`)
	if len(re.FindAll(b, -1)) == 0 {
		t.Fatal("no for: in the rules")
	}
	p := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(p, re.ReplaceAll(b, []byte("${1}for: "+drillFor)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// alert is an alert as Alertmanager's /api/v2/alerts lists it.
type alert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

func alerts(am string) ([]alert, error) {
	resp, err := http.Get("http://" + am + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []alert
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// promQuery is the value of an instant query's single result (ok false: no result).
func promQuery(prom, q string) (float64, bool, error) {
	resp, err := http.Get("http://" + prom + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) == 0 {
		return 0, false, err
	}
	var v float64
	_, err = fmt.Sscan(r.Data.Result[0].Value[1].(string), &v)
	return v, true, err
}

// TestAlertDrill: every fault raises its alert in Alertmanager; a healthy
// fleet under load raises none.
func TestAlertDrill(t *testing.T) {
	promBin := binary(t, "prometheus")
	amBin := binary(t, "prometheus-alertmanager", "alertmanager")
	ctx := testenv.Context(t, 4*time.Minute)
	dir := t.TempDir()

	type drill struct {
		ns     string
		tune   func(*fleet.Config)
		alerts []string // each must reach Alertmanager for the drill's namespace
		fault  func(t *testing.T, ctx context.Context, d *drillFleet)
	}
	drills := []drill{
		{ns: "workers-gone", alerts: []string{"MXFleetWorkersAbsent"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			d.worker.Shutdown()
			d.metrics.Close()
		}},
		{ns: "mx-5xx", alerts: []string{"MXFleetMXErrorRateHigh", "MXFleetRetriesExhausted"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			d.f.Sim.SetFaults(mxsim.Faults{ErrorRate: 1})
			for range 3 {
				d.submit(t, ctx, "success")
			}
		}},
		{ns: "mx-429", alerts: []string{"MXFleetMX429RateHigh"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			d.f.Sim.SetFaults(mxsim.Faults{RateLimitRate: 1, RetryAfter: time.Second})
			for range 3 {
				d.submit(t, ctx, "success")
			}
		}},
		// A job parks on MFA, then the worker stops taking tasks while
		// still serving /metrics (stuck): the job stays parked past its
		// challenge TTL, and new jobs wait on mx_jobs with none active.
		{ns: "stuck", alerts: []string{"MXFleetJobsStuckParked", "MXFleetQueueNotConsumed"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			id := d.submit(t, ctx, "challenge")
			testenv.WaitState(t, ctx, d.f.Client, id, store.StateChallenged)
			d.worker.Shutdown()
			d.submit(t, ctx, "success")
		}},
		{ns: "redis-down", alerts: []string{"MXFleetRedisUnreadable"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			d.f.Redis.Stop(t)
		}},
		// mx_polls paused with polls in it: its latency grows.
		{ns: "polls-paused", alerts: []string{"MXFleetQueuePaused", "MXFleetQueueLatencyHigh"}, fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
			if err := d.f.Inspector.PauseQueue(tasks.QueuePolls); err != nil {
				t.Error(err)
			}
			for range 3 {
				d.submit(t, ctx, "success")
			}
		}},
		// Webhooks are configured (the worker has MXFLEET_WEBHOOK_SECRET)
		// but none comes: every job MX finishes is found by a poll.
		{ns: "no-webhooks", alerts: []string{"MXFleetWebhooksMissing"}, tune: func(c *fleet.Config) { c.WebhookSecret = "drill" },
			fault: func(t *testing.T, ctx context.Context, d *drillFleet) {
				for range 5 {
					d.submit(t, ctx, "success")
				}
			}},
	}

	fleets := map[string]*drillFleet{}
	var targets []string
	add := func(ns string, tune func(*fleet.Config)) *drillFleet {
		d := newDrillFleet(t, ns, tune)
		fleets[ns] = d
		targets = append(targets, fmt.Sprintf("  - targets: [%q]\n    labels: {namespace: %q, pod: %q}\n", strings.TrimPrefix(d.metrics.URL, "http://"), ns, ns+"-worker-0"))
		return d
	}
	healthy := add("healthy", nil)
	for _, d := range drills {
		add(d.ns, d.tune)
	}

	amAddr, promAddr := freeAddr(t), freeAddr(t)
	amConf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(amConf, []byte("route: {receiver: none, group_wait: 1s, group_interval: 1s}\nreceivers: [{name: none}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, ctx, amBin, amAddr, "--config.file="+amConf, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	// As the PodMonitor scrapes: /metrics of each worker, with the
	// namespace and pod labels its service discovery adds.
	promConf := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
rule_files: [%q]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
- job_name: mxfleet-worker
  metrics_path: /metrics
  static_configs:
%s`, overlay(t, dir), amAddr, strings.Join(targets, ""))
	pc := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(pc, []byte(promConf), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, ctx, promBin, promAddr, "--config.file="+pc, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--rules.alert.resend-delay=1s")
	testenv.Until(t, ctx, "Prometheus scraping every fleet", func() error {
		n, ok, err := promQuery(promAddr, `count(count by (namespace) (mxfleet_jobs_started_total))`)
		if !ok || int(n) != len(fleets) {
			return fmt.Errorf("%v fleets scraped of %d (%v)", n, len(fleets), err)
		}
		return nil
	})

	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	healthy.load(t, loadCtx, &load, "success", 100*time.Millisecond)
	healthy.load(t, loadCtx, &load, "challenge", time.Second) // parked jobs expire: waits keep ending

	var wg sync.WaitGroup
	for _, dr := range drills {
		wg.Go(func() {
			d := fleets[dr.ns]
			began := time.Now()
			dr.fault(t, ctx, d)
			for _, name := range dr.alerts {
				var seen time.Time
				// off the test's goroutine: Poll, which reports by its result
				if !testenv.Poll(ctx, 200*time.Millisecond, func() bool {
					as, err := alerts(amAddr)
					for _, a := range as {
						if err == nil && a.Labels["alertname"] == name && a.Labels["namespace"] == dr.ns && a.Status.State == "active" {
							seen = time.Now()
							return true
						}
					}
					return false
				}) {
					t.Errorf("%s: %s did not reach Alertmanager", dr.ns, name)
					continue
				}
				t.Logf("drill %s: %s in Alertmanager %.1fs after the fault (for: %s)", dr.ns, name, seen.Sub(began).Seconds(), drillFor)
			}
		})
	}
	wg.Wait()
	stopLoad()
	load.Wait()

	// The healthy fleet, under load all along, raised nothing: not one
	// firing sample of ALERTS, and nothing in Alertmanager.
	if n, ok, err := promQuery(promAddr, `count(max_over_time(ALERTS{namespace="healthy",alertstate="firing"}[10m]))`); err != nil || ok {
		t.Errorf("healthy fleet: %v alerts fired (%v)", n, err)
	}
	as, err := alerts(amAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Labels["namespace"] == "healthy" {
			t.Errorf("healthy fleet: %s in Alertmanager: %v", a.Labels["alertname"], a.Labels)
		}
	}
	if n, _, _ := promQuery(promAddr, `sum(mxfleet_jobs_ended_total{namespace="healthy",state="succeeded"})`); n == 0 {
		t.Error("healthy fleet: no job succeeded: the load did not run")
	}
}
