package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// result is what one mxfleet command did: its output and exit status.
type result struct {
	out, err string
	code     int
}

// cli runs one mxfleet command as main would, but in this process.
func cli(ctx context.Context, args ...string) result {
	var out, errb testenv.SyncBuffer
	code := report(run(ctx, args, &out, &errb), &errb)
	return result{out.String(), errb.String(), code}
}

// cliAsync starts a command; its stderr can be read while it runs.
func cliAsync(ctx context.Context, args ...string) (stderr *testenv.SyncBuffer, done <-chan result) {
	var out testenv.SyncBuffer
	stderr = &testenv.SyncBuffer{}
	ch := make(chan result, 1)
	go func() {
		code := report(run(ctx, args, &out, stderr), stderr)
		ch <- result{out.String(), stderr.String(), code}
	}()
	return stderr, ch
}

// cleanEnv leaves no MXFLEET_* setting of the caller's environment
// (MXFLEET_TEST_* stay), restored after the test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, fleet.Prefix+"_") && !strings.HasPrefix(k, fleet.Prefix+"_TEST_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// newFleet starts a fleet (MFA waits a minute) and points the commands at it.
func newFleet(t *testing.T) *testenv.Fleet {
	t.Helper()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	cleanEnv(t)
	t.Setenv("MXFLEET_REDIS_URL", f.Redis.URL)
	t.Setenv("MXFLEET_SECRET_KEYS", f.Config.SecretKeys)
	return f
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// park submits a job that parks on MFA and waits until it has.
func park(t *testing.T, ctx context.Context, f *testenv.Fleet, id string) {
	t.Helper()
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), id, "user-"+id)); err != nil {
		t.Fatal(err)
	}
	j, err := f.Client.Watch(ctx, id, func(j *store.View) bool { return j.State != store.StateChallenged })
	if err != nil || j.State != store.StateChallenged {
		t.Fatalf("job %s: %+v %v, want challenged", id, j, err)
	}
}

// succeed runs a job to success.
func succeed(t *testing.T, ctx context.Context, f *testenv.Fleet, id string) {
	t.Helper()
	j, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, id, "user-"+id, nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("job %s: %+v %v", id, j, err)
	}
}

func TestWaitTimeoutExitsOneNamingTheState(t *testing.T) {
	f := newFleet(t)
	ctx := ctxT(t, 2*time.Minute)
	park(t, ctx, f, "park-1")
	r := cli(ctx, "wait", "park-1", "--timeout", "2s")
	if r.code != 1 || r.err != "mxfleet: timeout after 2s: job park-1 is still challenged\n" || r.out != "" {
		t.Fatalf("wait --timeout 2s on a parked job: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
	// Deadlines on the watch's 100 ms beat: the read and the deadline
	// coincide, which returned the record and no error about half the time.
	for i := range 10 {
		if r := cli(ctx, "wait", "park-1", "--timeout", "300ms"); r.code != 1 || !strings.Contains(r.err, "timeout after 300ms: job park-1 is still challenged") {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, r.code, r.out, r.err)
		}
	}
}

func TestWaitNeverPanics(t *testing.T) {
	f := newFleet(t)
	ctx := ctxT(t, 2*time.Minute)
	succeed(t, ctx, f, "done-1")
	park(t, ctx, f, "park-3")
	for _, c := range []struct {
		args      []string
		code      int
		out, says string
	}{
		{[]string{"wait", "done-1", "--timeout", "1ms"}, 0, "done-1\tsucceeded\t\n", ""},
		{[]string{"wait", "park-3", "done-1", "--timeout", "1s"}, 1, "done-1\tsucceeded\t\n", "mxfleet: timeout after 1s: job park-3 is still challenged\n"},
		{[]string{"wait", "done-1", "park-3", "--timeout", "1ms"}, 1, "done-1\tsucceeded\t\n", "mxfleet: timeout after 1ms: job park-3 is still challenged\n"},
		{[]string{"wait", "park-3", "nosuchjob", "--timeout", "500ms"}, 1, "", "mxfleet: timeout after 500ms: job park-3 is still challenged; job nosuchjob does not exist\n"},
		{[]string{"wait", "nosuchjob", "--timeout", "1ms"}, 1, "", "job nosuchjob does not exist\n"},
		{[]string{"wait", "nosuchjob"}, 1, "", "mxfleet: job nosuchjob does not exist\n"},
		{[]string{"wait", "no such job"}, 2, "", "invalid job id"},
		{[]string{"wait", "done-1", "--timeout", "0s"}, 2, "", "--timeout 0s: want a positive duration"},
		{[]string{"wait", "done-1", "--timeout", "-1s"}, 2, "", "want a positive duration"},
		{[]string{"wait"}, 2, "", "want at least one JOB_ID"},
	} {
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("mxfleet %q panicked: %v", c.args, p)
				}
			}()
			r = cli(ctx, c.args...)
		}()
		if r.code != c.code || r.out != c.out || !strings.Contains(r.err, c.says) {
			t.Errorf("mxfleet %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", c.args, r.code, r.out, r.err, c.code, c.out, c.says)
		}
	}
}

