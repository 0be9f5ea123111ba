package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// isTTY tells whether progress goes to a terminal (tests replace it):
// a character device that, where that can be asked, has a window size
// (/dev/null is a character device too).
var isTTY = func(w io.Writer) bool {
	if !isTerminal(w) {
		return false
	}
	f, _ := w.(*os.File)
	return !canAskWinsize || winsizeCols(f) > 0
}

// termWidth is the width of the terminal progress goes to: $COLUMNS when
// set, else what the terminal says, else 80.
func termWidth(w io.Writer) int {
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok {
		if n := winsizeCols(f); n > 0 {
			return n
		}
	}
	return 80
}

// follow1 shows a job's progress on out until it ends (or ctx does).
func follow1(ctx context.Context, c *tasks.Client, id string, out io.Writer) (*store.View, error) {
	p := newLiveLine(out, isTTY(out), termWidth(out), time.Now)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if p.tty {
		// The elapsed time moves while the job does not (parked on MFA).
		wg.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					p.tick()
				}
			}
		})
	}
	j, err := c.Watch(ctx, id, func(j *store.View) bool { p.update(j); return true })
	close(stop)
	wg.Wait()
	p.finish()
	return j, err
}

// liveLine shows a job's progress. On a terminal it is one live line,
// redrawn in place (\r and ESC[K) at every change and every second, cut to
// the terminal's width so that it never wraps (a wrapped line cannot be
// redrawn and leaves fragments); elsewhere (a file, a pipe) it is one line
// per change. An MFA challenge is printed in full once per round, above
// the live line: its guids, questions and options, and the exact command
// that answers it.
type liveLine struct {
	mu     sync.Mutex
	out    io.Writer
	tty    bool
	width  int
	start  time.Time
	now    func() time.Time
	job    *store.View
	hinted int  // the MFA round whose challenges were printed
	window int  // the OAuth window whose URI was printed
	live   bool // the live line is on screen (tty)
}

func newLiveLine(out io.Writer, tty bool, width int, now func() time.Time) *liveLine {
	return &liveLine{out: out, tty: tty, width: max(width, 20), start: now(), now: now}
}

// update shows a change of the job.
func (p *liveLine) update(j *store.View) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.job = j
	if p.tty {
		if j.State == store.StateChallenged && j.Round != p.hinted && len(j.Challenges) > 0 {
			p.clear()
			fmt.Fprint(p.out, challengeHint(j))
			p.hinted = j.Round
		}
		if oauthHintDue(j, p.window) {
			p.clear()
			fmt.Fprint(p.out, oauthHint(j))
			p.window = j.OAuthWindows
		}
		p.draw()
		return
	}
	fmt.Fprintln(p.out, p.line())
	if j.State == store.StateChallenged && j.Round != p.hinted && len(j.Challenges) > 0 {
		fmt.Fprint(p.out, challengeHint(j))
		p.hinted = j.Round
	}
	if oauthHintDue(j, p.window) {
		fmt.Fprint(p.out, oauthHint(j))
		p.window = j.OAuthWindows
	}
}

// tick redraws the live line with the time elapsed (terminals only).
func (p *liveLine) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.job != nil {
		p.draw()
	}
}

// finish ends the live line.
func (p *liveLine) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintln(p.out)
		p.live = false
	}
}

func (p *liveLine) draw() {
	fmt.Fprint(p.out, "\r\033[K"+cut(p.line(), p.width-1))
	p.live = true
}

func (p *liveLine) clear() {
	if p.live {
		fmt.Fprint(p.out, "\r\033[K")
		p.live = false
	}
}

// line is the job's progress: id, state, time elapsed, MX status, polls,
// kind. On a terminal too narrow for it, the id (printed in full on
// stdout) gives way first, then the end, so that the state and the time
// stay in view.
func (p *liveLine) line() string {
	j := p.job
	rest := fmt.Sprintf("  %s  %s  mx %s  polls %d  %s", j.State, p.now().Sub(p.start).Truncate(time.Second),
		orDash(j.ConnectionStatus), j.Polls, j.Kind)
	if j.State == store.StateChallenged {
		if j.AnswerPending {
			rest += "  answer sent"
		} else {
			rest += "  awaiting MFA answers"
		}
	}
	if j.State == store.StateAuthorizing {
		rest += "  awaiting the end user's OAuth"
	}
	id := j.ID
	if p.tty {
		id = cut(id, max(p.width-1-utf8.RuneCountInString(rest), 8))
	}
	return id + rest
}

// cut shortens s to n characters (runes), ending in "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// challengeHint tells what the job's MFA round asks and the command that
// answers it. Labels and options come from the institution: they are
// quoted, so that no control character reaches the terminal.
func challengeHint(j *store.View) string {
	if j.Kind == store.KindMicrodeposit || j.Via == store.KindMicrodeposit {
		return fmt.Sprintf("job %s waits for the two micro-deposit amounts (round %d)\nanswer with: mxfleet answer %s --amounts A,B\n  (A, B: the amounts in dollars the end user reads on the account, such as 0.07,0.15)\n",
			j.ID, j.Round, shellWord(j.ID))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "job %s waits for MFA answers (round %d):\n", j.ID, j.Round)
	cmd := "mxfleet answer " + shellWord(j.ID)
	for _, ch := range j.Challenges {
		fmt.Fprintf(&b, "  challenge %s  %s  %q\n", shellWord(ch.GUID), ch.Type, ch.Label)
		for _, o := range ch.Options {
			fmt.Fprintf(&b, "      option %q  value %q\n", o.Label, o.Value)
		}
		for _, o := range ch.ImageOptions {
			fmt.Fprintf(&b, "      image option %q  value %q\n", o.Label, o.Value)
		}
		cmd += " --challenge " + shellWord(ch.GUID+"=VALUE")
	}
	fmt.Fprintf(&b, "answer with: %s\n", cmd)
	b.WriteString("  (VALUE: the end user's answer; for options, the chosen option's value)\n")
	return b.String()
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_.:=/@%+-]+$`)

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
