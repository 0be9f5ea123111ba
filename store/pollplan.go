package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// pollPlanKey is the Redis hash of the learned poll schedules' shared
// estimates (one field per pollplan key, and the version field), under
// the store's hash tag so that it lives on the store's slot in a Redis
// Cluster.
const pollPlanKey = keyPrefix + "pollplan"

// pollPlanVersion is the hash's version field: bumped by every write.
const pollPlanVersion = "#v"

// ErrContended is PollPlan.Merge's answer when another writer changed the
// hash between its read and its write: nothing was written; read and
// merge again.
var ErrContended = errors.New("store: the shared estimates changed meanwhile")

// PollPlan is the hash the pods of a fleet share their learned poll
// estimates through (package internal/learn). It needs no keyring: the
// estimates are statistics of MX's run times, no secret.
type PollPlan struct{ rdb redis.UniversalClient }

// NewPollPlan is the shared estimates on rdb.
func NewPollPlan(rdb redis.UniversalClient) *PollPlan { return &PollPlan{rdb: rdb} }

// Merge is one compare-and-set on the shared estimates (WATCH/MULTI): it
// reads the hash's version and, when that is not known (the version the
// caller's copy is at), the whole hash; merge gets the fields read (nil
// when the hash is at known: the caller has them) and returns the fields
// to write and to delete. When there are any they are written with the
// version bumped, unless another writer came first (ErrContended). It
// returns the fields read (nil as above) and the version the hash is at
// after the call. The version field is never passed to merge's write.
func (p *PollPlan) Merge(ctx context.Context, known int64, merge func(fields map[string]string) (write map[string]string, del []string, err error)) (map[string]string, int64, error) {
	var (
		fields map[string]string
		ver    int64
	)
	txf := func(tx *redis.Tx) error {
		fields = nil
		v, err := tx.HGet(ctx, pollPlanKey, pollPlanVersion).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		ver = v
		if v != known {
			if fields, err = tx.HGetAll(ctx, pollPlanKey).Result(); err != nil {
				return err
			}
			delete(fields, pollPlanVersion)
		}
		write, del, err := merge(fields)
		if err != nil || len(write) == 0 && len(del) == 0 {
			return err
		}
		delete(write, pollPlanVersion)
		_, err = tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			if len(write) > 0 {
				pl.HSet(ctx, pollPlanKey, write)
			}
			if len(del) > 0 {
				pl.HDel(ctx, pollPlanKey, del...)
			}
			pl.HIncrBy(ctx, pollPlanKey, pollPlanVersion, 1)
			return nil
		})
		if err == nil {
			ver = v + 1
		}
		return err
	}
	err := p.rdb.Watch(ctx, txf, pollPlanKey)
	switch {
	case errors.Is(err, redis.TxFailedErr):
		return nil, 0, ErrContended
	case err != nil:
		return nil, 0, fmt.Errorf("store: shared poll estimates: %w", err)
	}
	return fields, ver, nil
}
