package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/redact"
)

// quietRedisLog keeps go-redis's own log lines ("connection pool: failed
// to dial after 5 attempts", every second while Redis is away) off a
// command's terminal: they go to stderr at debug, shown only with
// MXFLEET_LOG_LEVEL=debug. The command says what is wrong in its own words
// (redisDown). The worker and the API log them as theirs (routeRedisLog).
func quietRedisLog(stderr io.Writer) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(os.Getenv(fleet.Prefix + "_LOG_LEVEL")))
	if err != nil || lvl == zerolog.NoLevel {
		lvl = zerolog.InfoLevel
	}
	l := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: true}).Level(lvl).With().Timestamp().Str("component", "redis").Logger()
	redis.SetLogger(redisLogger{l: l, lvl: zerolog.DebugLevel})
}

// redisDown is the error of a Redis call that got no answer: Redis could
// not be reached at the configured address. It wraps the call's error.
type redisDown struct {
	where, setting string // the address, redacted, and the setting naming it
	err            error
}

func (e redisDown) Error() string {
	cause := e.err.Error()
	var oe *net.OpError
	if errors.As(e.err, &oe) && oe.Err != nil {
		cause = oe.Err.Error() // "connect: connection refused", without the address said already
	}
	return fmt.Sprintf("cannot reach Redis at %s (%s): %s; check that redis-server runs there and that %s names it", e.where, e.setting, strings.TrimPrefix(cause, "redis: "), e.setting)
}

func (e redisDown) Unwrap() error { return e.err }

// redisWhere names the Redis a configuration points at, password never
// shown, and the setting that names it.
func redisWhere(cfg fleet.Config) (where, setting string) {
	if strings.TrimSpace(cfg.RedisClusterAddrs) != "" {
		return cfg.RedisClusterAddrs, fleet.Prefix + "_REDIS_CLUSTER_ADDRS"
	}
	return redact.URL(cfg.RedisURL), fleet.Prefix + "_REDIS_URL"
}

// downHook turns every error of a Redis call that got no answer (a refused
// or failed dial, a timeout, no Sentinel answering) into a redisDown, so
// that whatever command meets it says so in its words. Redis's replies
// (redis.Nil, errors Redis sent) and the caller's own cancellation pass as
// they are.
type downHook struct{ where, setting string }

func (h downHook) wrap(ctx context.Context, err error) error {
	var reply redis.Error
	var down redisDown
	if err == nil || errors.As(err, &reply) || errors.As(err, &down) || ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrClosed) {
		return err
	}
	return redisDown{h.where, h.setting, err}
}

func (h downHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h downHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := h.wrap(ctx, next(ctx, cmd))
		if err != nil && cmd.Err() != nil {
			cmd.SetErr(h.wrap(ctx, cmd.Err()))
		}
		return err
	}
}

func (h downHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := h.wrap(ctx, next(ctx, cmds))
		for _, c := range cmds {
			if c.Err() != nil {
				c.SetErr(h.wrap(ctx, c.Err()))
			}
		}
		return err
	}
}

// openRedis opens the configuration's Redis for a command: its calls that
// get no answer fail with redisDown.
func openRedis(cfg fleet.Config) (redis.UniversalClient, error) {
	rdb, err := cfg.OpenRedis()
	if err != nil {
		return nil, err
	}
	where, setting := redisWhere(cfg)
	rdb.AddHook(downHook{where, setting})
	return rdb, nil
}

// awaitRedis returns nil once read gets an answer from Redis (whatever it
// is: an error other than redisDown is Redis answering), or the redisDown
// of the last read when ctx ends. While Redis cannot be reached it says so
// on out: on a terminal as a live line, redrawn every second with the time
// waited and cleared once Redis answers; elsewhere once.
func awaitRedis(ctx context.Context, read func(context.Context) error, out io.Writer) error {
	tty, width := isTTY(out), termWidth(out)
	start, said := time.Now(), false
	var down redisDown
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		err := read(ctx)
		if ctx.Err() != nil && down.err != nil {
			err = down // the deadline cut the last read short
		}
		if !errors.As(err, &down) {
			if said && tty {
				fmt.Fprint(out, "\r\033[K")
			}
			return nil
		}
		switch {
		case tty:
			fmt.Fprint(out, "\r\033[K"+cut(fmt.Sprintf("waiting %s: %s", time.Since(start).Truncate(time.Second), down), max(width-1, 20)))
		case !said:
			fmt.Fprintf(out, "mxfleet: waiting: %s\n", down)
		}
		said = true
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(out)
			}
			return down
		case <-t.C:
		}
	}
}
