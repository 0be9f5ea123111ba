package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// producer opens the producer client on MXFLEET_REDIS_URL, sealing and
// opening with MXFLEET_SECRET_KEYS.
func producer() (*tasks.Client, func(), error) {
	var cfg fleet.Config
	if err := envconfig.Process(fleet.Prefix, &cfg); err != nil {
		return nil, nil, err
	}
	keys, err := cfg.Keys()
	if err != nil {
		return nil, nil, err
	}
	rdb, err := cfg.OpenRedis()
	if err != nil {
		return nil, nil, err
	}
	c := tasks.NewClient(rdb, keys, store.WithRetention(cfg.JobRetention))
	return c, func() { _ = c.Close(); _ = rdb.Close() }, nil
}

// pairs is a repeatable NAME=VALUE flag whose values are secrets. Set never
// fails (the flag package would quote the value in its error); Map checks
// the pairs after parsing and names only the NAME.
type pairs struct {
	flag string
	raw  []string
}

func (p *pairs) String() string { return "" }

func (p *pairs) Set(s string) error { p.raw = append(p.raw, s); return nil }

// Map returns the pairs, refusing a missing '=' or a NAME given twice.
func (p *pairs) Map() (map[string]string, error) {
	m := make(map[string]string, len(p.raw))
	for _, s := range p.raw {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, exitError{2, fmt.Errorf("--%s wants NAME=VALUE (one was given without a name or '=')", p.flag)}
		}
		if _, dup := m[k]; dup {
			return nil, exitError{2, fmt.Errorf("--%s %s given twice", p.flag, k)}
		}
		m[k] = v
	}
	return m, nil
}

const submitHelp = `Usage: mxfleet %s [flags]

Enqueues a job and prints its id. The user is --user-guid, or --user-id (a
partner id, created at MX when missing). The member is --member-guid, or
--institution with --credential NAME=VALUE for each of the institution's
credential fields, NAME being the field's label (MX Bank: Username, Password;
case and spaces do not matter), its field_name (LOGIN, PASSWORD) or its guid. --follow follows a member
connected by MXconnect without starting a new MX job. Reads MXFLEET_REDIS_URL.
Credential values given on a command line are visible to other local users
in the process list; prefer the producer library or the HTTP API for real ones.

`

func cmdSubmit(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	fs := flags(kind, stderr, fmt.Sprintf(submitHelp, kind))
	id := fs.String("job-id", "", "job id (default: generated); the same id again returns the existing job")
	userID := fs.String("user-id", "", "partner user id")
	userGUID := fs.String("user-guid", "", "MX user guid")
	memberGUID := fs.String("member-guid", "", "MX member guid")
	inst := fs.String("institution", "", "institution code, e.g. mxbank")
	follow := fs.Bool("follow", false, "follow a member connected by MXconnect; read its results without starting a new MX job")
	wait := fs.Bool("wait", false, "follow the job with a live progress line until it ends")
	creds := &pairs{flag: "credential"}
	fs.Var(creds, "credential", "credential NAME=VALUE (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	credMap, err := creds.Map()
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	c, closeFn, err := producer()
	if err != nil {
		return err
	}
	defer closeFn()
	req := tasks.Request{ID: *id, User: tasks.User{ID: *userID, GUID: *userGUID},
		Member: tasks.Member{GUID: *memberGUID, InstitutionCode: *inst, Credentials: credMap, Follow: *follow}}
	submit := c.Verify
	if kind == "identify" {
		submit = c.Identify
	}
	j, err := submit(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, j.ID)
	if !*wait {
		return nil
	}
	j, err = follow1(ctx, c, j.ID, stderr)
	if err != nil {
		return err
	}
	printJob(stdout, j)
	if j.State != store.StateSucceeded {
		return exitError{1, errors.New("")}
	}
	return nil
}

// follow1 shows a live one-line progress display until the job ends.
func follow1(ctx context.Context, c *tasks.Client, id string, out io.Writer) (*store.Job, error) {
	start := time.Now()
	tty := isTerminal(out)
	j, err := c.Watch(ctx, id, func(j *store.Job) bool {
		line := fmt.Sprintf("%s  %-8s  %-10s  %-12s  polls %-3d  %5.1fs", j.ID, j.Kind, j.State, orDash(j.ConnectionStatus), j.Polls, time.Since(start).Seconds())
		if j.State == store.StateChallenged {
			line += "  waiting for MFA answers: mxfleet answer " + j.ID + " --challenge GUID=VALUE"
		}
		if tty {
			fmt.Fprintf(out, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(out, line)
		}
		return true
	})
	if tty {
		fmt.Fprintln(out)
	}
	return j, err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const answerHelp = `Usage: mxfleet answer JOB_ID --challenge GUID=VALUE [--challenge GUID=VALUE ...]

Answers every challenge of a job parked on MFA ("mxfleet status JOB_ID" lists
them). For OPTIONS challenges give the chosen option's value.

`

func cmdAnswer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("answer", stderr, answerHelp)
	answerPairs := &pairs{flag: "challenge"}
	fs.Var(answerPairs, "challenge", "challenge GUID=VALUE (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	answers, err := answerPairs.Map()
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(answers) == 0 {
		fs.Usage()
		return exitError{2, errors.New("want one JOB_ID and at least one --challenge")}
	}
	c, closeFn, err := producer()
	if err != nil {
		return err
	}
	defer closeFn()
	aid, err := c.Answer(ctx, pos[0], answers)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "answer %s sent for job %s\n", aid, pos[0])
	return nil
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("status", stderr, "Usage: mxfleet status JOB_ID [--json]\n\n")
	asJSON := fs.Bool("json", false, "print the job record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitError{2, errors.New("want one JOB_ID")}
	}
	c, closeFn, err := producer()
	if err != nil {
		return err
	}
	defer closeFn()
	j, err := c.Status(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(j.View())
	}
	printJob(stdout, j)
	return nil
}

const keygenHelp = `Usage: mxfleet keygen [--id ID]

Prints a new key for MXFLEET_SECRET_KEYS: ID:base64(32 random bytes).
To rotate: put the new key after the old one on every worker and producer
(all keys open), then first (the first key seals), and drop the old one once
nothing sealed with it is left (after MXFLEET_JOB_RETENTION).

`

func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flags("keygen", stderr, keygenHelp)
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "key id (1-32 of A-Z a-z 0-9 _ -)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	k, err := seal.Generate(*id)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, k)
	return nil
}

const purgeHelp = `Usage: mxfleet purge JOB_ID...

Deletes everything stored for a job: its record, its parked entry and its
tasks in every queue and state (a task running right now cannot be deleted;
purge again once it has ended).

`

func cmdPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("purge", stderr, purgeHelp)
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fs.Usage()
		return exitError{2, errors.New("want at least one JOB_ID")}
	}
	c, closeFn, err := producer()
	if err != nil {
		return err
	}
	defer closeFn()
	for _, id := range ids {
		n, err := c.Purge(ctx, id)
		if err != nil {
			return fmt.Errorf("purge %s (%d tasks deleted): %w", id, n, err)
		}
		fmt.Fprintf(stdout, "%s: record and %d tasks deleted\n", id, n)
	}
	return nil
}

func cmdWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("wait", stderr, "Usage: mxfleet wait JOB_ID... [--timeout D]\n\nExits 0 once every job has ended, 1 on timeout.\n\n")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fs.Usage()
		return exitError{2, errors.New("want at least one JOB_ID")}
	}
	c, closeFn, err := producer()
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for _, id := range ids {
		j, err := c.Wait(ctx, id)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("timeout after %s: job %s is still %s", *timeout, id, j.State)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", j.ID, j.State, errCode(j))
	}
	return nil
}

func errCode(j *store.Job) string {
	if j.Error == nil {
		return ""
	}
	return j.Error.Code
}

// printJob prints a job for people. Account numbers are masked to their
// last four digits; --json prints them whole.
func printJob(w io.Writer, j *store.Job) {
	fmt.Fprintf(w, "job        %s\nkind       %s\nstate      %s\nmx status  %s\nuser       %s\nmember     %s\npolls      %d\ncreated    %s\nupdated    %s\n",
		j.ID, j.Kind, j.State, orDash(j.ConnectionStatus), orDash(j.UserGUID), orDash(j.MemberGUID), j.Polls,
		j.CreatedAt.Format(time.RFC3339), j.UpdatedAt.Format(time.RFC3339))
	if j.Error != nil {
		fmt.Fprintf(w, "error      %s: %s\n", j.Error.Code, j.Error.Message)
	}
	for _, ch := range j.Challenges {
		fmt.Fprintf(w, "challenge  %s  %s  %q\n", ch.GUID, ch.Type, ch.Label)
		for _, o := range ch.Options {
			fmt.Fprintf(w, "             option %q value %q\n", o.Label, o.Value)
		}
		for _, o := range ch.ImageOptions {
			fmt.Fprintf(w, "             image option %q value %q\n", o.Label, o.Value)
		}
	}
	if r := j.Result; r != nil {
		for _, n := range r.AccountNumbers {
			fmt.Fprintf(w, "account    %s  number %s  routing %s  passed_validation %t\n", n.AccountGUID, mask(n.AccountNumber), n.RoutingNumber, n.PassedValidation)
		}
		for _, o := range r.AccountOwners {
			fmt.Fprintf(w, "owner      %s  %s\n", o.AccountGUID, o.OwnerName)
		}
	}
}

func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("•", len(s))
	}
	return strings.Repeat("•", len(s)-4) + s[len(s)-4:]
}
