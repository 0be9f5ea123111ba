package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

// RequireAsynqmonEnv, when set to 1, makes a missing asynqmon fatal (CI
// installs it); elsewhere its README line is skipped, saying so.
const RequireAsynqmonEnv = "MXFLEET_TEST_REQUIRE_ASYNQMON"

// The README's local fleet, run as written: the ```sh block of "Running
// it" that starts with `redis-server --port 6379 &`, line by line in one
// bash as a user would type it, with a freshly built mxfleet first on PATH.
// The MFA challenge of its `verify --wait` is answered the way the README
// says (the `mxfleet answer` command verify prints, in a second terminal,
// with the answer the Scenarios table gives: `correct`); then asynqmon's
// page, the CLI section's status, status --json, wait, identify and purge
// on that fleet, and the doctor-against-the-simulator command of the
// paragraph after the doctor block, in a fresh terminal.
func TestREADMELocalFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds mxfleet and runs the README's local fleet")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(testenv.RequireEnv) == "1" {
			t.Fatalf("redis-server not found and %s=1", testenv.RequireEnv)
		}
		t.Skipf("redis-server not found: the README's local fleet runs a real one (apt-get install redis-server)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash not found: the README's commands are shell lines")
	}
	_, err := exec.LookPath("asynqmon")
	asynqmon := err == nil
	if !asynqmon {
		if os.Getenv(RequireAsynqmonEnv) == "1" {
			t.Fatalf("asynqmon not found and %s=1 (go install github.com/hibiken/asynqmon/cmd/asynqmon@latest)", RequireAsynqmonEnv)
		}
		t.Logf("asynqmon not found: its README line will not be run (go install github.com/hibiken/asynqmon/cmd/asynqmon@latest, then have it on PATH)")
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	block := readmeLocalFleet(t, readme)
	doctorLine := readmeDoctorAgainstSim(t, readme)

	// The only rewriting: the block's fixed ports become ports just found
	// free, so that the test cannot meet a redis-server already on 6379
	// (Debian's package starts one), a developer's `make sim` on 8089, an
	// asynqmon on 8081 or another test package running at the same time.
	// Every other character of the lines runs as written.
	free := freePorts(t, 4)
	ports := map[string]string{"6379": free[0], "8089": free[1], "8081": free[2]}
	portRE := regexp.MustCompile(`\b(6379|8089|8081)\b`)
	rewrite := func(s string) string {
		return portRE.ReplaceAllStringFunc(s, func(p string) string { return ports[p] })
	}
	for i := range block {
		block[i] = rewrite(block[i])
	}
	doctorLine = rewrite(doctorLine)
	t.Logf("ports rewritten: redis 6379→%s, simulator 8089→%s, asynqmon 8081→%s", ports["6379"], ports["8089"], ports["8081"])

	bin := buildMxfleet(t)
	dir := t.TempDir() // the shells' working directory: whatever redis-server writes lands here
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		// The worker's metrics listener defaults to 127.0.0.1:9090, a
		// fourth fixed port the block does not name: it is moved through
		// the environment the block runs in, not by editing a line.
		"MXFLEET_METRICS_ADDR=127.0.0.1:" + free[3]}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || (strings.HasPrefix(k, fleet.Prefix+"_") && !strings.HasPrefix(k, fleet.Prefix+"_TEST_")) {
			continue // the caller's own MXFLEET_* settings stay out
		}
		env = append(env, kv)
	}
	ctx := ctxT(t, 3*time.Minute) // a bound against hangs, not a timing
	sh := startShell(t, dir, env, free)

	// The block, line by line. A user types the next line once what a
	// background line started is up; so does the test, waiting for the
	// port the line names to accept connections.
	verifyRE := regexp.MustCompile(`^mxfleet verify .*--credential Password=challenge --wait\b`)
	var asynqmonLine string
	for _, line := range block {
		switch {
		case strings.HasPrefix(line, "asynqmon "):
			asynqmonLine = line // after verify: it runs in the foreground and does not return
			continue
		case verifyRE.MatchString(line):
			verifyWithMFA(t, ctx, sh, line)
			continue
		}
		if rc := sh.run(t, ctx, line); rc != 0 {
			t.Fatalf("%q: exit %d (the shell's output follows)", line, rc)
		}
		if background := regexp.MustCompile(`&\s*(#.*)?$`); background.MatchString(line) {
			for _, p := range free[:3] {
				if strings.Contains(line, "127.0.0.1:"+p) || strings.Contains(line, "--port "+p) {
					waitPort(t, ctx, sh, p)
				}
			}
		}
	}
	jobID := sh.jobID
	if jobID == "" {
		t.Fatal("the block ran no verify --wait")
	}

	// asynqmon's line, when asynqmon is installed: its page answers, and it
	// shows the queues the README's comment names.
	if asynqmon {
		sh.start(asynqmonLine)
		base := "http://127.0.0.1:" + ports["8081"]
		if code, body := httpGet(t, ctx, sh, base+"/"); code != 200 || !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("asynqmon's page: HTTP %d %.200q", code, body)
		}
		_, body := httpGet(t, ctx, sh, base+"/api/queues")
		for _, q := range []string{"mx_jobs", "mx_polls", "mx_answers"} {
			if !strings.Contains(body, `"`+q+`"`) {
				t.Errorf("asynqmon does not show queue %s: %.500s", q, body)
			}
		}
	}

	// The CLI section on that fleet, from a second terminal with the same
	// exported settings.
	r := sh.other(t, ctx, "mxfleet status "+jobID)
	if r.code != 0 || !strings.Contains(r.out, "job        "+jobID+"\n") || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "account    ") {
		t.Fatalf("mxfleet status %s: %+v", jobID, r)
	}
	plain := r.out
	r = sh.other(t, ctx, "mxfleet status "+jobID+" --json")
	var view struct {
		ID, State string
		Result    struct {
			AccountNumbers []struct {
				AccountNumber string `json:"account_number"`
			} `json:"account_numbers"`
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &view) != nil || view.ID != jobID || view.State != "succeeded" || len(view.Result.AccountNumbers) == 0 {
		t.Fatalf("mxfleet status %s --json: %+v", jobID, r)
	}
	for _, n := range view.Result.AccountNumbers {
		if num := n.AccountNumber; len(num) < 4 || strings.Contains(plain, num) || !strings.Contains(plain, num[len(num)-4:]) {
			t.Errorf("the plain status does not mask account number %q to its last four digits:\n%s", num, plain)
		}
	}
	if r := sh.other(t, ctx, "mxfleet wait "+jobID+" --timeout 30m"); r.code != 0 || r.out != jobID+"\tsucceeded\t\n" {
		t.Fatalf("mxfleet wait: %+v", r)
	}
	// identify "…same flags…", on the scenario that needs no MFA.
	r = sh.other(t, ctx, "mxfleet identify --user-id alice --institution mxbank --credential Username=mxuser --credential Password=correct --wait")
	if r.code != 0 || !strings.Contains(r.out, "kind       identify\n") || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.out, "owner      ") {
		t.Fatalf("mxfleet identify --wait: %+v", r)
	}

	// doctor against the simulator: it needs no Redis and no secret keys,
	// so a fresh terminal with none of the block's exports.
	r = sh.fresh(t, ctx, doctorLine)
	if r.code != 0 || !strings.Contains(r.out, "verdict: OK") {
		t.Fatalf("%s: %+v", doctorLine, r)
	}

	if r := sh.other(t, ctx, "mxfleet purge "+jobID); r.code != 0 || !regexp.MustCompile(`^`+regexp.QuoteMeta(jobID)+`: record and \d+ tasks deleted\n$`).MatchString(r.out) {
		t.Fatalf("mxfleet purge: %+v", r)
	}
	if r := sh.other(t, ctx, "mxfleet status "+jobID); r.code != 1 || r.err != "mxfleet: job "+jobID+" does not exist\n" {
		t.Fatalf("mxfleet status after purge: %+v", r)
	}
}

