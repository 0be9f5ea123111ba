// Package fleet assembles the worker from configuration: Redis, the MX
// client, the store, the handlers and the asynq server. cmd/mxfleet, the
// demo and the tests all build workers through it.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/callback"
	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Prefix is the environment prefix of every setting.
const Prefix = "MXFLEET"

// Config is the worker's configuration, read from MXFLEET_* variables.
type Config struct {
	RedisURL             string        `envconfig:"REDIS_URL" default:"redis://127.0.0.1:6379/0" desc:"Redis: redis://[user:pass@]host:port/db, rediss:// for TLS, redis-sentinel://[user:pass@]host:port[,host:port]/db?master=name[&sentinel_password=p] (user, password and db are the master's)"`
	RedisClusterAddrs    string        `envconfig:"REDIS_CLUSTER_ADDRS" desc:"Redis Cluster seed nodes host:port,...; when set, producers, workers and the store use cluster clients (user, password and TLS still come from REDIS_URL)"`
	RedisAllowEviction   bool          `envconfig:"REDIS_ALLOW_EVICTION" default:"false" desc:"accept a Redis whose maxmemory-policy is not noeviction (it may evict job records, parked answers and queued tasks when full); without it worker and api refuse to start on one, with it they warn at every start and the worker reports mxfleet_redis_eviction_risk 1"`
	MXBaseURL            string        `envconfig:"MX_BASE_URL" default:"https://int-api.mx.com" desc:"MX Platform API base URL (https://api.mx.com in production)"`
	MXAPIVersion         string        `envconfig:"MX_API_VERSION" default:"v20250224" desc:"MX Platform API version sent as Accept-Version on every call: v20250224 (current) or v20111101 (previous)"`
	MXClientID           string        `envconfig:"MX_CLIENT_ID" desc:"MX client id (required by the worker)"`
	MXAPIKey             string        `envconfig:"MX_API_KEY" desc:"MX API key (required by the worker; never logged)"`
	SecretKeys           string        `envconfig:"SECRET_KEYS" desc:"keys sealing credentials, MFA answers and results in Redis: id:base64(32 bytes)[,id:base64...]; the first seals, all open (mxfleet keygen prints one; never logged)"`
	MXTimeout            time.Duration `envconfig:"MX_TIMEOUT" default:"30s" desc:"timeout of one MX API call"`
	Concurrency          int           `envconfig:"CONCURRENCY" default:"50" desc:"tasks run at once by this worker (handlers never wait for MX jobs: a slot is held only during MX and Redis calls, plus at most 1 s of rate-limit wait)"`
	ChallengeTTL         time.Duration `envconfig:"CHALLENGE_TTL" default:"10m" desc:"how long a parked MFA challenge waits for an answer before the job fails challenge_expired"`
	JobDeadline          time.Duration `envconfig:"JOB_DEADLINE" default:"15m" desc:"a job not ended this long after it started fails timeout"`
	PollInitial          time.Duration `envconfig:"POLL_INITIAL" default:"3s" desc:"first status poll after MX starts a job (MX asks for at least 3s)"`
	PollMax              time.Duration `envconfig:"POLL_MAX" default:"1m" desc:"cap of the exponential poll backoff"`
	PollSchedule         string        `envconfig:"POLL_SCHEDULE" default:"auto" desc:"when to read a running job's status: learned (each institution's and job kind's learned MX times, shared through Redis; the backoff until 50 jobs are seen), backoff (the geometric backoff), or auto: learned when POLL_INITIAL is at least MX's 3s, else backoff"`
	MicrodepositPoll     time.Duration `envconfig:"MICRODEPOSIT_POLL" default:"1m" desc:"how often a micro-deposit job reads its micro-deposit while MX makes the deposits (MX refreshes it every minute; webhooks wake it sooner; at most 1h); a job waiting for the amounts reads it every 10 times this"`
	MicrodepositDeadline time.Duration `envconfig:"MICRODEPOSIT_DEADLINE" default:"336h" desc:"a micro-deposit job not ended this long after it started fails: timeout while MX deposits, microdeposit_expired while it waits for the amounts (MX deletes a waiting micro-deposit after 21 days)"`
	MicrodepositAttempts int           `envconfig:"MICRODEPOSIT_ATTEMPTS" default:"3" desc:"pairs of micro-deposit amounts a job sends MX before it fails microdeposit_prevented (MX allows 3)"`
	RetryBase            time.Duration `envconfig:"RETRY_BASE" default:"1s" desc:"first retry delay after a transient MX or Redis error; doubles per retry up to RETRY_MAX, jittered; MX's Retry-After wins when longer"`
	RetryMax             time.Duration `envconfig:"RETRY_MAX" default:"5m" desc:"cap of the retry delay"`
	RetryLaterDelay      time.Duration `envconfig:"RETRY_LATER_DELAY" default:"5m" desc:"wait before starting a job again after DEGRADED, FAILED or DISCONNECTED"`
	MaxAttempts          int           `envconfig:"MAX_ATTEMPTS" default:"3" desc:"MX jobs started per fleet job, restarts after retry-later statuses included"`
	JobRetention         time.Duration `envconfig:"JOB_RETENTION" default:"168h" desc:"how long a job record is kept after the job ends"`
	SchedulerInterval    time.Duration `envconfig:"SCHEDULER_INTERVAL" default:"1s" desc:"how often scheduled tasks (polls, retries, expiries) are moved to their queues; bounds how late a poll runs (asynq's default is 5s)"`
	TaskCheckInterval    time.Duration `envconfig:"TASK_CHECK_INTERVAL" default:"100ms" desc:"how often an idle worker looks for new tasks: a task enqueued into empty queues (an answer, a webhook-woken poll) waits 0.5 to 1.5 times this; each look is one Redis script per queue (asynq's default is 1s)"`
	SweepInterval        time.Duration `envconfig:"SWEEP_INTERVAL" default:"1m" desc:"how often one worker of the fleet looks for jobs whose next task was lost (a Redis failover) and drives them on again; 0: never"`
	ShutdownTimeout      time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"25s" desc:"on SIGTERM, how long running tasks may finish before they are handed back to the queue"`
	APIAddr              string        `envconfig:"API_ADDR" default:"127.0.0.1:8080" desc:"listen address of mxfleet api"`
	APITokens            string        `envconfig:"API_TOKENS" desc:"bearer tokens the API accepts, comma-separated (required by mxfleet api; never logged)"`
	CallbackAllow        string        `envconfig:"CALLBACK_ALLOW" desc:"hosts callbacks may go to: names (*.example.com), IPs, CIDRs; private and loopback addresses only when listed; empty: no callbacks"`
	CallbackSecret       string        `envconfig:"CALLBACK_SECRET" desc:"HMAC-SHA256 key signing callbacks (required with CALLBACK_ALLOW; never logged)"`
	WebhookSecret        string        `envconfig:"WEBHOOK_SECRET" desc:"shared secret MX webhooks must carry (?token= or X-Mxfleet-Webhook-Token); empty: webhooks off"`
	MetricsAddr          string        `envconfig:"METRICS_ADDR" default:"127.0.0.1:9090" desc:"worker's /metrics, /healthz and /readyz (empty: off)"`
	InstitutionCacheTTL  time.Duration `envconfig:"INSTITUTION_CACHE_TTL" default:"24h" desc:"how long institution searches and details (mxfleet institutions, GET /v1/institutions) stay cached in Redis for the whole fleet; MX recommends refreshing them daily"`
	MXRate               int           `envconfig:"MX_RATE" default:"0" desc:"fleet-wide MX calls per second, shared by every pod through Redis (0: no limit); a 429 from MX pauses MX calls fleet-wide for its Retry-After either way"`
	Queues               string        `envconfig:"QUEUES" default:"mx_answers:6,mx_polls:3,mx_callbacks:2,mx_jobs:1" desc:"queue weights: answers first (a person waits), then polls, callbacks, new jobs"`
	LogLevel             string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat            string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
}

// Handlers returns the state machine's settings.
func (c Config) Handlers() handlers.Config {
	h := handlers.DefaultConfig()
	h.PollInitial, h.PollMax = c.PollInitial, c.PollMax
	h.JobDeadline, h.ChallengeTTL = c.JobDeadline, c.ChallengeTTL
	h.RetryLaterDelay, h.MaxAttempts = c.RetryLaterDelay, c.MaxAttempts
	h.MicrodepositPoll, h.MicrodepositDeadline, h.MicrodepositAttempts = c.MicrodepositPoll, c.MicrodepositDeadline, c.MicrodepositAttempts
	// A running job's record changes at every poll, at most PollMax (+20%)
	// plus the scheduler's lateness apart: one quiet for twice that, and
	// never less than 2 minutes, is worth a look.
	h.SweepQuiet = max(2*c.PollMax, 2*time.Minute) + c.SchedulerInterval
	h.Webhooks = c.WebhookSecret != ""
	if allow, err := c.Callbacks(); err == nil && allow != nil {
		h.CallbackSecret, h.CallbackClient, h.CallbackAllow = []byte(c.CallbackSecret), allow.Client(10*time.Second), allow
	}
	return h
}

// Load reads the configuration from the MXFLEET_* environment and checks
// every value that is set (Check), and MXFLEET_REDIS_URL and
// MXFLEET_REDIS_CLUSTER_ADDRS. Every command reads its settings through
// it. Errors name the variable and say what to write; they quote a value
// only where it cannot be a secret (durations, numbers), and never a Redis
// password. Settings a command requires (MX credentials, secret keys, API
// tokens) are the command's to ask for: Validate does for the worker.
func Load() (Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return c, friendlyEnvError(err)
	}
	if err := checkRedisURL(c.RedisURL); err != nil {
		return c, err
	}
	if err := checkClusterAddrs(c.RedisClusterAddrs); err != nil {
		return c, err
	}
	return c, c.Check()
}

// friendlyEnvError says what envconfig could not read, without its
// internals (field names, Go types, strconv's wording).
func friendlyEnvError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("reading the %s_* settings: %w", Prefix, err)
	}
	val := pe.Value
	if len(val) > 40 {
		val = val[:40] + "…"
	}
	switch {
	case strings.TrimSpace(pe.Value) == "":
		return fmt.Errorf("%s is set but empty: unset it for its default (`mxfleet worker --help` lists them) or give it a value", pe.KeyName)
	case pe.TypeName == "Duration" || pe.TypeName == "time.Duration":
		return fmt.Errorf("%s=%q is not a duration; write it like 3s, 500ms, 1m", pe.KeyName, val)
	case strings.HasPrefix(pe.TypeName, "int") || strings.HasPrefix(pe.TypeName, "uint"):
		return fmt.Errorf("%s=%q is not a whole number; write it like 10", pe.KeyName, val)
	case pe.TypeName == "bool":
		return fmt.Errorf("%s=%q is not true or false", pe.KeyName, val)
	}
	return fmt.Errorf("%s=%q is not a valid value", pe.KeyName, val)
}

// Validate checks the settings a worker needs: the MX credentials and the
// secret keys must be there, and every value must pass Check.
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
	return c.Check()
}

// Check checks the value of every setting that is set, whoever needs it:
// secret keys (when given), the MX API version, callbacks, queue weights,
// numbers and durations. Durations must be positive, except
// MXFLEET_SWEEP_INTERVAL (0: no sweeps), MXFLEET_TASK_CHECK_INTERVAL (0:
// asynq's default) and MXFLEET_INSTITUTION_CACHE_TTL (0: a day). It does not check the Redis URL (Load does: a worker
// built in a program gets its Redis client given).
func (c Config) Check() error {
	if strings.TrimSpace(c.SecretKeys) != "" {
		if _, err := c.Keys(); err != nil {
			return err
		}
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
	if _, err := c.Learned(); err != nil {
		return err
	}
	for _, d := range []struct {
		name   string
		v      time.Duration
		zeroOK string // what 0 means, when it means something
	}{
		{"MX_TIMEOUT", c.MXTimeout, ""},
		{"CHALLENGE_TTL", c.ChallengeTTL, ""},
		{"JOB_DEADLINE", c.JobDeadline, ""},
		{"POLL_INITIAL", c.PollInitial, ""},
		{"POLL_MAX", c.PollMax, ""},
		{"RETRY_BASE", c.RetryBase, ""},
		{"RETRY_MAX", c.RetryMax, ""},
		{"RETRY_LATER_DELAY", c.RetryLaterDelay, ""},
		{"JOB_RETENTION", c.JobRetention, ""},
		{"SCHEDULER_INTERVAL", c.SchedulerInterval, ""},
		{"TASK_CHECK_INTERVAL", c.TaskCheckInterval, "asynq's default"},
		{"SWEEP_INTERVAL", c.SweepInterval, "no sweeps"},
		{"SHUTDOWN_TIMEOUT", c.ShutdownTimeout, ""},
		{"INSTITUTION_CACHE_TTL", c.InstitutionCacheTTL, "a day, as MX advises"},
		{"MICRODEPOSIT_POLL", c.MicrodepositPoll, "a minute"},
		{"MICRODEPOSIT_DEADLINE", c.MicrodepositDeadline, "14 days"},
	} {
		switch {
		case d.v < 0 && d.zeroOK != "":
			return fmt.Errorf("%s_%s=%s: must be 0 (%s) or positive", Prefix, d.name, d.v, d.zeroOK)
		case d.v <= 0 && d.zeroOK == "":
			return fmt.Errorf("%s_%s=%s: must be positive, like %s", Prefix, d.name, d.v, durationDefault(d.name))
		}
	}
	switch {
	case c.MXRate < 0:
		return fmt.Errorf("%s_MX_RATE must be 0 (no limit) or positive", Prefix)
	case c.Concurrency < 1:
		return fmt.Errorf("%s_CONCURRENCY must be at least 1", Prefix)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%s_MAX_ATTEMPTS must be at least 1", Prefix)
	case c.MicrodepositAttempts < 0:
		return fmt.Errorf("%s_MICRODEPOSIT_ATTEMPTS must be 0 (MX's 3) or positive", Prefix)
	case c.PollMax < c.PollInitial:
		return fmt.Errorf("%s_POLL_INITIAL (%s) must be at most %s_POLL_MAX (%s)", Prefix, c.PollInitial, Prefix, c.PollMax)
	case c.RetryMax < c.RetryBase:
		return fmt.Errorf("%s_RETRY_BASE (%s) must be at most %s_RETRY_MAX (%s)", Prefix, c.RetryBase, Prefix, c.RetryMax)
	}
	return nil
}

// durationDefault is the default of the setting named (without the
// prefix), for messages.
func durationDefault(name string) string {
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("envconfig") == name {
			return f.Tag.Get("default")
		}
	}
	return "1s"
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

// Institutions is the fleet's institution directory over mxc, cached in
// rdb for MXFLEET_INSTITUTION_CACHE_TTL.
func (c Config) Institutions(mxc *mx.Client, rdb redis.UniversalClient, log zerolog.Logger) *institutions.Directory {
	return institutions.New(mxc, store.New(rdb, seal.Ephemeral()), c.InstitutionCacheTTL, log)
}

// Keys parses MXFLEET_SECRET_KEYS.
func (c Config) Keys() (*seal.Keyring, error) { return seal.Parse(c.SecretKeys) }

// OpenRedis opens the fleet's Redis: a cluster client when
// MXFLEET_REDIS_CLUSTER_ADDRS is set, else the client MXFLEET_REDIS_URL names.
func (c Config) OpenRedis() (redis.UniversalClient, error) {
	if strings.TrimSpace(c.RedisClusterAddrs) == "" {
		return Redis(c.RedisURL)
	}
	opt := &redis.ClusterOptions{ClusterStateReloadInterval: ClusterReloadInterval}
	for _, a := range strings.Split(c.RedisClusterAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			opt.Addrs = append(opt.Addrs, a)
		}
	}
	if u, err := redis.ParseURL(c.RedisURL); err == nil {
		opt.Username, opt.Password, opt.TLSConfig = u.Username, u.Password, u.TLSConfig
	}
	cc := redis.NewClusterClient(opt)
	cc.AddHook(topologyHook{cc})
	return cc, nil
}

// ClusterReloadInterval bounds how stale a cluster client's slot map gets
// while its commands succeed (go-redis's default is 60 s).
const ClusterReloadInterval = 2 * time.Second

// topologyHook makes a cluster client re-read the slot map as soon as a
// node stops answering. go-redis reloads it on MOVED and ASK only, so after
// a failover (the master killed, its replica promoted) it kept dialling the
// dead master until its periodic reload, 35–50 s in the failover test. The
// reload is asynchronous and coalesced (one at a time, 200 ms apart), so a
// burst of failures costs one CLUSTER SLOTS per 200 ms; while the cluster
// has not yet promoted a replica the reloads keep returning the old map,
// and the first one after the promotion routes every command to the new
// master.
type topologyHook struct{ c *redis.ClusterClient }

func (h topologyHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h topologyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h topologyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

func (h topologyHook) check(ctx context.Context, err error) {
	if nodeTrouble(err) {
		h.c.ReloadState(ctx)
	}
}

// nodeTrouble tells a node that is gone, or a cluster changing its mind,
// from an answer: any failure that is not a Redis reply (refused or reset
// connections, timeouts, EOF), and the replies a cluster gives while it
// fails over.
func nodeTrouble(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range []string{"CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "LOADING", "READONLY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// Redis opens the Redis client named by a URL, as asynq.ParseRedisURI reads
// it. A URL it cannot use gets an error saying what is wrong with it (no
// scheme, a bad port, a bad db number, a Sentinel URL without the master's
// name), never quoting a password.
func Redis(url string) (redis.UniversalClient, error) {
	if err := checkRedisURL(url); err != nil {
		return nil, err
	}
	var opt asynq.RedisConnOpt
	var err error
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(url)), "redis-sentinel://") {
		// asynq.ParseRedisURI reads no db there and gives the URL's
		// password to the Sentinels only, never to the master.
		opt, err = sentinelOptions(url)
		if err != nil {
			return nil, err
		}
	} else if opt, err = asynq.ParseRedisURI(strings.TrimSpace(url)); err != nil {
		// The parse error quotes the URL, password included: say less.
		return nil, fmt.Errorf("%s is not a valid Redis URL (want redis://[user:password@]host:port/db, rediss://, redis-socket:///path or redis-sentinel://host:port?master=name)", redisVar)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported connection type", redisVar)
	}
	return rdb, nil
}

const redisVar = Prefix + "_REDIS_URL"

// sentinelOptions reads a Sentinel URL,
// redis-sentinel://[user:password@]host:port[,host:port...][/db]?master=NAME[&sentinel_username=U][&sentinel_password=P]:
// the user information and the db are the master's, as in every other
// Redis URL; the Sentinels' own credentials, when they have any, are the
// sentinel_* parameters. Any other parameter is refused, by name only.
func sentinelOptions(raw string) (asynq.RedisFailoverClientOpt, error) {
	var opt asynq.RedisFailoverClientOpt
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return opt, fmt.Errorf("%s is not a valid Sentinel URL (want redis-sentinel://[user:password@]host:26379[,host:26379][/db]?master=NAME)", redisVar)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "master", "sentinel_username", "sentinel_password":
		default:
			return opt, fmt.Errorf("%s: a Sentinel URL takes ?master=, sentinel_username= and sentinel_password=, not %s=", redisVar, truncate(k, 30))
		}
	}
	opt.MasterName = q.Get("master")
	opt.SentinelUsername, opt.SentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
	for _, a := range strings.Split(u.Host, ",") {
		opt.SentinelAddrs = append(opt.SentinelAddrs, strings.TrimSpace(a))
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if opt.DB, err = strconv.Atoi(db); err != nil || opt.DB < 0 {
			return opt, fmt.Errorf("%s: bad db number %q: the path is the master's database number, like redis-sentinel://host:26379/1?master=NAME", redisVar, truncate(db, 20))
		}
	}
	return opt, nil
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,20}$`)

