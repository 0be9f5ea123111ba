package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mxfleet/mxfleet/internal/api"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const apiHelp = `Usage: mxfleet api

Serves the HTTP API on MXFLEET_API_ADDR: POST/GET/DELETE /v1/jobs,
POST /v1/jobs/{id}/answers, POST /v1/widget_urls, POST /v1/mx/webhooks,
GET /v1/openapi.json, GET /healthz. Needs MXFLEET_REDIS_URL,
MXFLEET_SECRET_KEYS and MXFLEET_API_TOKENS; MX credentials only for widget
URLs. "mxfleet worker --help" lists every variable.

`

func cmdAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("api", stderr, apiHelp)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
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
	var tokens []string
	for _, t := range strings.Split(cfg.APITokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	if len(tokens) == 0 {
		return fmt.Errorf("set %s_API_TOKENS (comma-separated bearer tokens the API accepts)", fleet.Prefix)
	}
	keys, err := cfg.Keys()
	if err != nil {
		return err
	}
	allow, err := cfg.Callbacks()
	if err != nil {
		return err
	}
	var mxc *mx.Client
	if cfg.MXClientID != "" && cfg.MXAPIKey != "" {
		if mxc, err = cfg.MXClient(nil); err != nil {
			return err
		}
	}
	rdb, err := cfg.OpenRedis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	if _, err := fleet.CheckEviction(ctx, rdb, cfg.RedisAllowEviction, log); err != nil {
		return err
	}
	c := tasks.NewClient(rdb, keys, store.WithRetention(cfg.JobRetention))
	c.SetEstimator(cfg.ETAs(rdb))
	defer c.Close()
	acfg := api.Config{Tokens: tokens, Callbacks: allow, WebhookSecret: cfg.WebhookSecret}
	if mxc != nil {
		acfg.Institutions = cfg.Institutions(mxc, rdb, log)
	}
	srv := &http.Server{Handler: api.New(c, mxc, acfg, log),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return err
	}
	log.Info().Str("addr", ln.Addr().String()).Bool("callbacks", allow != nil).Bool("webhooks", cfg.WebhookSecret != "").Msg("api listening")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
