package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/fleet"
)

// freePort finds a TCP port p with p+10000 (the cluster bus) free as well.
func freePort(t testing.TB) int {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000)); err == nil {
			bus.Close()
			return p
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// NewCluster starts a local Redis Cluster of three masters (no replicas)
// for one test, or skips the test when redis-server or redis-cli is
// missing (unless MXFLEET_TEST_REQUIRE_REDIS=1).
func NewCluster(t testing.TB) *Redis { return newCluster(t, 0) }

// NewClusterWithReplicas starts three masters with one replica each and
// cluster-node-timeout 2000 ms, so a killed master (KillMasterOf) is
// replaced by its replica within seconds.
func NewClusterWithReplicas(t testing.TB) *Redis { return newCluster(t, 1) }

func newCluster(t testing.TB, replicas int) *Redis {
	t.Helper()
	bin, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redis-server and redis-cli are needed for the cluster test")
		}
		t.Skip("redis-server/redis-cli not installed: Redis Cluster not tested")
	}
	dir := t.TempDir()
	var addrs []string
	nodes := map[string]*exec.Cmd{}
	for i := range 3 * (1 + replicas) {
		p := freePort(t)
		nd := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(nd, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--port", fmt.Sprint(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(nd, "nodes.conf"), "--cluster-node-timeout", "2000",
			"--save", "", "--appendonly", "no", "--dir", nd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
		nodes[addrs[len(addrs)-1]] = cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		up := Poll(ctx, 20*time.Millisecond, func() bool { return c.Ping(ctx).Err() == nil })
		c.Close()
		if !up {
			t.Fatalf("cluster node %s did not start", a)
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// the fleet's own way to open a cluster (MXFLEET_REDIS_CLUSTER_ADDRS)
	u, err := (fleet.Config{RedisURL: "redis://127.0.0.1:6379/0", RedisClusterAddrs: strings.Join(addrs, ",")}).OpenRedis()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := u.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("MXFLEET_REDIS_CLUSTER_ADDRS opened a %T", u)
	}
	t.Cleanup(func() { _ = c.Close() })
	clusterOK := func(ctx context.Context, c interface {
		ClusterInfo(context.Context) *redis.StringCmd
	}) bool {
		return Poll(ctx, 50*time.Millisecond, func() bool { return stateOK(ctx, c) })
	}
	if !clusterOK(ctx, c) {
		t.Fatal("cluster_state never became ok")
	}
	// every master must know the whole slot map before asynq starts
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if !clusterOK(ctx, m) {
			return fmt.Errorf("node %s not ok", m.Options().Addr)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if replicas > 0 {
		// every replica must have synced with its master, or killing
		// that master loses the cluster
		for _, a := range addrs {
			n := redis.NewClient(&redis.Options{Addr: a})
			synced := Poll(ctx, 50*time.Millisecond, func() bool {
				info, err := n.Info(ctx, "replication").Result()
				return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
			})
			n.Close()
			if !synced {
				t.Fatalf("cluster node %s never synced with its master", a)
			}
		}
	}
	return &Redis{Client: c, URL: "redis://" + addrs[0], Real: true, ClusterAddrs: strings.Join(addrs, ","), nodes: nodes}
}

func stateOK(ctx context.Context, c interface {
	ClusterInfo(context.Context) *redis.StringCmd
}) bool {
	info, err := c.ClusterInfo(ctx).Result()
	return err == nil && strings.Contains(info, "cluster_state:ok")
}

// KillMasterOf SIGKILLs the master that serves key's slot (as a crashed
// node or pod would die) and returns its address and the slot.
func (r *Redis) KillMasterOf(t testing.TB, key string) (addr string, slot int64) {
	t.Helper()
	ctx := context.Background()
	for a := range r.nodes {
		n := redis.NewClient(&redis.Options{Addr: a})
		defer n.Close()
		s, err := n.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			continue
		}
		if addr = slotMaster(ctx, n, s); addr != "" {
			slot = s
			break
		}
	}
	cmd := r.nodes[addr]
	if cmd == nil {
		t.Fatalf("testenv: no master found for %q", key)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	delete(r.nodes, addr)
	return addr, slot
}

// slotMaster is the address of the master serving slot as node n sees it.
func slotMaster(ctx context.Context, n *redis.Client, slot int64) string {
	slots, err := n.ClusterSlots(ctx).Result()
	if err != nil {
		return ""
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	return ""
}

// WaitRecovered waits until every node still running reports
// cluster_state:ok and a master other than dead serves slot, and returns
// when that first held (checked every 10 ms).
func (r *Redis) WaitRecovered(ctx context.Context, dead string, slot int64) (time.Time, error) {
	var cs []*redis.Client
	for a := range r.nodes {
		cs = append(cs, redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1, DialTimeout: 200 * time.Millisecond}))
	}
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	ok := Poll(ctx, 10*time.Millisecond, func() bool {
		for _, c := range cs {
			if !stateOK(ctx, c) {
				return false
			}
			if m := slotMaster(ctx, c, slot); m == "" || m == dead {
				return false
			}
		}
		return true
	})
	if !ok {
		return time.Time{}, fmt.Errorf("testenv: the cluster did not recover from losing %s: %w", dead, ctx.Err())
	}
	return time.Now(), nil
}
