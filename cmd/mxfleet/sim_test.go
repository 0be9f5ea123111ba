package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

// mxfleet sim serves with every flag given, and refuses a duration that
// cannot be one, with exit 2.
func TestSimFlags(t *testing.T) {
	for _, bad := range []string{"--oauth-window", "--microdeposit-deposit", "--mfa-window", "--aggregation-time"} {
		if r := cli(t.Context(), "sim", bad, "0s"); r.code != 2 || !strings.Contains(r.err, bad+" must be positive") {
			t.Errorf("sim %s 0s: %+v", bad, r)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- cli(ctx, "sim", "--addr", addr, "--realistic-times", "--seed", "7", "--oauth-window", "1m",
			"--microdeposit-refresh", "1s", "--microdeposit-deposit", "2s", "--microdeposit-expiry", "1h")
	}()
	var code int
	testenv.Until(t, testenv.Context(t, 10*time.Second), "the simulator serving", func() error {
		res, err := http.Get(fmt.Sprintf("http://%s/_sim/scenarios", addr))
		if err != nil {
			return err
		}
		code = res.StatusCode
		res.Body.Close()
		return nil
	})
	cancel()
	if r := <-done; code != 200 || r.code != 0 {
		t.Fatalf("sim with every flag: scenarios %d, exit %+v", code, r)
	}
}
