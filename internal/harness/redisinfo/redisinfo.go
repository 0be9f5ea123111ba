// Package redisinfo reads what the harnesses (make bench, make chaos)
// report about a redis-server: the commands it ran (INFO commandstats).
// Test and harness tooling: no production package imports it.
package redisinfo

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Commands reads INFO commandstats: calls per command (commands run by
// Lua scripts included, under their own names). Empty when the server
// does not answer.
func Commands(ctx context.Context, c *redis.Client) map[string]int64 {
	info, _ := c.Info(ctx, "commandstats").Result()
	out := map[string]int64{}
	for _, l := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				out[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return out
}

// PerJob is the growth of each command's calls from before to after,
// divided by jobs, largest first ("evalsha 12.0, get 9.0, ..."; INFO
// itself left out), and the total per job.
func PerJob(before, after map[string]int64, jobs int) (string, float64) {
	type kv struct {
		name string
		n    int64
	}
	var all []kv
	var total int64
	for name, n := range after {
		if d := n - before[name]; d > 0 && name != "info" {
			all = append(all, kv{name, d})
			total += d
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.n - a.n) })
	var parts []string
	for _, e := range all {
		if v := float64(e.n) / float64(jobs); v >= 0.05 {
			parts = append(parts, e.name+" "+strconv.FormatFloat(v, 'f', 1, 64))
		}
	}
	return strings.Join(parts, ", "), float64(total) / float64(jobs)
}
