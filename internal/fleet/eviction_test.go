package fleet_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

// On a Redis that may evict keys (volatile-lru, the default of many managed
// services) a worker refuses to start, saying what to set; with
// MXFLEET_REDIS_ALLOW_EVICTION it starts, warns and reports the risk.
func TestWorkerRefusesARedisThatEvicts(t *testing.T) {
	r := testenv.NewRedisWith(t, "--maxmemory-policy", "volatile-lru")
	if !r.Real {
		t.Skip("needs redis-server")
	}
	cfg := testenv.FastConfig("http://127.0.0.1:1")
	var log testenv.SyncBuffer
	_, err := fleet.NewWorker(r.Client, cfg, nil, zerolog.New(&log))
	if err == nil || !strings.Contains(err.Error(), "maxmemory-policy volatile-lru") || !strings.Contains(err.Error(), "noeviction") ||
		!strings.Contains(err.Error(), "MXFLEET_REDIS_ALLOW_EVICTION=true") {
		t.Fatalf("worker on volatile-lru: %v", err)
	}
	cfg.RedisAllowEviction = true
	w, err := fleet.NewWorker(r.Client, cfg, nil, zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `"level":"warn"`) || !strings.Contains(log.String(), "MXFLEET_REDIS_ALLOW_EVICTION=true: Redis may evict") {
		t.Errorf("no warning: %s", log.String())
	}
	srv := httptest.NewServer(w.Metrics.Handler(w.Ready))
	defer srv.Close()
	if _, m := get(t, srv.URL+"/metrics"); !strings.Contains(m, "mxfleet_redis_eviction_risk 1") {
		t.Errorf("/metrics lacks mxfleet_redis_eviction_risk 1")
	}
}

// A Redis that refuses CONFIG (renamed away, as managed services do) is
// said once in the log, and the worker starts.
func TestWorkerStartsWhenCONFIGIsRefused(t *testing.T) {
	r := testenv.NewRedisWith(t, "--rename-command", "CONFIG", "")
	if !r.Real {
		t.Skip("needs redis-server")
	}
	var log testenv.SyncBuffer
	w, err := fleet.NewWorker(r.Client, testenv.FastConfig("http://127.0.0.1:1"), nil, zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "cannot read Redis's maxmemory-policy"); n != 1 || !strings.Contains(log.String(), "unknown command") {
		t.Errorf("said %d times: %s", n, log.String())
	}
	srv := httptest.NewServer(w.Metrics.Handler(w.Ready))
	defer srv.Close()
	if _, m := get(t, srv.URL+"/metrics"); !strings.Contains(m, "mxfleet_redis_eviction_risk 0") {
		t.Errorf("/metrics lacks mxfleet_redis_eviction_risk 0")
	}
}

// On a cluster every master is read: one master that may evict is enough
// to refuse.
func TestClusterEvictionCheckReadsEveryMaster(t *testing.T) {
	r := testenv.NewCluster(t)
	ctx := testenv.Context(t, 30*time.Second)
	if _, err := fleet.CheckEviction(ctx, r.Client, false, zerolog.Nop()); err != nil {
		t.Fatalf("noeviction cluster: %v", err)
	}
	addr, _, _ := strings.Cut(r.ClusterAddrs, ",")
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.CheckEviction(ctx, r.Client, false, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "allkeys-lru") {
		t.Fatalf("one master allkeys-lru: %v", err)
	}
}