// verifyWithMFA runs the block's `verify … --wait` line: it waits for the
// challenge, answers it with the command it prints (from a second
// terminal, as a user would), then checks that verify exits 0 showing the
// job succeeded.
func verifyWithMFA(t *testing.T, ctx context.Context, sh *shell, line string) {
	t.Helper()
	from := sh.start(line)
	// answer with: mxfleet answer JOB --challenge CRD-…=VALUE
	cmdRE := regexp.MustCompile(`(?m)^answer with: (mxfleet answer (\S+)(?: --challenge CRD-[A-Za-z0-9-]+=VALUE)+)$`)
	var m []string
	for m == nil {
		select {
		case rc := <-sh.rc:
			t.Fatalf("%q exited %d before showing a challenge", line, rc)
		case <-ctx.Done():
			t.Fatalf("%q showed no challenge", line)
		case <-time.After(50 * time.Millisecond):
		}
		m = cmdRE.FindStringSubmatch(sh.out.String()[from:])
	}
	sh.jobID = m[2]
	// The Scenarios table: password `challenge` is answered `correct`.
	answer := strings.ReplaceAll(m[1], "=VALUE", "=correct")
	if r := sh.other(t, ctx, answer); r.code != 0 || !strings.Contains(r.out, "sent for job "+sh.jobID) {
		t.Fatalf("%s: %+v", answer, r)
	}
	var rc int
	select {
	case rc = <-sh.rc:
	case <-ctx.Done():
		t.Fatalf("%q did not end after the answer", line)
	}
	out := sh.out.String()[from:]
	if rc != 0 || !strings.Contains(out, "job        "+sh.jobID+"\n") || !strings.Contains(out, "state      succeeded\n") || !strings.Contains(out, "account    ") {
		t.Fatalf("%q: exit %d, want 0 and the succeeded job:\n%s", line, rc, out)
	}
}

