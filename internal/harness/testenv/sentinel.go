package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/fleet"
)

// Sentinel is a primary, a replica and one Sentinel watching them.
type Sentinel struct {
	*Redis
	Primary     *exec.Cmd // kill it to fail over
	PrimaryAddr string    // host:port of the first primary
}

// SentinelAuth protects a Sentinel setup: a password on the primary and
// its replica (requirepass and masterauth, given to the Sentinel as
// auth-pass), one on the Sentinel (requirepass), and the db the fleet uses.
type SentinelAuth struct {
	MasterPassword, SentinelPassword string
	DB                               int
}

// NewSentinel starts a primary with AOF, a replica and a Sentinel
// (down-after 1s), and opens the fleet's Redis through the Sentinel
// (redis-sentinel://…?master=mxfleet, as MXFLEET_REDIS_URL would).
func NewSentinel(t testing.TB) *Sentinel { return NewSentinelWith(t, SentinelAuth{}) }

// NewSentinelWith is NewSentinel with passwords and a db: the URL
// carries them as the fleet documents (redis-sentinel://:MASTER@host/DB?master=mxfleet&sentinel_password=SENTINEL).
func NewSentinelWith(t testing.TB, auth SentinelAuth) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal("redis-server is needed for the Sentinel test")
		}
		t.Skip("redis-server not installed: Sentinel not tested")
	}
	dir := t.TempDir()
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	p1, p2, ps := freePort(t), freePort(t), freePort(t)
	var primary *exec.Cmd
	for i, p := range []int{p1, p2} {
		nd := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(nd, 0o700); err != nil {
			t.Fatal(err)
		}
		args := []string{"--port", fmt.Sprint(p), "--bind", "127.0.0.1", "--dir", nd, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"}
		if auth.MasterPassword != "" {
			args = append(args, "--requirepass", auth.MasterPassword, "--masterauth", auth.MasterPassword)
		}
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", fmt.Sprint(p1))
		}
		if cmd := start(args...); i == 0 {
			primary = cmd
		}
	}
	conf := filepath.Join(dir, "sentinel.conf")
	cfg := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor mxfleet 127.0.0.1 %d 1\nsentinel down-after-milliseconds mxfleet 1000\nsentinel failover-timeout mxfleet 5000\n", ps, p1)
	if auth.MasterPassword != "" {
		cfg += fmt.Sprintf("sentinel auth-pass mxfleet %s\n", auth.MasterPassword)
	}
	if auth.SentinelPassword != "" {
		cfg += fmt.Sprintf("requirepass %s\n", auth.SentinelPassword)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start(conf, "--sentinel")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// the replica must be in sync before anything is measured
	replica := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", p2), Password: auth.MasterPassword})
	defer replica.Close()
	if !Poll(ctx, 50*time.Millisecond, func() bool {
		info, err := replica.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	}) {
		t.Fatal("replica not in sync")
	}
	// and the Sentinel must know the replica (it learns it from the
	// primary's INFO, up to 10 s), or it has nothing to promote
	sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ps), Password: auth.SentinelPassword})
	defer sc.Close()
	if !Poll(ctx, 100*time.Millisecond, func() bool {
		reps, err := sc.Replicas(ctx, "mxfleet").Result()
		return err == nil && len(reps) > 0
	}) {
		t.Fatal("the Sentinel never saw the replica")
	}
	url := fmt.Sprintf("redis-sentinel://127.0.0.1:%d?master=mxfleet", ps)
	if auth != (SentinelAuth{}) {
		url = fmt.Sprintf("redis-sentinel://:%s@127.0.0.1:%d/%d?master=mxfleet&sentinel_password=%s", auth.MasterPassword, ps, auth.DB, auth.SentinelPassword)
	}
	c, err := fleet.Redis(url)
	if err != nil {
		t.Fatal(err)
	}
	if !Poll(ctx, 50*time.Millisecond, func() bool { return c.Ping(ctx).Err() == nil }) {
		t.Fatal("no primary through the Sentinel")
	}
	t.Cleanup(func() { _ = c.Close() })
	return &Sentinel{Redis: &Redis{Client: c, URL: url, Real: true}, Primary: primary, PrimaryAddr: fmt.Sprintf("127.0.0.1:%d", p1)}
}
