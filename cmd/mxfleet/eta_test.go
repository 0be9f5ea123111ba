package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/store"
)

// `mxfleet status` says a job's ETA in one line, and nothing once it ended.
func TestStatusETALine(t *testing.T) {
	p50, p90 := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC), time.Date(2026, 12, 8, 1, 2, 40, 0, time.UTC)
	for _, tc := range []struct {
		eta  *store.ETA
		want string
	}{
		{nil, ""},
		{&store.ETA{Basis: store.ETALearned, P50: &p50, P90: &p90}, "eta        p50 2026-12-08T01:02:03Z, p90 2026-12-08T01:02:40Z (learned from the fleet's recent runs)\n"},
		{&store.ETA{Basis: store.ETANone}, "eta        no estimate yet\n"},
		{&store.ETA{Basis: store.ETALearned}, "eta        no estimate yet\n"}, // malformed: no times, no claim
		{&store.ETA{Basis: store.ETAOverdue}, "eta        none: running longer than nearly every recent run at this institution\n"},
		{store.EndUserETA(), "eta        none: waits on the end user\n"},
	} {
		var b bytes.Buffer
		printJob(&b, &store.View{ID: "j", State: store.StateRunning, ETA: tc.eta})
		var got string
		for _, l := range strings.SplitAfter(b.String(), "\n") {
			if strings.HasPrefix(l, "eta ") {
				got += l
			}
		}
		if got != tc.want {
			t.Errorf("eta %+v: %q, want %q", tc.eta, got, tc.want)
		}
	}
}