func TestKeygenMakesANewIDEveryTime(t *testing.T) {
	var keys []string
	ids := map[string]bool{}
	for range 3 {
		r := cli(context.Background(), "keygen")
		if r.code != 0 {
			t.Fatalf("keygen: exit %d, %q", r.code, r.err)
		}
		k := strings.TrimSpace(r.out)
		id, _, _ := strings.Cut(k, ":")
		if !regexp.MustCompile(`^k\d{8}-[0-9a-f]{8}$`).MatchString(id) {
			t.Fatalf("key id %q: want k<date>-<random>", id)
		}
		if ids[id] {
			t.Fatalf("key id %q made twice", id)
		}
		ids[id] = true
		keys = append(keys, k)
	}
	// keys made on one day go in one MXFLEET_SECRET_KEYS, and each opens
	// only its own
	ring, err := seal.Parse(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := seal.Parse(keys[1])
	if _, err := ring.Open("c", first.Seal("c", "x")); err != nil {
		t.Fatal(err)
	}
	if r := cli(context.Background(), "keygen", "--id", "mine_1"); r.code != 0 || !strings.HasPrefix(r.out, "mine_1:") {
		t.Fatalf("keygen --id: %+v", r)
	}
	if r := cli(context.Background(), "keygen", "--id", "not ok"); r.code != 2 {
		t.Fatalf("keygen --id 'not ok': %+v", r)
	}
}

func TestPurgeSaysAJobDoesNotExist(t *testing.T) {
	f := newFleet(t)
	ctx := ctxT(t, time.Minute)
	if r := cli(ctx, "purge", "nosuchjob"); r.code != 1 || r.out != "" || r.err != "mxfleet: job nosuchjob does not exist\n" {
		t.Fatalf("purge nosuchjob: %+v", r)
	}
	succeed(t, ctx, f, "done-1")
	if r := cli(ctx, "purge", "done-1"); r.code != 0 || !regexp.MustCompile(`^done-1: record and \d+ tasks deleted\n$`).MatchString(r.out) {
		t.Fatalf("purge done-1: %+v", r)
	}
	if r := cli(ctx, "purge", "done-1", "nosuchjob"); r.code != 1 || r.err != "mxfleet: jobs done-1, nosuchjob do not exist\n" {
		t.Fatalf("purge twice: %+v", r)
	}
	// No record but a task left behind: it is found and deleted.
	task, err := tasks.NewPollTask("ghost", 1, time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	if r := cli(ctx, "purge", "ghost"); r.code != 0 || r.out != "ghost: no record; 1 leftover tasks deleted\n" {
		t.Fatalf("purge ghost: %+v", r)
	}
}

func TestStatusWithoutKeysShowsTheState(t *testing.T) {
	f := newFleet(t)
	ctx := ctxT(t, time.Minute)
	succeed(t, ctx, f, "done-1")
	park(t, ctx, f, "park-1")
	os.Unsetenv("MXFLEET_SECRET_KEYS") // newFleet's t.Setenv restores it
	r := cli(ctx, "status", "done-1")
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "results    not shown: the results need MXFLEET_SECRET_KEYS") || strings.Contains(r.out, "eta ") {
		t.Fatalf("status without keys: %+v", r)
	}
	r = cli(ctx, "status", "--json", "done-1")
	var v map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.out), &v) != nil || v["state"] != "succeeded" || v["id"] != "done-1" || !strings.Contains(r.err, "MXFLEET_SECRET_KEYS") {
		t.Fatalf("status --json without keys: %+v", r)
	}
	if r := cli(ctx, "status", "park-1"); r.code != 0 || !strings.Contains(r.out, "state      challenged\n") || !strings.Contains(r.out, "challenge  CRD-") || !strings.Contains(r.out, "eta        none: waits on the end user\n") {
		t.Fatalf("status of a parked job without keys: %+v", r)
	}
	if r := cli(ctx, "wait", "done-1"); r.code != 0 || r.out != "done-1\tsucceeded\t\n" {
		t.Fatalf("wait without keys: %+v", r)
	}
	if r := cli(ctx, "status", "nosuchjob"); r.code != 1 || r.err != "mxfleet: job nosuchjob does not exist\n" {
		t.Fatalf("status nosuchjob: %+v", r)
	}
	// Sealing needs the keys.
	if r := cli(ctx, "verify", "--user-id", "u", "--member-guid", "MBR-1"); r.code != 1 || !strings.Contains(r.err, "MXFLEET_SECRET_KEYS") {
		t.Fatalf("verify without keys: %+v", r)
	}
	// Keys that do not open the results say so.
	other, _ := seal.Generate("other")
	t.Setenv("MXFLEET_SECRET_KEYS", other)
	if r := cli(ctx, "status", "done-1"); r.code != 0 || !strings.Contains(r.out, "sealed with a key that is not in MXFLEET_SECRET_KEYS") {
		t.Fatalf("status with other keys: %+v", r)
	}
	// With the keys, the results.
	t.Setenv("MXFLEET_SECRET_KEYS", f.Config.SecretKeys)
	if r := cli(ctx, "status", "done-1"); r.code != 0 || !strings.Contains(r.out, "account    ") {
		t.Fatalf("status with keys: %+v", r)
	}
}

