package store_test

import (
	"context"
	"testing"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// BenchmarkUpdate is one update of a job record by id: GET, then the
// compare-and-set script (two round trips), against the test's
// redis-server on a unix socket.
func BenchmarkUpdate(b *testing.B) {
	r := testenv.NewRedis(b)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "b", State: store.StateRunning}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Update(ctx, "b", func(j *store.Job) error { j.Polls++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateFrom is one update from the record the handler holds
// (the last write's result): the compare-and-set script alone, one round
// trip.
func BenchmarkUpdateFrom(b *testing.B) {
	r := testenv.NewRedis(b)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	j, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "b", State: store.StateRunning}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if j, err = s.UpdateFrom(ctx, j, func(j *store.Job) error { j.Polls++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
