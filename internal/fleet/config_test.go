package fleet_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

func TestWorkerRefusesToStartWithoutWhatItNeeds(t *testing.T) {
	good := testenv.FastConfig("http://127.0.0.1:1")
	for name, c := range map[string]struct {
		mutate func(*fleet.Config)
		says   string
	}{
		"no MX key":     {func(c *fleet.Config) { c.MXAPIKey = "" }, "MXFLEET_MX_API_KEY"},
		"no secret key": {func(c *fleet.Config) { c.SecretKeys = "" }, "MXFLEET_SECRET_KEYS"},
		"bad key":       {func(c *fleet.Config) { c.SecretKeys = "k1:tooshort" }, "32 bytes"},
		"concurrency":   {func(c *fleet.Config) { c.Concurrency = 0 }, "CONCURRENCY"},
		"sweeps":        {func(c *fleet.Config) { c.SweepInterval = -time.Minute }, "SWEEP_INTERVAL"},
	} {
		cfg := good
		c.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want it to name %s", name, err, c.says)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Redis("redis://user:S3cretPass@host:notaport/0"); err == nil || strings.Contains(err.Error(), "S3cretPass") {
		t.Fatalf("bad Redis URL: %v", err)
	}
}

// cleanEnv leaves the test no MXFLEET_* setting of the caller's
// environment (MXFLEET_TEST_* stay), restored after the test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, fleet.Prefix+"_") && !strings.HasPrefix(k, fleet.Prefix+"_TEST_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestLoadSaysWhatIsWrongWithASetting(t *testing.T) {
	const password = "S3cretPass"
	for _, c := range []struct {
		env  map[string]string
		says []string // every one must be in the error
	}{
		{map[string]string{"MXFLEET_POLL_INITIAL": "3"}, []string{`MXFLEET_POLL_INITIAL="3" is not a duration; write it like 3s, 500ms, 1m`}},
		{map[string]string{"MXFLEET_CONCURRENCY": "many"}, []string{`MXFLEET_CONCURRENCY="many" is not a whole number`}},
		{map[string]string{"MXFLEET_JOB_DEADLINE": ""}, []string{"MXFLEET_JOB_DEADLINE is set but empty"}},
		{map[string]string{"MXFLEET_MX_TIMEOUT": "-1s"}, []string{"MXFLEET_MX_TIMEOUT=-1s: must be positive, like 30s"}},
		{map[string]string{"MXFLEET_MX_TIMEOUT": "0s"}, []string{"MXFLEET_MX_TIMEOUT=0s: must be positive"}},
		{map[string]string{"MXFLEET_CHALLENGE_TTL": "-5m"}, []string{"MXFLEET_CHALLENGE_TTL", "positive"}},
		{map[string]string{"MXFLEET_SHUTDOWN_TIMEOUT": "0s"}, []string{"MXFLEET_SHUTDOWN_TIMEOUT", "positive"}},
		{map[string]string{"MXFLEET_SWEEP_INTERVAL": "-1m"}, []string{"MXFLEET_SWEEP_INTERVAL", "0 (no sweeps) or positive"}},
		{map[string]string{"MXFLEET_POLL_INITIAL": "2m"}, []string{"MXFLEET_POLL_INITIAL (2m0s) must be at most MXFLEET_POLL_MAX (1m0s)"}},
		{map[string]string{"MXFLEET_POLL_SCHEDULE": "sometimes"}, []string{`MXFLEET_POLL_SCHEDULE="sometimes": want learned, backoff or auto`}},
		{map[string]string{"MXFLEET_POLL_SCHEDULE": "learned", "MXFLEET_POLL_INITIAL": "1s"}, []string{"MXFLEET_POLL_SCHEDULE=learned reads no sooner than MX's 3s minimum", "raise it to 3s or more, or use backoff"}},
		{map[string]string{"MXFLEET_SECRET_KEYS": "k1:short"}, []string{"MXFLEET_SECRET_KEYS", "32 bytes"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://user:" + password + "@127.0.0.1:notaport/0"}, []string{`MXFLEET_REDIS_URL: bad port "notaport": want a number 1-65535`}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://:" + password + "@127.0.0.1:99999/0"}, []string{`bad port "99999"`}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://:" + password + "@127.0.0.1:6379/abc"}, []string{`MXFLEET_REDIS_URL: bad db number "abc"`}},
		{map[string]string{"MXFLEET_REDIS_URL": "localhost:6379"}, []string{"MXFLEET_REDIS_URL has no scheme: write it like redis://localhost:6379/0"}},
		{map[string]string{"MXFLEET_REDIS_URL": "user:" + password + "@localhost:6379"}, []string{"has no scheme", "redis://USER:PASSWORD@localhost:6379/0"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://:" + password + "@redis.internal/0"}, []string{`no port after host "redis.internal": write redis.internal:6379`}},
		{map[string]string{"MXFLEET_REDIS_URL": "http://" + password + "@host:6379"}, []string{"scheme http:// is not redis://"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://:" + password + "@host:26379"}, []string{"needs the name of the master", "?master=NAME"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://:" + password + "@host:26379?master="}, []string{"?master=NAME"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://host:x?master=m"}, []string{`bad port "x"`}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://host:26379/one?master=m"}, []string{`bad db number "one"`, "master's database number"}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://host:26379?master=m&password=" + password}, []string{"takes ?master=, sentinel_username= and sentinel_password=, not password="}},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-socket://:" + password + "@"}, []string{"names the socket's path"}},
		{map[string]string{"MXFLEET_REDIS_URL": ""}, []string{"MXFLEET_REDIS_URL is empty"}},
		{map[string]string{"MXFLEET_REDIS_CLUSTER_ADDRS": "10.0.0.1:7000,10.0.0.2"}, []string{`MXFLEET_REDIS_CLUSTER_ADDRS: no port after host "10.0.0.2"`}},
	} {
		t.Run(fmt.Sprint(c.env), func(t *testing.T) {
			cleanEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := fleet.Load()
			if err == nil {
				t.Fatalf("accepted; want an error saying %q", c.says)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			for _, leak := range []string{password, "envconfig", "time.Duration", "strconv", "PollInitial"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q shows %q", err, leak)
				}
			}
		})
	}
}

func TestLoadTakesGoodSettings(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"MXFLEET_REDIS_URL": "redis://user:p%40ss@127.0.0.1:6380/2", "MXFLEET_POLL_INITIAL": "500ms", "MXFLEET_SWEEP_INTERVAL": "0s"},
		{"MXFLEET_REDIS_URL": "rediss://[::1]:6380"},
		{"MXFLEET_REDIS_URL": "redis-sentinel://:pw@h1:26379,h2:26379?master=mxfleet"},
		{"MXFLEET_REDIS_URL": "redis-sentinel://:pw@h1:26379,h2:26379/2?master=mxfleet&sentinel_password=spw"},
		{"MXFLEET_REDIS_URL": "redis-socket:///tmp/redis.sock?db=3"},
		{"MXFLEET_REDIS_CLUSTER_ADDRS": "10.0.0.1:7000, 10.0.0.2:7001"},
	} {
		t.Run(fmt.Sprint(env), func(t *testing.T) {
			cleanEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			cfg, err := fleet.Load()
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := env["MXFLEET_POLL_INITIAL"]; ok && cfg.PollInitial.String() != v {
				t.Fatalf("POLL_INITIAL read as %s", cfg.PollInitial)
			}
			if _, ok := env["MXFLEET_REDIS_URL"]; !ok && cfg.RedisURL != "redis://127.0.0.1:6379/0" {
				t.Fatalf("default Redis URL %q", cfg.RedisURL)
			}
		})
	}
}

// TestPollScheduleChoice: auto is learned when polls are no faster than
// MX's 3 s minimum, the backoff below (demos and tests poll faster).
func TestPollScheduleChoice(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		initial  time.Duration
		want     bool
	}{{"", 3 * time.Second, true}, {"auto", 5 * time.Second, true}, {"auto", 100 * time.Millisecond, false},
		{"backoff", 3 * time.Second, false}, {"Learned", 3 * time.Second, true}} {
		cfg := fleet.Config{PollSchedule: tc.schedule, PollInitial: tc.initial}
		got, err := cfg.Learned()
		if err != nil || got != tc.want {
			t.Errorf("POLL_SCHEDULE=%q POLL_INITIAL=%s: learned %t, %v; want %t", tc.schedule, tc.initial, got, err, tc.want)
		}
		// The API's and CLI's ETAs: only a learning fleet has them.
		if eta := cfg.ETAs(nil); (eta != nil) != tc.want {
			t.Errorf("POLL_SCHEDULE=%q POLL_INITIAL=%s: ETAs %v, want them %t", tc.schedule, tc.initial, eta, tc.want)
		}
	}
}
