package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

// A Sentinel URL means what it says: its password and db are the master's,
// sentinel_password is the Sentinel's. Against a real Sentinel whose
// master wants a password (requirepass, masterauth, sentinel auth-pass)
// and which wants one of its own, the fleet's client writes to db 1 of the
// master.
func TestSentinelURLPasswordAndDBAreTheMasters(t *testing.T) {
	s := testenv.NewSentinelWith(t, testenv.SentinelAuth{MasterPassword: "m4sterPw", SentinelPassword: "s3ntinelPw", DB: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client.Set(ctx, "sentinel-db-probe", "here", time.Minute).Err(); err != nil {
		t.Fatalf("write through the Sentinel URL: %v", err)
	}
	for db, want := range map[int]int64{1: 1, 0: 0} {
		c := redis.NewClient(&redis.Options{Addr: s.PrimaryAddr, Password: "m4sterPw", DB: db})
		n, err := c.Exists(ctx, "sentinel-db-probe").Result()
		c.Close()
		if err != nil || n != want {
			t.Errorf("db %d of the master holds the key %d times (%v), want %d", db, n, err, want)
		}
	}
}
