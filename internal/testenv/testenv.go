// Package testenv gives tests real components: a redis-server of their
// own (falling back to miniredis, loudly, where none is installed), and
// helpers shared by the fleet's end-to-end tests.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// RequireEnv, when set to 1, makes a missing redis-server fatal (CI).
const RequireEnv = "MXFLEET_TEST_REQUIRE_REDIS"

// Redis is one Redis for one test.
type Redis struct {
	Client redis.UniversalClient
	URL    string // for asynq.ParseRedisURI and subprocesses
	Real   bool   // redis-server, not miniredis
	// ClusterAddrs is set for a Redis Cluster (MXFLEET_REDIS_CLUSTER_ADDRS).
	ClusterAddrs string
}

// until checks cond every step until it holds (true) or ctx ends (false).
func until(ctx context.Context, step time.Duration, cond func() bool) bool {
	tick := time.NewTicker(step)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// NewRedis starts a redis-server of the test's own on a unix socket in the
// test's temp dir, stopped at cleanup. Without redis-server it uses
// miniredis and says so, unless MXFLEET_TEST_REQUIRE_REDIS=1.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redis-server not found and %s=1", RequireEnv)
		}
		t.Logf("testenv: redis-server not found; falling back to miniredis (install redis-server for the real thing)")
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return &Redis{Client: c, URL: "redis://" + m.Addr()}
	}
	dir, err := os.MkdirTemp("", "mxr")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	})
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !until(ctx, 10*time.Millisecond, func() bool { return c.Ping(ctx).Err() == nil }) {
		t.Fatal("redis-server did not answer")
	}
	return &Redis{Client: c, URL: fmt.Sprintf("redis-socket://%s", sock), Real: true}
}
