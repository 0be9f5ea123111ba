package handlers_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the tests 8 at a time unless -parallel says otherwise:
// each has its own Redis, simulator and worker, and they wait on MX's
// simulated latency and asynq's scheduler far more than on the CPU, so on
// a 2-core machine GOMAXPROCS (the default) would leave it mostly idle.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
