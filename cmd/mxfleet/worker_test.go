package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// workerEnv sets what a worker needs, on a Redis URL.
func workerEnv(t *testing.T, redisURL, metricsAddr string) {
	t.Helper()
	key, err := seal.Generate("test")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"MXFLEET_REDIS_URL": redisURL, "MXFLEET_REDIS_CLUSTER_ADDRS": "", "MXFLEET_SECRET_KEYS": key,
		"MXFLEET_MX_BASE_URL": "http://127.0.0.1:1", "MXFLEET_MX_CLIENT_ID": mxsim.DefaultClientID, "MXFLEET_MX_API_KEY": mxsim.DefaultAPIKey,
		"MXFLEET_METRICS_ADDR": metricsAddr, "MXFLEET_SHUTDOWN_TIMEOUT": "1s", "MXFLEET_SWEEP_INTERVAL": "0s",
		"MXFLEET_LOG_FORMAT": "json", "MXFLEET_LOG_LEVEL": "info",
	} {
		t.Setenv(k, v)
	}
	// cmdWorker routes go-redis's logger to its own: put a plain one back.
	t.Cleanup(func() { redis.SetLogger(redisLogger{l: zerolog.New(os.Stderr), lvl: zerolog.WarnLevel}) })
}

// A worker that cannot take its metrics and probes address does not run
// without them: it exits at once, saying why.
func TestWorkerExitsWhenTheMetricsAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	workerEnv(t, testenv.NewRedis(t).URL, taken.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err = cmdWorker(ctx, nil, &testenv.SyncBuffer{}, &testenv.SyncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "MXFLEET_METRICS_ADDR="+taken.Addr().String()) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("worker with its metrics address taken: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the worker ran %s before giving up", took)
	}
}

// With Redis unreachable, go-redis's own complaints come out as the
// worker's JSON log lines, not raw "redis: …" text.
func TestWorkerLogsRedisTroubleAsJSON(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	workerEnv(t, fmt.Sprintf("redis://%s/0", addr), "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- cmdWorker(ctx, nil, &testenv.SyncBuffer{}, stderr) }()
	testenv.Until(t, testenv.Context(t, 20*time.Second), "a go-redis line in the worker's log", func() error {
		if !strings.Contains(stderr.String(), `"component":"redis"`) {
			return fmt.Errorf("log:\n%s", stderr)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	saw := false
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line that is not JSON: %q", line)
		}
		if m["component"] == "redis" {
			saw = true
			if msg, _ := m["message"].(string); m["level"] != "warn" || !strings.Contains(msg, "connection pool") || strings.HasPrefix(msg, "redis: ") {
				t.Fatalf("go-redis line: %v", m)
			}
		}
	}
	if !saw {
		t.Fatal("no go-redis line")
	}
}
