package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// CheckEviction reads maxmemory-policy (CONFIG GET) on rdb, on every master
// of a cluster. Job records, parked answers and asynq's queues must never
// be evicted, so any policy but noeviction is an error, unless allow
// (MXFLEET_REDIS_ALLOW_EVICTION) accepts the risk: then it warns and
// returns risk true. A Redis that refuses CONFIG GET (managed services
// often do: unknown command, NOPERM) or cannot be read is logged once and
// not held against the start.
func CheckEviction(ctx context.Context, rdb redis.UniversalClient, allow bool, log zerolog.Logger) (risk bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	var bad, unread []string
	check := func(ctx context.Context, c *redis.Client) error {
		policy, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		mu.Lock()
		defer mu.Unlock()
		switch p := policy["maxmemory-policy"]; {
		case err != nil:
			unread = append(unread, fmt.Sprintf("%s: %v", c.Options().Addr, err))
		case p == "":
			unread = append(unread, c.Options().Addr+": no maxmemory-policy in the answer")
		case p != "noeviction":
			bad = append(bad, fmt.Sprintf("%s has maxmemory-policy %s", c.Options().Addr, p))
		}
		return nil
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, check)
	} else if c, ok := rdb.(*redis.Client); ok {
		err = check(ctx, c)
	} else {
		err = errors.New("not a Redis client the fleet opens")
	}
	if err != nil {
		unread = append(unread, err.Error())
	}
	if len(unread) > 0 {
		log.Warn().Str("component", "eviction_check").Str("why", strings.Join(unread, "; ")).
			Msg("cannot read Redis's maxmemory-policy (CONFIG GET refused or failed): make sure it is noeviction, or Redis may evict job records, parked answers and queued tasks when full")
	}
	if len(bad) == 0 {
		return false, nil
	}
	if !allow {
		return false, fmt.Errorf("Redis may evict job records, parked answers and queued tasks: %s; set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, or the managed service's parameter), or set %s_REDIS_ALLOW_EVICTION=true to accept the risk", strings.Join(bad, ", "), Prefix)
	}
	log.Warn().Str("component", "eviction_check").Str("policy", strings.Join(bad, ", ")).
		Msgf("%s_REDIS_ALLOW_EVICTION=true: Redis may evict job records, parked answers and queued tasks when full; set maxmemory-policy noeviction", Prefix)
	return true, nil
}