// readmeLocalFleet returns the logical lines (a line ending in `\` joined
// with the next, as written) of the README's local-fleet block, failing
// when the README no longer has it in the shape this test covers.
func readmeLocalFleet(t *testing.T, readme string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n## Running it\n")
	if !ok {
		t.Fatal("README.md has no \"## Running it\" section: this test runs its local-fleet block; update the test with the README")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	_, body, ok := strings.Cut(sec, "\n```sh\nredis-server --port 6379 &\n")
	if !ok {
		t.Fatal("README.md's \"Running it\" has no ```sh block starting `redis-server --port 6379 &`: this test runs it; update the test with the README")
	}
	body, _, ok = strings.Cut("redis-server --port 6379 &\n"+body, "```\n")
	if !ok {
		t.Fatal("README.md's local-fleet block is not closed")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if n := len(lines); n > 0 && strings.HasSuffix(lines[n-1], "\\") {
			lines[n-1] += "\n" + l
			continue
		}
		lines = append(lines, l)
	}
	// What the block must still do for this test to cover what it says.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^redis-server --port 6379 &$`),
		regexp.MustCompile(`^mxfleet sim --addr 127\.0\.0\.1:8089 &`),
		regexp.MustCompile(`^export MXFLEET_REDIS_URL=redis://127\.0\.0\.1:6379/0 MXFLEET_SECRET_KEYS=\$\(mxfleet keygen\)$`),
		regexp.MustCompile(`(?s)^MXFLEET_MX_BASE_URL=http://127\.0\.0\.1:8089 .*mxfleet worker &$`),
		regexp.MustCompile(`^mxfleet verify .*--credential Password=challenge --wait$`),
		regexp.MustCompile(`^asynqmon --redis-addr=127\.0\.0\.1:6379 --port=8081\b`),
	} {
		n := 0
		for _, l := range lines {
			if want.MatchString(l) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("README.md's local-fleet block has %d lines matching %s, want 1: update the test with the README\n%s", n, want, body)
		}
	}
	if len(lines) != 6 {
		t.Fatalf("README.md's local-fleet block has %d commands, this test knows 6: update the test with the README\n%s", len(lines), body)
	}
	return lines
}

// readmeDoctorAgainstSim returns the doctor-against-the-simulator command
// of the paragraph after the doctor block (its line break as a space).
func readmeDoctorAgainstSim(t *testing.T, readme string) string {
	t.Helper()
	m := regexp.MustCompile("Against the simulator: `(MXFLEET_MX_BASE_URL=http://127\\.0\\.0\\.1:8089\\s[^`]*mxfleet doctor [^`]*)`").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README.md no longer says \"Against the simulator: `MXFLEET_MX_BASE_URL=http://127.0.0.1:8089 … mxfleet doctor …`\": this test runs it; update the test with the README")
	}
	return strings.Join(strings.Fields(m[1]), " ")
}

