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
	"sync"
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
	nodes        map[string]*exec.Cmd // a cluster's redis-servers by address

	mu   sync.Mutex
	mini *miniredis.Miniredis // the fallback, when not Real
	bin  string               // redis-server and its arguments, for Start
	args []string
	sock string
	cmd  *exec.Cmd // the running redis-server; nil while stopped
}

// Tick is how often Until checks its condition.
const Tick = 10 * time.Millisecond

// UntilMax bounds Until when ctx has no deadline of its own.
const UntilMax = 30 * time.Second

// Until is the tests' one way to wait: it checks cond every Tick until
// cond returns nil, and fails the test, naming what it waited for and the
// state cond last reported (its error), when ctx ends first (or UntilMax
// passes, for a ctx without a deadline). A wait in a test waits for a
// condition, never for an amount of time.
func Until(t testing.TB, ctx context.Context, what string, cond func() error) {
	t.Helper()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, UntilMax)
		defer cancel()
	}
	var last error
	if !Poll(ctx, Tick, func() bool { last = cond(); return last == nil }) {
		t.Fatalf("waiting for %s: %v; last state: %v", what, ctx.Err(), last)
	}
}

// Poll checks cond every step until it holds (true) or ctx ends (false):
// Until's loop, for waits that report by their result (the harness's own,
// and a test's goroutines, which may not end the test with Fatal).
func Poll(ctx context.Context, step time.Duration, cond func() bool) bool {
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
func NewRedis(t testing.TB) *Redis { return NewRedisWith(t) }

// NewRedisWith is NewRedis with more redis-server arguments (such as
// "--maxmemory-policy", "volatile-lru"); miniredis ignores them.
func NewRedisWith(t testing.TB, extra ...string) *Redis {
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
		return &Redis{Client: c, URL: "redis://" + m.Addr(), mini: m}
	}
	dir, err := os.MkdirTemp("", "mxr")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	r := &Redis{URL: fmt.Sprintf("redis-socket://%s", sock), Real: true, bin: bin, sock: sock,
		args: []string{"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
			"--save", "", "--appendonly", "no", "--dir", dir}}
	r.args = append(r.args, extra...)
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.cmd != nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
		_ = os.RemoveAll(dir)
	})
	r.Client = redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	t.Cleanup(func() { _ = r.Client.Close() })
	r.Start(t)
	return r
}

// Stop stops the Redis server as an outage would, keeping its data: until
// Start, every client's calls fail to connect. Only for the Redis of
// NewRedis (redis-server or miniredis).
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.mini != nil:
		r.mini.Close()
	case r.cmd != nil:
		// SHUTDOWN SAVE writes the data to --dir even with --save "",
		// closes every connection and removes the socket.
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: r.sock, MaxRetries: -1})
		_ = c.ShutdownSave(context.Background()).Err() // the connection closes: no reply
		_ = c.Close()
		if err := r.cmd.Wait(); err != nil {
			t.Logf("testenv: redis-server exited: %v", err)
		}
		r.cmd = nil
	case r.bin == "":
		t.Fatal("testenv: Stop works on the Redis of NewRedis only")
	}
}

// Start starts the Redis again after Stop, on the same address, with the
// data it had, and waits until it answers. NewRedis starts it the first time.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.mini != nil:
		if err := r.mini.Restart(); err != nil {
			t.Fatalf("restart miniredis: %v", err)
		}
	case r.bin == "":
		t.Fatal("testenv: Start works on the Redis of NewRedis only")
	case r.cmd != nil:
		return // running
	default:
		cmd := exec.Command(r.bin, r.args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		r.cmd = cmd
	}
	// Until the client answers: after failed dials go-redis keeps
	// returning the last dial error for a while.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !Poll(ctx, 10*time.Millisecond, func() bool { return r.Client.Ping(ctx).Err() == nil }) {
		t.Fatal("redis did not answer")
	}
}
