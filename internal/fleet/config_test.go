package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/testenv"
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
