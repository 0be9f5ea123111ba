package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/redact"
)

const workerHelp = `Usage: mxfleet worker

Runs the asynq server with every handler of the fleet. It is configured from
the environment only; SIGTERM or SIGINT stops taking work, lets running tasks
finish for MXFLEET_SHUTDOWN_TIMEOUT and hands back what is still running.

`

func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("worker", stderr, workerHelp)
	fs.Usage = func() { fmt.Fprint(stdout, workerHelp); printEnv(stdout) }
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := fleet.Load()
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, redactor(stderr, cfg))
	if err != nil {
		return err
	}
	routeRedisLog(log)
	// The probes and metrics address is taken before anything runs: a
	// worker without probes is worse than one that does not start.
	var ln net.Listener
	if cfg.MetricsAddr != "" {
		if ln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("%s_METRICS_ADDR=%s: cannot serve /metrics, /healthz and /readyz there: %w (free the address, choose another, or set it empty to run without metrics and probes)",
				fleet.Prefix, cfg.MetricsAddr, err)
		}
		defer ln.Close()
	}
	rdb, err := cfg.OpenRedis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	w, err := fleet.NewWorker(rdb, cfg, nil, log)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	if ln != nil {
		ms := &http.Server{Handler: w.Metrics.Handler(w.Ready), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := ms.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("addr", cfg.MetricsAddr).Msg("metrics server")
			}
		}()
		defer ms.Close()
	}
	log.Info().Str("mx", cfg.MXBaseURL).Int("concurrency", cfg.Concurrency).Int("mx_rate", cfg.MXRate).
		Str("metrics", cfg.MetricsAddr).Msg("worker started")
	<-ctx.Done()
	log.Info().Dur("shutdown_timeout", cfg.ShutdownTimeout).Msg("stopping: no new work; running tasks finish or go back to the queue")
	w.Shutdown()
	log.Info().Msg("worker stopped")
	return nil
}

// routeRedisLog sends go-redis's own log lines (a connection pool that
// cannot dial, …), which it otherwise writes to stderr as raw "redis: …"
// text, to log at warn with component "redis". It sets go-redis's
// process-wide logger: a command calls it once it has its logger.
func routeRedisLog(log zerolog.Logger) {
	redis.SetLogger(redisLogger{l: log.With().Str("component", "redis").Logger(), lvl: zerolog.WarnLevel})
}

// redisLogger is go-redis's logging interface over zerolog, at lvl.
type redisLogger struct {
	l   zerolog.Logger
	lvl zerolog.Level
}

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.WithLevel(r.lvl).Msg(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}

// redactor masks the configuration's secrets in everything logged.
func redactor(w io.Writer, cfg fleet.Config) io.Writer {
	secrets := []string{cfg.MXAPIKey, cfg.CallbackSecret, cfg.WebhookSecret}
	for _, t := range strings.Split(cfg.APITokens, ",") {
		secrets = append(secrets, strings.TrimSpace(t))
	}
	secrets = append(secrets, redact.KeyMaterial(cfg.SecretKeys)...)
	return redact.NewWriter(w, append(secrets, redact.URLPassword(cfg.RedisURL)...)...)
}

// printEnv lists every setting with its default and meaning.
func printEnv(w io.Writer) {
	fmt.Fprintln(w, "Environment:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	var cfg fleet.Config
	_ = envconfig.Usagef(fleet.Prefix, &cfg, tw, "{{range .}}  {{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	tw.Flush()
}

// newLogger builds the zerolog logger: json or console, at a level.
func newLogger(level, format string, out io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("%s_LOG_LEVEL %q: want debug, info, warn or error", fleet.Prefix, level)
	}
	switch format {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly, NoColor: !isTerminal(out)}
	default:
		return zerolog.Logger{}, fmt.Errorf("%s_LOG_FORMAT %q: want json or console", fleet.Prefix, format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