func TestSettingsErrorsSayWhatToWrite(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		says string
	}{
		{map[string]string{"MXFLEET_POLL_INITIAL": "3"}, `mxfleet: MXFLEET_POLL_INITIAL="3" is not a duration; write it like 3s, 500ms, 1m` + "\n"},
		{map[string]string{"MXFLEET_MX_TIMEOUT": "-1s"}, "mxfleet: MXFLEET_MX_TIMEOUT=-1s: must be positive, like 30s\n"},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://:S3cretPass@127.0.0.1:notaport/0"}, `bad port "notaport"`},
		{map[string]string{"MXFLEET_REDIS_URL": "redis://:S3cretPass@127.0.0.1:6379/abc"}, `bad db number "abc"`},
		{map[string]string{"MXFLEET_REDIS_URL": "localhost:6379"}, "has no scheme: write it like redis://localhost:6379/0"},
		{map[string]string{"MXFLEET_REDIS_URL": "redis-sentinel://:S3cretPass@host:26379"}, "?master=NAME"},
	} {
		cleanEnv(t)
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		for _, cmd := range [][]string{{"status", "j1"}, {"wait", "j1"}, {"purge", "j1"}} {
			r := cli(context.Background(), cmd...)
			if r.code != 1 || !strings.Contains(r.err, c.says) || strings.Contains(r.err, "S3cretPass") || strings.Contains(r.err, "envconfig") {
				t.Errorf("%v mxfleet %v: exit %d, stderr %q; want it to say %q", c.env, cmd, r.code, r.err, c.says)
			}
		}
	}
}

// --wait, not on a terminal: one line per change, the challenge in full,
// and the command that answers it, exactly.
func TestSubmitWaitShowsTheChallengeAndTheCommand(t *testing.T) {
	newFleet(t)
	ctx := ctxT(t, time.Minute)
	stderr, done := cliAsync(ctx, "verify", "--job-id", "w-1", "--user-id", "u-w1", "--institution", "mxbank",
		"--credential", "Username=mxuser", "--credential", "Password=challenge", "--wait")
	cmdRE := regexp.MustCompile(`(?m)^answer with: mxfleet answer w-1 --challenge (CRD-[A-Za-z0-9-]+)=VALUE$`)
	var m []string
	for m == nil {
		select {
		case r := <-done:
			t.Fatalf("verify --wait ended before the challenge: %+v", r)
		case <-time.After(20 * time.Millisecond):
		}
		m = cmdRE.FindStringSubmatch(stderr.String())
	}
	if !regexp.MustCompile(`(?m)^  challenge ` + m[1] + `  TEXT  "[^"]+"$`).MatchString(stderr.String()) {
		t.Fatalf("the challenge's guid and question are not shown:\n%s", stderr)
	}
	if r := cli(ctx, "answer", "w-1", "--challenge", m[1]+"=correct"); r.code != 0 {
		t.Fatalf("the command shown: %+v", r)
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") {
		t.Fatalf("verify --wait: %+v", r)
	}
	if strings.ContainsAny(r.err, "\r\033") {
		t.Fatalf("not a terminal, yet escapes: %q", r.err)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.err), "\n") {
		if !strings.HasPrefix(l, "w-1  ") && !strings.HasPrefix(l, "job w-1 waits") && !strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "answer with: ") {
			t.Errorf("unexpected line %q", l)
		}
	}
}

