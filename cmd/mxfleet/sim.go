package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
)

const simHelp = `Usage: mxfleet sim [flags]

Serves the MX simulator: MX's Platform API in versions v20250224 and
v20111101, chosen per call by Accept-Version (a call without it is refused
406, as MX does), for the test institution mxbank (scenarios chosen by
credentials; GET /_sim/scenarios lists them, with their sources), OAuth at
mx_bank_oauth (the window page approves or denies), micro-deposits, call
counters at GET /_sim/stats and faults at POST /_sim/faults.

`

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("sim", stderr, simHelp)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	agg := fs.Duration("aggregation-time", 2*time.Second, "how long each MX job takes")
	mfa := fs.Duration("mfa-window", mxsim.DefaultMFAWindow, "a challenge unanswered this long becomes EXPIRED (MX documents no window: the simulator's own default)")
	id := fs.String("client-id", mxsim.DefaultClientID, "client id the simulator accepts")
	key := fs.String("api-key", mxsim.DefaultAPIKey, "API key the simulator accepts")
	var f mxsim.Faults
	fs.DurationVar(&f.Latency, "latency", 0, "fixed latency added to every API call")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency, up to this")
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "fraction of API calls answered 5xx")
	fs.Float64Var(&f.RateLimitRate, "rate-limit-rate", 0, "fraction of API calls answered 429")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429")
	fs.Float64Var(&f.DropRate, "drop-rate", 0, "fraction of connections dropped without an answer")
	fs.Float64Var(&f.ForbiddenRate, "forbidden-rate", 0, "fraction of API calls answered 403, as MX answers an IP address not on the client's allowlist (1: every call)")
	realistic := fs.Bool("realistic-times", false, "draw each job's aggregation time from a log-normal per institution (mxbank 8 s, filler banks 3-90 s; the simulator's own figures) instead of --aggregation-time")
	seed := fs.Uint64("seed", 1, "seed of --realistic-times (the same seed, the same times)")
	oauth := fs.Duration("oauth-window", mxsim.DefaultOAuthWindow, "an oauth_window_uri unused this long expires and its member turns EXPIRED (the simulator's own default)")
	md := mxsim.DefaultMicrodepositTiming
	fs.DurationVar(&md.Refresh, "microdeposit-refresh", md.Refresh, "micro-deposit INITIATED → REQUESTED (MX refreshes every minute)")
	fs.DurationVar(&md.Deposit, "microdeposit-deposit", md.Deposit, "micro-deposit REQUESTED → DEPOSITED (MX's test environment: two minutes)")
	fs.DurationVar(&md.Expiry, "microdeposit-expiry", md.Expiry, "a micro-deposit not verified this long is soft-deleted (MX: 21 days)")
	hook := fs.String("webhook-url", "", "POST MX-style member webhooks here (e.g. http://127.0.0.1:8080/v1/mx/webhooks?token=SECRET)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"aggregation-time", *agg}, {"mfa-window", *mfa}, {"oauth-window", *oauth}, {"microdeposit-refresh", md.Refresh},
		{"microdeposit-deposit", md.Deposit}, {"microdeposit-expiry", md.Expiry}} {
		if d.v <= 0 {
			return exitError{2, fmt.Errorf("--%s must be positive", d.name)}
		}
	}
	opts := []mxsim.Option{mxsim.WithAuth(*id, *key), mxsim.WithAggregationTime(*agg), mxsim.WithMFAWindow(*mfa), mxsim.WithFaults(f),
		mxsim.WithOAuthWindow(*oauth), mxsim.WithMicrodepositTiming(md)}
	if *realistic {
		opts = append(opts, mxsim.WithAggregationDistribution(mxsim.SimulatedTimes(), *seed))
	}
	if *hook != "" {
		opts = append(opts, mxsim.WithWebhook(*hook))
	}
	sim := mxsim.New(opts...)
	defer sim.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "MX simulator on http://%s (client id %q; scenarios: http://%s/_sim/scenarios)\n", ln.Addr(), *id, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