// checkRedisURL says what is wrong with a Redis URL, or nil. It quotes only
// parts after the user information (host, port, db, query), never a
// password.
func checkRedisURL(raw string) error {
	s := strings.TrimSpace(raw)
	if s == "" {
		return fmt.Errorf("%s is empty: unset it for redis://127.0.0.1:6379/0, or write redis://host:port/db", redisVar)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		// "localhost:6379", "user:pass@host:6379/0"
		hint, user := s, ""
		if at := strings.LastIndex(hint, "@"); at >= 0 {
			hint, user = hint[at+1:], "USER:PASSWORD@"
		}
		if !strings.Contains(hint, "/") {
			hint += "/0"
		}
		return fmt.Errorf("%s has no scheme: write it like redis://%s%s (rediss:// for TLS; redis-sentinel:// and redis-socket:// also work)", redisVar, user, truncate(hint, 60))
	}
	// What follows the last '@' is free of the user information.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	authority, path, query := rest, "", ""
	if i := strings.IndexAny(authority, "?#"); i >= 0 {
		authority, query = authority[:i], authority[i+1:]
	}
	if i := strings.Index(authority, "/"); i >= 0 {
		authority, path = authority[:i], authority[i:]
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss":
		if err := checkHostPort(authority, redisVar, "6379"); err != nil {
			return err
		}
		if db := strings.Split(strings.Trim(path, "/"), "/")[0]; db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				return fmt.Errorf("%s: bad db number %q: the path is the database number, like redis://host:6379/0", redisVar, truncate(db, 20))
			}
		}
	case "redis-sentinel":
		if authority == "" {
			return fmt.Errorf("%s: a Sentinel URL names the Sentinels: redis-sentinel://host:26379[,host:26379]?master=name", redisVar)
		}
		for _, a := range strings.Split(authority, ",") {
			if err := checkHostPort(a, redisVar, "26379"); err != nil {
				return err
			}
		}
		q, err := url.ParseQuery(query)
		if err != nil || strings.TrimSpace(q.Get("master")) == "" {
			return fmt.Errorf("%s: a Sentinel URL needs the name of the master the Sentinels monitor: redis-sentinel://%s?master=NAME", redisVar, authority)
		}
		if _, err := sentinelOptions(raw); err != nil {
			return err
		}
	case "redis-socket":
		if path == "" {
			return fmt.Errorf("%s: a socket URL names the socket's path: redis-socket:///path/to/redis.sock[?db=0]", redisVar)
		}
		if q, err := url.ParseQuery(query); err == nil && q.Get("db") != "" {
			if n, err := strconv.Atoi(q.Get("db")); err != nil || n < 0 {
				return fmt.Errorf("%s: bad db number %q in ?db=: want a whole number like 0", redisVar, truncate(q.Get("db"), 20))
			}
		}
	default:
		if !schemeRE.MatchString(scheme) {
			return fmt.Errorf("%s does not start with a scheme: want redis://, rediss:// (TLS), redis-sentinel:// or redis-socket://", redisVar)
		}
		return fmt.Errorf("%s: scheme %s:// is not redis://, rediss:// (TLS), redis-sentinel:// or redis-socket://", redisVar, scheme)
	}
	return nil
}