// Ctrl-C while following: the job carries on, and the exit status is 130.
func TestSubmitWaitInterruptedSaysTheJobCarriesOn(t *testing.T) {
	f := newFleet(t)
	ctx, cancel := context.WithCancel(ctxT(t, time.Minute))
	stderr, done := cliAsync(ctx, "verify", "--job-id", "w-2", "--user-id", "u-w2", "--institution", "mxbank",
		"--credential", "username=mxuser", "--credential", "password=challenge", "--wait")
	for !strings.Contains(stderr.String(), "waits for MFA answers") {
		select {
		case r := <-done:
			t.Fatalf("ended before the challenge: %+v", r)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel() // Ctrl-C
	r := <-done
	if r.code != 130 || !strings.HasSuffix(r.err, "mxfleet: stopped waiting; job w-2 carries on (mxfleet status w-2)\n") {
		t.Fatalf("interrupted: exit %d, stderr %q", r.code, r.err)
	}
	if j, err := f.Client.Status(ctxT(t, 10*time.Second), "w-2"); err != nil || j.State != store.StateChallenged {
		t.Fatalf("the job after the interrupt: %+v %v", j, err)
	}
	park(t, ctxT(t, 30*time.Second), f, "park-9")
	ctx, cancel = context.WithCancel(ctxT(t, time.Minute))
	time.AfterFunc(300*time.Millisecond, cancel)
	if r := cli(ctx, "wait", "park-9"); r.code != 130 || r.err != "mxfleet: stopped waiting; job park-9 carries on (mxfleet status park-9)\n" {
		t.Fatalf("wait interrupted: %+v", r)
	}
}

// --wait on a terminal: one line redrawn in place, never wider than the
// terminal, its elapsed time moving while the job is parked.
func TestSubmitWaitOnATerminal(t *testing.T) {
	newFleet(t)
	tty, termOut := openPTY(t, 60) // the width comes from the terminal
	ctx := ctxT(t, time.Minute)
	const id = "a-rather-long-job-id-to-make-the-line-longer-than-sixty"
	var out testenv.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- report(run(ctx, []string{"verify", "--job-id", id, "--user-id", "u-t", "--institution", "mxbank",
			"--credential", "username=mxuser", "--credential", "password=challenge", "--wait"}, &out, tty), tty)
	}()
	cmdRE := regexp.MustCompile(`answer with: mxfleet answer ` + id + ` --challenge (CRD-[A-Za-z0-9-]+)=VALUE\r?\n`)
	var m []string
	for m == nil {
		select {
		case code := <-done:
			t.Fatalf("ended (exit %d) before the challenge: %q", code, termOut())
		case <-time.After(20 * time.Millisecond):
		}
		m = cmdRE.FindStringSubmatch(termOut())
	}
	// Every redraw clears the line first; while parked the line shows the
	// elapsed time moving.
	parkedLines := func(got string) (parked map[string]bool, lives []string) {
		parked = map[string]bool{}
		for _, seg := range strings.Split(got, "\r\033[K")[1:] {
			if strings.Contains(seg, " waits for MFA answers (round 1):") {
				continue // the challenge, printed in full above the line once
			}
			live, _, _ := strings.Cut(strings.ReplaceAll(seg, "\r\n", "\n"), "\n")
			lives = append(lives, live)
			if strings.Contains(live, "  challenged  ") {
				parked[live] = true
			}
		}
		return parked, lives
	}
	testenv.Until(t, ctx, "the parked line drawn 3 different ways", func() error { // parked: the clock must move anyway
		if parked, _ := parkedLines(termOut()); len(parked) < 3 {
			return fmt.Errorf("%d ways: %q", len(parked), termOut())
		}
		return nil
	})
	if r := cli(ctx, "answer", id, "--challenge", m[1]+"=correct"); r.code != 0 {
		t.Fatalf("answer: %+v", r)
	}
	if code := <-done; code != 0 || !strings.Contains(out.String(), "state      succeeded\n") {
		t.Fatalf("verify --wait: exit %d, stdout %q, terminal %q", code, out.String(), termOut())
	}
	// The terminal's last bytes reach the reader a moment later (longer on
	// a loaded machine): wait for the line's end, within a bound.
	testenv.Poll(testenv.Context(t, 10*time.Second), testenv.Tick, func() bool { return strings.HasSuffix(termOut(), "\n") }) // asserted below
	got := termOut()
	// Every redraw fits in 59 columns.
	parked, lives := parkedLines(got)
	for _, live := range lives {
		if n := len([]rune(live)); n > 59 {
			t.Errorf("live line of %d columns at 60: %q", n, live)
		}
	}
	if len(parked) < 3 {
		t.Errorf("while parked the line was drawn %d different ways, want the elapsed time moving: %q", len(parked), got)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("the live line is not ended: %q", got)
	}
}

// The width is $COLUMNS when set, else the terminal's, else 80.
func TestTermWidth(t *testing.T) {
	cleanEnv(t)
	for cols, want := range map[string]int{"": 80, "132": 132, "abc": 80, "0": 80, "-5": 80} {
		t.Setenv("COLUMNS", cols)
		if got := termWidth(&testenv.SyncBuffer{}); got != want {
			t.Errorf("COLUMNS=%q: width %d, want %d", cols, got, want)
		}
	}
}
