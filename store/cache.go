package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// CacheGet reads the cached value name into v: false when there is none
// (never cached, or its TTL ran out). Cached values are public data (MX's
// institutions), stored as plain JSON.
func (s *Store) CacheGet(ctx context.Context, name string, v any) (bool, error) {
	b, err := s.rdb.Get(ctx, cacheKey(name)).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: read cache %s: %w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, nil // written by another version: a miss
	}
	return true, nil
}

// CachePut caches v as name for ttl.
func (s *Store) CachePut(ctx context.Context, name string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, cacheKey(name), b, ttl).Err(); err != nil {
		return fmt.Errorf("store: write cache %s: %w", name, err)
	}
	return nil
}
