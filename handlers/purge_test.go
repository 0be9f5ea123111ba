package handlers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func TestPurgeDeletesEverythingOfAJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "purge-me", "user-purge")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitState(t, ctx, f.Client, "purge-me", store.StateChallenged)
	// Another job's tasks must survive.
	if _, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "keep-me", "user-keep", nil); err != nil {
		t.Fatal(err)
	}
	n, err := f.Client.Purge(ctx, "purge-me")
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 { // at least the scheduled expiry (finished follow-ups are not retained)
		t.Fatalf("purge deleted %d tasks", n)
	}
	if _, err := f.Client.Status(ctx, "purge-me"); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("record after purge: %v", err)
	}
	if n, _ := f.Redis.Client.HLen(ctx, "mxfleet:{store}:parked").Result(); n != 0 {
		t.Fatalf("%d parked entries left", n)
	}
	if n, _ := f.Redis.Client.ZCard(ctx, liveKey).Result(); n != 0 {
		t.Fatalf("%d live entries left", n)
	}
	for _, ti := range jobTasks(f, "purge-me", pendingTasks, scheduledTasks, retryTasks, archivedTasks, completedTasks) {
		t.Errorf("task %s (%s) survived the purge", ti.ID, ti.State)
	}
	if j, err := f.Client.Status(ctx, "keep-me"); err != nil || j.State != store.StateSucceeded || j.Result == nil {
		t.Fatalf("other job after purge: %+v %v", j, err)
	}
	if _, err := f.Client.Purge(ctx, "purge-me"); err != nil {
		t.Fatalf("purging twice: %v", err)
	}
}