// freePorts finds n distinct TCP ports free on 127.0.0.1 now.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are found: n distinct ports
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// buildMxfleet builds the binary into a directory of its own.
func buildMxfleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "mxfleet"), ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// shell is one bash that the test types lines into, as a user into a
// terminal: exports and background jobs carry over from line to line.
type shell struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *testenv.SyncBuffer // stdout and stderr of the shell and all it started
	rc      chan int            // exit status of each line, in order
	dir     string
	env     []string
	envFile string // the shell's exported variables after its last line
	jobID   string // the job of the block's verify
}

// startShell starts bash in its own process group; at cleanup the whole
// group (redis-server, the simulator, the worker, asynqmon) is killed, and
// the test fails if the redis-server still answers afterwards.
func startShell(t *testing.T, dir string, env, ports []string) *shell {
	t.Helper()
	rcR, rcW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sh := &shell{out: &testenv.SyncBuffer{}, rc: make(chan int, 16), dir: dir, env: env, envFile: filepath.Join(dir, ".shell-env")}
	sh.cmd = exec.Command("bash", "--noprofile", "--norc")
	sh.cmd.Dir, sh.cmd.Env = dir, env
	sh.cmd.Stdout, sh.cmd.Stderr = sh.out, sh.out
	sh.cmd.ExtraFiles = []*os.File{rcW} // fd 3: each line's exit status
	sh.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sh.cmd.WaitDelay = 5 * time.Second
	if sh.in, err = sh.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sh.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rcW.Close()
	go func() {
		defer rcR.Close()
		s := bufio.NewScanner(rcR)
		for s.Scan() {
			if n, err := strconv.Atoi(s.Text()); err == nil {
				sh.rc <- n
			}
		}
	}()
	pgid := sh.cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = sh.cmd.Wait()
		// Whatever the lines started was in the group: nothing may still
		// listen on the ports they were given (a zombie holds no socket).
		for _, p := range ports {
			// Poll, not Until: every port is checked, and the output logged
			if !testenv.Poll(testenv.Context(t, 10*time.Second), 50*time.Millisecond, func() bool {
				c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second)
				if err == nil {
					c.Close()
				}
				return err != nil
			}) {
				t.Errorf("something still listens on 127.0.0.1:%s after the shell's process group was killed", p)
			}
		}
		if t.Failed() {
			t.Logf("the shell's output (the block's lines and all they started):\n%s", sh.out.String())
		}
	})
	return sh
}

// start types a line, followed by a line (the test's, not the README's)
// that saves the shell's exports and reports the line's exit status on fd
// 3. It returns where the line's output starts in sh.out.
func (sh *shell) start(line string) int {
	from := len(sh.out.String())
	fmt.Fprintf(sh.in, "%s\n__rc=$?; export -p >%s; echo \"$__rc\" >&3\n", line, shellQuote(sh.envFile))
	return from
}

// run types a line and waits for its exit status.
func (sh *shell) run(t *testing.T, ctx context.Context, line string) int {
	t.Helper()
	sh.start(line)
	select {
	case rc := <-sh.rc:
		return rc
	case <-ctx.Done():
		t.Fatalf("%q did not return", line)
		return -1
	}
}

// other runs a command in a second terminal that has the shell's exports.
func (sh *shell) other(t *testing.T, ctx context.Context, command string) result {
	t.Helper()
	return sh.bash(t, ctx, ". "+shellQuote(sh.envFile)+"\n"+command)
}

// fresh runs a command in a new terminal, without the shell's exports.
func (sh *shell) fresh(t *testing.T, ctx context.Context, command string) result {
	t.Helper()
	return sh.bash(t, ctx, command)
}

func (sh *shell) bash(t *testing.T, ctx context.Context, script string) result {
	t.Helper()
	var out, errb testenv.SyncBuffer
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", script)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = sh.dir, sh.env, &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bash -c %q: %v", script, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("bash -c %q did not end: %v\nstdout %s\nstderr %s", script, ctx.Err(), out.String(), errb.String())
	}
	return result{out.String(), errb.String(), code}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// waitPort waits until 127.0.0.1:port accepts connections.
func waitPort(t *testing.T, ctx context.Context, sh *shell, port string) {
	t.Helper()
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing listens on 127.0.0.1:%s: %v", port, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// httpGet gets url once it answers at all.
func httpGet(t *testing.T, ctx context.Context, sh *shell, url string) (int, string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		select {
		case rc := <-sh.rc:
			t.Fatalf("the foreground line exited %d", rc)
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
