package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Context is a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Scenario is the simulator's scenario of that name.
func Scenario(t testing.TB, name string) mxsim.Scenario {
	for _, sc := range mxsim.Scenarios() {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %q", name)
	return mxsim.Scenario{}
}

// WaitState waits until job id is in state s, and fails the test when it
// ends elsewhere.
func WaitState(t testing.TB, ctx context.Context, c *tasks.Client, id string, s store.State) *store.View {
	t.Helper()
	j, err := c.Watch(ctx, id, func(j *store.View) bool { return j.State != s })
	if err != nil || j.State != s {
		t.Fatalf("job %s: want %s, got %+v (%v)", id, s, j, err)
	}
	return j
}
