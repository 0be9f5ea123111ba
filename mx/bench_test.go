package mx_test

import (
	"context"
	"testing"

	"github.com/mxfleet/mxfleet/mx"
)

// BenchmarkReadMemberStatus is one MX call (the poll's) through the client
// to the simulator over loopback HTTP with keep-alive.
func BenchmarkReadMemberStatus(b *testing.B) {
	c, _, _ := newSim(b, nil)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, mx.UserCreate{ID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ReadMemberStatus(ctx, u.GUID, "test_nexus_member"); err != nil {
			b.Fatal(err)
		}
	}
}