// checkClusterAddrs checks MXFLEET_REDIS_CLUSTER_ADDRS: host:port,...
func checkClusterAddrs(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, a := range strings.Split(s, ",") {
		if err := checkHostPort(strings.TrimSpace(a), Prefix+"_REDIS_CLUSTER_ADDRS", "6379"); err != nil {
			return err
		}
	}
	return nil
}

// checkHostPort checks host:port, naming the setting.
func checkHostPort(hp, setting, port string) error {
	if hp == "" {
		return fmt.Errorf("%s names no host: write host:%s", setting, port)
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		if !strings.Contains(strings.TrimPrefix(strings.TrimSuffix(hp, "]"), "["), ":") || strings.HasSuffix(hp, "]") {
			return fmt.Errorf("%s: no port after host %s: write %s:%s", setting, quoteSafe(hp), strings.Trim(hp, "[]"), port)
		}
		return fmt.Errorf("%s: %s is not host:port", setting, quoteSafe(hp))
	}
	if host == "" {
		return fmt.Errorf("%s names no host before :%s", setting, quoteSafe(p))
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s: bad port %s: want a number 1-65535, like %s", setting, quoteSafe(p), port)
	}
	return nil
}

// quoteSafe quotes s, shortened.
func quoteSafe(s string) string { return strconv.Quote(truncate(s, 60)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
