// Package fleet assembles the worker from configuration: Redis, the MX
// client, the store, the handlers and the asynq server. cmd/mxfleet, the
// demo and the tests all build workers through it.
package fleet

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/callback"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/tasks"
)

// Prefix is the environment prefix of every setting.
const Prefix = "MXFLEET"

// Config is the worker's configuration, read from MXFLEET_* variables.
type Config struct {
	RedisURL          string        `envconfig:"REDIS_URL" default:"redis://127.0.0.1:6379/0" desc:"Redis: redis://[user:pass@]host:port/db, rediss:// for TLS, redis-sentinel://host:port?master=name"`
	RedisClusterAddrs string        `envconfig:"REDIS_CLUSTER_ADDRS" desc:"Redis Cluster seed nodes host:port,...; when set, producers, workers and the store use cluster clients (user, password and TLS still come from REDIS_URL)"`
	MXBaseURL         string        `envconfig:"MX_BASE_URL" default:"https://int-api.mx.com" desc:"MX Platform API base URL (https://api.mx.com in production)"`
	MXAPIVersion      string        `envconfig:"MX_API_VERSION" default:"v20250224" desc:"MX Platform API version sent as Accept-Version on every call: v20250224 (current) or v20111101 (previous)"`
	MXClientID        string        `envconfig:"MX_CLIENT_ID" desc:"MX client id (required by the worker)"`
	MXAPIKey          string        `envconfig:"MX_API_KEY" desc:"MX API key (required by the worker; never logged)"`
	SecretKeys        string        `envconfig:"SECRET_KEYS" desc:"keys sealing credentials, MFA answers and results in Redis: id:base64(32 bytes)[,id:base64...]; the first seals, all open (mxfleet keygen prints one; never logged)"`
	MXTimeout         time.Duration `envconfig:"MX_TIMEOUT" default:"30s" desc:"timeout of one MX API call"`
	Concurrency       int           `envconfig:"CONCURRENCY" default:"50" desc:"tasks run at once by this worker (handlers never wait for MX jobs: a slot is held only during MX and Redis calls, plus at most 1 s of rate-limit wait)"`
	ChallengeTTL      time.Duration `envconfig:"CHALLENGE_TTL" default:"10m" desc:"how long a parked MFA challenge waits for an answer before the job fails challenge_expired"`
	JobDeadline       time.Duration `envconfig:"JOB_DEADLINE" default:"15m" desc:"a job not ended this long after it started fails timeout"`
	PollInitial       time.Duration `envconfig:"POLL_INITIAL" default:"3s" desc:"first status poll after MX starts a job (MX asks for at least 3s)"`
	PollMax           time.Duration `envconfig:"POLL_MAX" default:"1m" desc:"cap of the exponential poll backoff"`
	RetryBase         time.Duration `envconfig:"RETRY_BASE" default:"1s" desc:"first retry delay after a transient MX or Redis error; doubles per retry up to RETRY_MAX, jittered; MX's Retry-After wins when longer"`
	RetryMax          time.Duration `envconfig:"RETRY_MAX" default:"5m" desc:"cap of the retry delay"`
	RetryLaterDelay   time.Duration `envconfig:"RETRY_LATER_DELAY" default:"5m" desc:"wait before starting a job again after DEGRADED, FAILED or DISCONNECTED"`
	MaxAttempts       int           `envconfig:"MAX_ATTEMPTS" default:"3" desc:"MX jobs started per fleet job, restarts after retry-later statuses included"`
	JobRetention      time.Duration `envconfig:"JOB_RETENTION" default:"168h" desc:"how long a job record is kept after the job ends"`
	SchedulerInterval time.Duration `envconfig:"SCHEDULER_INTERVAL" default:"1s" desc:"how often scheduled tasks (polls, retries, expiries) are moved to their queues; bounds how late a poll runs (asynq's default is 5s)"`
	TaskCheckInterval time.Duration `envconfig:"TASK_CHECK_INTERVAL" default:"100ms" desc:"how often an idle worker looks for new tasks: a task enqueued into empty queues (an answer, a webhook-woken poll) waits 0.5 to 1.5 times this; each look is one Redis script per queue (asynq's default is 1s)"`
	SweepInterval     time.Duration `envconfig:"SWEEP_INTERVAL" default:"1m" desc:"how often one worker of the fleet looks for jobs whose next task was lost (a Redis failover) and drives them on again; 0: never"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"25s" desc:"on SIGTERM, how long running tasks may finish before they are handed back to the queue"`
	APIAddr           string        `envconfig:"API_ADDR" default:"127.0.0.1:8080" desc:"listen address of mxfleet api"`
	APITokens         string        `envconfig:"API_TOKENS" desc:"bearer tokens the API accepts, comma-separated (required by mxfleet api; never logged)"`
	CallbackAllow     string        `envconfig:"CALLBACK_ALLOW" desc:"hosts callbacks may go to: names (*.example.com), IPs, CIDRs; private and loopback addresses only when listed; empty: no callbacks"`
	CallbackSecret    string        `envconfig:"CALLBACK_SECRET" desc:"HMAC-SHA256 key signing callbacks (required with CALLBACK_ALLOW; never logged)"`
	WebhookSecret     string        `envconfig:"WEBHOOK_SECRET" desc:"shared secret MX webhooks must carry (?token= or X-Mxfleet-Webhook-Token); empty: webhooks off"`
	MetricsAddr       string        `envconfig:"METRICS_ADDR" default:"127.0.0.1:9090" desc:"worker's /metrics, /healthz and /readyz (empty: off)"`
	MXRate            int           `envconfig:"MX_RATE" default:"0" desc:"fleet-wide MX calls per second, shared by every pod through Redis (0: no limit); a 429 from MX pauses MX calls fleet-wide for its Retry-After either way"`
	Queues            string        `envconfig:"QUEUES" default:"mx_answers:6,mx_polls:3,mx_callbacks:2,mx_jobs:1" desc:"queue weights: answers first (a person waits), then polls, callbacks, new jobs"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
}

// Handlers returns the state machine's settings.
func (c Config) Handlers() handlers.Config {
	h := handlers.DefaultConfig()
	h.PollInitial, h.PollMax = c.PollInitial, c.PollMax
	h.JobDeadline, h.ChallengeTTL = c.JobDeadline, c.ChallengeTTL
	h.RetryLaterDelay, h.MaxAttempts = c.RetryLaterDelay, c.MaxAttempts
	// A running job's record changes at every poll, at most PollMax (+20%)
	// plus the scheduler's lateness apart: one quiet for twice that, and
	// never less than 2 minutes, is worth a look.
	h.SweepQuiet = max(2*c.PollMax, 2*time.Minute) + c.SchedulerInterval
	if allow, err := c.Callbacks(); err == nil && allow != nil {
		h.CallbackSecret, h.CallbackClient, h.CallbackAllow = []byte(c.CallbackSecret), allow.Client(10*time.Second), allow
	}
	return h
}

// Validate checks the settings a worker needs.
func (c Config) Validate() error {
	var missing []string
	if c.MXClientID == "" {
		missing = append(missing, Prefix+"_MX_CLIENT_ID")
	}
	if c.MXAPIKey == "" {
		missing = append(missing, Prefix+"_MX_API_KEY")
	}
	if len(missing) > 0 {
		return fmt.Errorf("set %s (MX credentials); `mxfleet worker --help` lists every setting", strings.Join(missing, " and "))
	}
	if _, err := c.Keys(); err != nil {
		return err
	}
	if _, err := c.MXVersion(); err != nil {
		return err
	}
	if _, err := c.Callbacks(); err != nil {
		return err
	}
	if _, err := c.QueueWeights(); err != nil {
		return err
	}
	switch {
	case c.SweepInterval < 0:
		return fmt.Errorf("%s_SWEEP_INTERVAL must be 0 (no sweeps) or positive", Prefix)
	case c.MXRate < 0:
		return fmt.Errorf("%s_MX_RATE must be 0 (no limit) or positive", Prefix)
	case c.Concurrency < 1:
		return fmt.Errorf("%s_CONCURRENCY must be at least 1", Prefix)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%s_MAX_ATTEMPTS must be at least 1", Prefix)
	case c.PollInitial <= 0 || c.PollMax < c.PollInitial:
		return fmt.Errorf("%s_POLL_INITIAL must be positive and at most %s_POLL_MAX", Prefix, Prefix)
	case c.RetryBase <= 0 || c.RetryMax < c.RetryBase:
		return fmt.Errorf("%s_RETRY_BASE must be positive and at most %s_RETRY_MAX", Prefix, Prefix)
	case c.ChallengeTTL <= 0 || c.JobDeadline <= 0 || c.JobRetention <= 0:
		return fmt.Errorf("%s_CHALLENGE_TTL, %s_JOB_DEADLINE and %s_JOB_RETENTION must be positive", Prefix, Prefix, Prefix)
	}
	return nil
}

// Callbacks parses the callback allowlist; nil when callbacks are off.
func (c Config) Callbacks() (*callback.Allow, error) {
	if strings.TrimSpace(c.CallbackAllow) == "" {
		return nil, nil
	}
	if len(c.CallbackSecret) < 16 {
		return nil, fmt.Errorf("%s_CALLBACK_ALLOW is set: set %s_CALLBACK_SECRET too (at least 16 characters) to sign callbacks", Prefix, Prefix)
	}
	return callback.Parse(c.CallbackAllow)
}

// QueueWeights parses MXFLEET_QUEUES; every fleet queue must be there.
func (c Config) QueueWeights() (map[string]int, error) {
	out := map[string]int{}
	if strings.TrimSpace(c.Queues) == "" {
		for q, w := range tasks.Queues {
			out[q] = w
		}
		return out, nil
	}
	for _, part := range strings.Split(c.Queues, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), ":")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Errorf("%s_QUEUES: want queue:weight pairs with weights ≥ 1, like %s", Prefix, "mx_answers:6,mx_polls:3,mx_callbacks:2,mx_jobs:1")
		}
		out[name] = n
	}
	for q := range tasks.Queues {
		if _, ok := out[q]; !ok {
			return nil, fmt.Errorf("%s_QUEUES lacks queue %s: a worker must serve every fleet queue", Prefix, q)
		}
	}
	return out, nil
}

// MXVersion parses MXFLEET_MX_API_VERSION.
func (c Config) MXVersion() (mx.Version, error) {
	if strings.TrimSpace(c.MXAPIVersion) == "" {
		return mx.DefaultVersion, nil
	}
	v, err := mx.ParseVersion(c.MXAPIVersion)
	if err != nil {
		return "", fmt.Errorf("%s_MX_API_VERSION=%q: want %s (current) or %s (previous)", Prefix, c.MXAPIVersion, mx.V20250224, mx.V20111101)
	}
	return v, nil
}

// MXClient is an MX client for these settings: base URL, credentials, API
// version and per-call timeout, over hc when not nil, with extra options.
func (c Config) MXClient(hc *http.Client, extra ...mx.Option) (*mx.Client, error) {
	v, err := c.MXVersion()
	if err != nil {
		return nil, err
	}
	opts := append([]mx.Option{mx.WithBaseURL(c.MXBaseURL), mx.WithCredentials(c.MXClientID, c.MXAPIKey), mx.WithVersion(v)}, extra...)
	if hc != nil {
		opts = append(opts, mx.WithHTTPClient(hc))
	}
	return mx.New(append(opts, mx.WithTimeout(c.MXTimeout))...)
}

// Keys parses MXFLEET_SECRET_KEYS.
func (c Config) Keys() (*seal.Keyring, error) { return seal.Parse(c.SecretKeys) }

// OpenRedis opens the fleet's Redis: a cluster client when
// MXFLEET_REDIS_CLUSTER_ADDRS is set, else the client MXFLEET_REDIS_URL names.
func (c Config) OpenRedis() (redis.UniversalClient, error) {
	if strings.TrimSpace(c.RedisClusterAddrs) == "" {
		return Redis(c.RedisURL)
	}
	opt := asynq.RedisClusterClientOpt{}
	for _, a := range strings.Split(c.RedisClusterAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			opt.Addrs = append(opt.Addrs, a)
		}
	}
	if u, err := redis.ParseURL(c.RedisURL); err == nil {
		opt.Username, opt.Password, opt.TLSConfig = u.Username, u.Password, u.TLSConfig
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("%s_REDIS_CLUSTER_ADDRS: unsupported connection type", Prefix)
	}
	return rdb, nil
}

// Redis opens the Redis client named by a URL, as asynq.ParseRedisURI reads it.
func Redis(url string) (redis.UniversalClient, error) {
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		// The parse error quotes the URL, password included: say less.
		return nil, fmt.Errorf("%s_REDIS_URL is not a valid Redis URL (want redis://, rediss://, redis-socket:// or redis-sentinel://)", Prefix)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("%s_REDIS_URL: unsupported connection type", Prefix)
	}
	return rdb, nil
}
