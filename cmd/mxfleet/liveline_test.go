package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mxfleet/mxfleet/store"
)

// clock is a fake time.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLiveLine(t *testing.T) {
	running := &store.View{ID: "job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21", Kind: store.KindVerify, State: store.StateRunning, ConnectionStatus: "SYNCING", Polls: 2}
	parked := func(round, polls int) *store.View {
		j := *running
		j.State, j.ConnectionStatus, j.Round, j.Polls = store.StateChallenged, "CHALLENGED", round, polls
		j.Challenges = []store.Challenge{
			{GUID: "CRD-1", Type: "TEXT", Label: "What city were you born in?"},
			{GUID: "CRD-2", Type: "OPTIONS", Label: "Send the code to\x1b[2J", Options: []store.ChallengeOption{{Label: "Phone", Value: "opt-phone"}}},
		}
		return &j
	}
	const cmd = "answer with: mxfleet answer job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21 --challenge CRD-1=VALUE --challenge CRD-2=VALUE\n"

	t.Run("terminal", func(t *testing.T) {
		var out bytes.Buffer
		c := &clock{time.Unix(1000, 0)}
		l := newLiveLine(&out, true, 40, c.now)
		step := func(f func()) string { out.Reset(); f(); return out.String() }
		live := func(s string) string { // the line drawn last
			i := strings.LastIndex(s, "\r\033[K")
			if i < 0 {
				t.Fatalf("nothing drawn: %q", s)
			}
			return s[i+len("\r\033[K"):]
		}
		got := step(func() { l.update(running) })
		if !strings.HasPrefix(got, "\r\033[K") || strings.Contains(got, "\n") {
			t.Fatalf("a change is not drawn in place: %q", got)
		}
		if n := utf8.RuneCountInString(live(got)); n > 39 {
			t.Fatalf("line of %d columns at 40: %q", n, got)
		}
		if !strings.Contains(got, "  running  0s  ") {
			t.Fatalf("the state and the time give way last: %q", got)
		}
		c.t = c.t.Add(3 * time.Second)
		if got := step(l.tick); !strings.Contains(got, "  running  3s  ") {
			t.Fatalf("a tick does not move the time: %q", got)
		}
		got = step(func() { l.update(parked(1, 3)) })
		if !strings.HasPrefix(got, "\r\033[Kjob job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21 waits for MFA answers (round 1):\n") ||
			!strings.Contains(got, "\n  challenge CRD-1  TEXT  \"What city were you born in?\"\n") ||
			!strings.Contains(got, "\n      option \"Phone\"  value \"opt-phone\"\n") ||
			!strings.Contains(got, "\n"+cmd) {
			t.Fatalf("the challenge is not printed in full above the line:\n%s", got)
		}
		if strings.Contains(got, "\x1b[2J") {
			t.Fatalf("an institution's label reached the terminal raw: %q", got)
		}
		if l := live(got); utf8.RuneCountInString(l) > 39 || !strings.Contains(l, "  challenged  3s  ") {
			t.Fatalf("live line after the challenge: %q", l)
		}
		c.t = c.t.Add(time.Second)
		if got := step(func() { l.update(parked(1, 4)) }); strings.Contains(got, "waits for MFA") {
			t.Fatalf("the same round printed twice: %q", got)
		}
		if got := step(func() { l.update(parked(2, 5)) }); !strings.Contains(got, "(round 2):\n") {
			t.Fatalf("round 2 not printed: %q", got)
		}
		if got := step(l.finish); got != "\n" {
			t.Fatalf("finish: %q", got)
		}
	})

	t.Run("not a terminal", func(t *testing.T) {
		var out bytes.Buffer
		c := &clock{time.Unix(1000, 0)}
		l := newLiveLine(&out, false, 40, c.now)
		l.update(running)
		c.t = c.t.Add(5 * time.Second)
		l.tick()
		l.update(parked(1, 3))
		l.finish()
		want := "job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21  running  0s  mx SYNCING  polls 2  verify\n" +
			"job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21  challenged  5s  mx CHALLENGED  polls 3  verify  awaiting MFA answers\n" +
			"job job_4f1c7b0e-9a51-4c1e-8d55-3b0f2f6a9e21 waits for MFA answers (round 1):\n"
		if got := out.String(); !strings.HasPrefix(got, want) || !strings.Contains(got, cmd) || strings.ContainsAny(got, "\r\x1b") {
			t.Fatalf("got\n%s\nwant one whole line per change, starting\n%s", got, want)
		}
	})
}

func TestShellWordAndCut(t *testing.T) {
	for in, want := range map[string]string{
		"CRD-1=VALUE":     "CRD-1=VALUE",
		"job_1.a":         "job_1.a",
		"CRD 1=VALUE":     "'CRD 1=VALUE'",
		"it's=VALUE":      `'it'\''s=VALUE'`,
		"$(rm -rf)=VALUE": "'$(rm -rf)=VALUE'",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{{"abcdef", 6, "abcdef"}, {"abcdefg", 6, "abcde…"}, {"ééééééé", 3, "éé…"}} {
		if got := cut(c.s, c.n); got != c.want {
			t.Errorf("cut(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if canAskWinsize && isTTY(f) {
		t.Fatalf("%s taken for a terminal: --wait would draw escapes into it", os.DevNull)
	}
}
