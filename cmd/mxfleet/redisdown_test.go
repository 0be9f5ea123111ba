package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/seal"
)

// With no Redis at the configured address, every command says so once, in
// its own words, with the address (password masked) and what to check; no
// line of go-redis's own logging reaches the terminal. wait keeps waiting
// and gives up at --timeout with exit 1, as documented.
func TestCommandsSayRedisCannotBeReached(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port: connection refused
	key, err := seal.Generate("test")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(buildMxfleet(t), "mxfleet")
	env := append(os.Environ(), "MXFLEET_REDIS_URL=redis://:S3cretPass@"+addr+"/0", "MXFLEET_REDIS_CLUSTER_ADDRS=", "MXFLEET_SECRET_KEYS="+key, "MXFLEET_LOG_LEVEL=info")
	says := "cannot reach Redis at redis://:xxxxx@" + addr + "/0 (MXFLEET_REDIS_URL)"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"status", "nope"},
		{"verify", "--user-guid", "USR-1", "--member-guid", "MBR-1"},
		{"wait", "nope", "--timeout", "3s"},
		{"purge", "nope"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("mxfleet %q: %v, want exit 1", args, err)
		}
		got := stderr.String()
		if strings.Count(got, says) != 1 || !strings.Contains(got, "redis-server") || !strings.Contains(got, "connection refused") {
			t.Errorf("mxfleet %q: stderr %q, want %q once, with what to check", args, got, says)
		}
		for _, leak := range []string{"S3cretPass", "pool.go", "connection pool", "dial tcp"} {
			if strings.Contains(got, leak) {
				t.Errorf("mxfleet %q: stderr shows %q: %q", args, leak, got)
			}
		}
		if args[0] == "wait" && (!strings.HasPrefix(got, "mxfleet: waiting: "+says) || !strings.Contains(got, "timeout after 3s")) {
			t.Errorf("mxfleet wait: stderr %q, want the waiting line, then the timeout", got)
		}
		if stdout.Len() > 0 {
			t.Errorf("mxfleet %q: stdout %q", args, stdout.String())
		}
	}
}
