package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// producer opens the producer client on MXFLEET_REDIS_URL, sealing and
// opening with MXFLEET_SECRET_KEYS. Without keys, a command that seals
// nothing (needKeys false: status, wait, purge) still runs, with keys that
// open nothing; noKeys says so.
func producer(needKeys bool) (c *tasks.Client, closeFn func(), noKeys bool, err error) {
	cfg, err := fleet.Load()
	if err != nil {
		return nil, nil, false, err
	}
	keys, err := cfg.Keys()
	if err != nil {
		if needKeys || !errors.Is(err, seal.ErrNoKeys) {
			return nil, nil, false, err
		}
		keys, noKeys = seal.Ephemeral(), true
	}
	rdb, err := openRedis(cfg)
	if err != nil {
		return nil, nil, false, err
	}
	c = tasks.NewClient(rdb, keys, store.WithRetention(cfg.JobRetention))
	c.SetEstimator(cfg.ETAs(rdb))
	return c, func() { _ = c.Close(); _ = rdb.Close() }, noKeys, nil
}

// sealed tells whether err is a job's results not opening with the keys
// at hand. Only a succeeded job has results.
func sealed(err error) bool {
	return errors.Is(err, seal.ErrUnknownKey) || errors.Is(err, seal.ErrWrongKey) || errors.Is(err, seal.ErrNotSealed)
}

// sealedWhy says why a job's results cannot be shown.
func sealedWhy(noKeys bool, err error) string {
	if noKeys {
		return "the results need " + seal.EnvVar + " (the fleet's keys)"
	}
	if errors.Is(err, seal.ErrUnknownKey) {
		return "the results were sealed with a key that is not in " + seal.EnvVar
	}
	return "the results do not open with the keys in " + seal.EnvVar
}

// jobErr says a job does not exist in plain words.
func jobErr(id string, err error) error {
	if errors.Is(err, tasks.ErrNotFound) {
		return fmt.Errorf("job %s does not exist", id)
	}
	return err
}

// checkIDs refuses ids no job can have before anything is read.
func checkIDs(ids []string) error {
	for _, id := range ids {
		if err := store.ValidateID(id); err != nil {
			return exitError{2, err}
		}
	}
	return nil
}

// stoppedWaiting is the error of a wait interrupted (Ctrl-C): exit 130,
// and the job goes on.
func stoppedWaiting(ids []string) error {
	if len(ids) == 1 {
		return exitError{130, fmt.Errorf("stopped waiting; job %s carries on (mxfleet status %s)", ids[0], ids[0])}
	}
	return exitError{130, fmt.Errorf("stopped waiting; jobs %s carry on (mxfleet status JOB_ID)", strings.Join(ids, ", "))}
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
case and spaces do not matter), its field_name (LOGIN, PASSWORD) or its guid.
At an institution that uses OAuth (mx_bank_oauth), --institution with --oauth
instead: the end user authorizes MX at the job's OAuth window URI, which
"mxfleet status" (and --wait) shows. --follow follows a member
connected by MXconnect without starting a new MX job. --member-guid with
--credential re-authenticates that member (after a job failed denied,
prevented, impaired, rejected or challenge_expired): the worker gives it the
new credentials, then verifies or identifies it on the same guid. The same --job-id again
with the same request prints the existing job; with another request it is
refused. --wait follows the job until it ends (exit 0 only when it
succeeded; Ctrl-C stops following, exit 130, and the job carries on). Reads
MXFLEET_REDIS_URL and MXFLEET_SECRET_KEYS (credentials are sealed with it).
Credential values given on a command line are visible to other local users
in the process list; prefer the producer library or the HTTP API for real ones.

`

func cmdSubmit(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	fs := flags(kind, stderr, fmt.Sprintf(submitHelp, kind)+personHelp+"\n"+fallbackHelp+"\n")
	id := fs.String("job-id", "", "job id (default: generated); the same id and request again returns the existing job, another request with it is refused")
	userID := fs.String("user-id", "", "partner user id")
	userGUID := fs.String("user-guid", "", "MX user guid")
	memberGUID := fs.String("member-guid", "", "MX member guid (with --credential: re-authenticate it)")
	inst := fs.String("institution", "", "institution code, e.g. mxbank")
	follow := fs.Bool("follow", false, "follow a member connected by MXconnect; read its results without starting a new MX job")
	wait := fs.Bool("wait", false, "follow the job with a live progress line until it ends")
	creds := &pairs{flag: "credential"}
	fs.Var(creds, "credential", "credential NAME=VALUE (repeatable)")
	pf := addPersonFlags(fs, os.Stdin)
	oauth := addOAuthFlags(fs)
	fb := addFallbackFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	person, err := pf.person(store.Kind(kind))
	if err != nil {
		return err
	}
	thresholds, err := pf.thresholds(store.Kind(kind), person)
	if err != nil {
		return err
	}
	oauthOpts, err := oauth.options()
	if err != nil {
		return err
	}
	credMap, err := creds.Map()
	if err != nil {
		return err
	}
	fallback, err := fb.account(kind, *follow)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	c, closeFn, _, err := producer(true)
	if err != nil {
		return err
	}
	defer closeFn()
	req := tasks.Request{ID: *id, User: tasks.User{ID: *userID, GUID: *userGUID},
		Member: tasks.Member{GUID: *memberGUID, InstitutionCode: *inst, Credentials: credMap, Follow: *follow, OAuth: oauthOpts}, Person: person, Thresholds: thresholds, Fallback: fallback}
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
	return followToEnd(ctx, c, j.ID, stdout, stderr)
}

// followToEnd is a submit's --wait: the job's progress until it ends, then
// the job; exit 0 only when it succeeded.
func followToEnd(ctx context.Context, c *tasks.Client, jobID string, stdout, stderr io.Writer) error {
	j, err := follow1(ctx, c, jobID, stderr)
	if err != nil && ctx.Err() != nil {
		return stoppedWaiting([]string{jobID})
	}
	if err != nil {
		return jobErr(jobID, err)
	}
	printJob(stdout, j)
	if j.State != store.StateSucceeded {
		return exitError{1, errors.New("")}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const answerHelp = `Usage: mxfleet answer JOB_ID --challenge GUID=VALUE [--challenge GUID=VALUE ...]
       mxfleet answer JOB_ID --amounts A,B

Answers every challenge of a job parked on MFA ("mxfleet status JOB_ID" lists
them). For OPTIONS challenges give the chosen option's value. A micro-deposit
job waiting for the amounts takes --amounts: the two in dollars, such as
0.07,0.15, in either order.

`

func cmdAnswer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("answer", stderr, answerHelp)
	answerPairs := &pairs{flag: "challenge"}
	fs.Var(answerPairs, "challenge", "challenge GUID=VALUE (repeatable)")
	amounts := fs.String("amounts", "", "a micro-deposit job's two amounts in dollars: A,B")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	answers, err := answerPairs.Map()
	if err != nil {
		return err
	}
	if *amounts != "" && len(answers) > 0 {
		return exitError{2, errors.New("give --amounts or --challenge, not both")}
	}
	if *amounts != "" {
		if answers, err = amountsAnswers(*amounts); err != nil {
			return err
		}
	}
	if len(pos) != 1 || len(answers) == 0 {
		fs.Usage()
		return exitError{2, errors.New("want one JOB_ID and at least one --challenge, or --amounts")}
	}
	if err := checkIDs(pos); err != nil {
		return err
	}
	c, closeFn, _, err := producer(true)
	if err != nil {
		return err
	}
	defer closeFn()
	aid, err := c.Answer(ctx, pos[0], answers)
	if errors.Is(err, tasks.ErrAlreadyAnswered) {
		return fmt.Errorf("answer not sent: %w (see mxfleet status %s)", err, pos[0])
	}
	if err != nil {
		return jobErr(pos[0], err)
	}
	fmt.Fprintf(stdout, "answer %s sent for job %s (the worker checks it again: a refusal shows in mxfleet status %s)\n", aid, pos[0], pos[0])
	return nil
}

const statusHelp = `Usage: mxfleet status JOB_ID [--json]

Shows a job. Its state needs only MXFLEET_REDIS_URL; the results of a
succeeded job are sealed and need MXFLEET_SECRET_KEYS too.

`

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("status", stderr, statusHelp)
	asJSON := fs.Bool("json", false, "print the job record as JSON")
	id, err := oneJob(fs, args)
	if err != nil {
		return err
	}
	c, closeFn, noKeys, err := producer(false)
	if err != nil {
		return err
	}
	defer closeFn()
	j, err := c.Status(ctx, id)
	if sealed(err) {
		// Only a succeeded job has (sealed) results; the record is not
		// read without opening them, so its state is all there is to show.
		why := sealedWhy(noKeys, err)
		if *asJSON {
			fmt.Fprintf(stderr, "mxfleet: %s\n", why)
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"id": id, "state": store.StateSucceeded, "result": nil})
		}
		fmt.Fprintf(stdout, "job        %s\nstate      %s\nresults    not shown: %s\n", id, store.StateSucceeded, why)
		return nil
	}
	if err != nil {
		return jobErr(id, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}
	printJob(stdout, j)
	return nil
}

const keygenHelp = `Usage: mxfleet keygen [--id ID]

Prints a new key for MXFLEET_SECRET_KEYS: ID:base64(32 random bytes). The
default ID is the date and a random suffix (k20261124-3f9a1c0e), new for
every key: two keys must never share an id, or each refuses what the other
sealed.
To rotate: put the new key after the old one on every worker and producer
(all keys open), then first (the first key seals), and drop the old one once
nothing sealed with it is left (after MXFLEET_JOB_RETENTION).

`

func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flags("keygen", stderr, keygenHelp)
	id := fs.String("id", "", "key id, 1-32 of A-Z a-z 0-9 _ - (default: k<date>-<random>, unique per key)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if *id == "" {
		*id = seal.NewKeyID(time.Now())
	}
	k, err := seal.Generate(*id)
	if err != nil {
		return exitError{2, err}
	}
	fmt.Fprintln(stdout, k)
	return nil
}

const purgeHelp = `Usage: mxfleet purge JOB_ID...

Deletes everything stored for a job: its record, its parked entry and its
tasks in every queue and state (a task running right now cannot be deleted;
purge again once it has ended). A job of which nothing is stored does not
exist: exit 1. Needs only MXFLEET_REDIS_URL.

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
	if err := checkIDs(ids); err != nil {
		return err
	}
	c, closeFn, _, err := producer(false)
	if err != nil {
		return err
	}
	defer closeFn()
	var missing []string
	for _, id := range ids {
		_, err := c.Status(ctx, id)
		exists := err == nil || sealed(err)
		if !exists && !errors.Is(err, tasks.ErrNotFound) {
			return fmt.Errorf("purge %s: %w", id, err)
		}
		// Without a record, tasks may still be left (a purge that met a
		// running task, a record expired): Purge looks for them anyway.
		n, err := c.Purge(ctx, id)
		if err != nil {
			return fmt.Errorf("purge %s (%d tasks deleted): %w", id, n, err)
		}
		switch {
		case exists:
			fmt.Fprintf(stdout, "%s: record and %d tasks deleted\n", id, n)
		case n > 0:
			fmt.Fprintf(stdout, "%s: no record; %d leftover tasks deleted\n", id, n)
		default:
			missing = append(missing, id)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("job %s does not exist", missing[0])
	}
	return fmt.Errorf("jobs %s do not exist", strings.Join(missing, ", "))
}

const waitHelp = `Usage: mxfleet wait JOB_ID... [--timeout D]

Waits until every job has ended and prints, for each, its id, state and
error code. Exits 0 once every job has ended, 1 on timeout (naming the jobs
not ended and their states), 130 when interrupted (the jobs carry on).
Needs only MXFLEET_REDIS_URL.

`

func cmdWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("wait", stderr, waitHelp)
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fs.Usage()
		return exitError{2, errors.New("want at least one JOB_ID")}
	}
	if *timeout <= 0 {
		return exitError{2, fmt.Errorf("--timeout %s: want a positive duration, like 30s or 30m", *timeout)}
	}
	if err := checkIDs(ids); err != nil {
		return err
	}
	c, closeFn, _, err := producer(false)
	if err != nil {
		return err
	}
	defer closeFn()
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// Until Redis answers, the wait says so on its live line.
	if err := awaitRedis(wctx, func(ctx context.Context) error { _, err := c.Status(ctx, ids[0]); return err }, stderr); err != nil {
		if ctx.Err() != nil {
			return stoppedWaiting(ids)
		}
		return fmt.Errorf("timeout after %s: Redis never answered; no job was read", shortDuration(*timeout))
	}
	for i, id := range ids {
		j, err := c.Wait(wctx, id)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", j.ID, j.State, errCode(j))
		case sealed(err): // only a succeeded job has sealed results
			fmt.Fprintf(stdout, "%s\t%s\t\n", id, store.StateSucceeded)
		case ctx.Err() != nil:
			return stoppedWaiting(ids[i:])
		case errors.Is(err, context.DeadlineExceeded):
			return timedOut(ctx, c, *timeout, ids[i:], stdout)
		default:
			return jobErr(id, err)
		}
	}
	return nil
}

// timedOut reads the jobs not waited for to the end once more: those
// that ended are printed; the others make the timeout's error.
func timedOut(ctx context.Context, c *tasks.Client, timeout time.Duration, ids []string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var still, unread []string
	var down redisDown
	for _, id := range ids {
		j, err := c.Status(ctx, id)
		switch {
		case errors.As(err, &down): // said once, after the jobs it kept from being read
			unread = append(unread, id)
		case err == nil && j.State.Terminal():
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", j.ID, j.State, errCode(j))
		case sealed(err):
			fmt.Fprintf(stdout, "%s\t%s\t\n", id, store.StateSucceeded)
		case err == nil:
			still = append(still, fmt.Sprintf("job %s is still %s", id, j.State))
		case errors.Is(err, tasks.ErrNotFound):
			still = append(still, fmt.Sprintf("job %s does not exist", id))
		default:
			still = append(still, fmt.Sprintf("job %s could not be read (%v)", id, err))
		}
	}
	if len(unread) > 0 {
		still = append(still, fmt.Sprintf("not read: %s, %s", strings.Join(unread, ", "), down))
	}
	if len(still) == 0 {
		return nil
	}
	return fmt.Errorf("timeout after %s: %s", shortDuration(timeout), strings.Join(still, "; "))
}

// shortDuration writes 2m for 2m0s and 1h for 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func errCode(j *store.View) string {
	if j.Error == nil {
		return ""
	}
	return j.Error.Code
}

// printJob prints a job for people. Account numbers are masked to their
// last four digits; --json prints them whole.
func printJob(w io.Writer, j *store.View) {
	fmt.Fprintf(w, "job        %s\nkind       %s\nstate      %s\nmx status  %s\nuser       %s\nmember     %s\npolls      %d\ncreated    %s\nupdated    %s\n",
		j.ID, j.Kind, j.State, orDash(j.ConnectionStatus), orDash(j.UserGUID), orDash(j.MemberGUID), j.Polls,
		j.CreatedAt.Format(time.RFC3339), j.UpdatedAt.Format(time.RFC3339))
	if j.Error != nil {
		fmt.Fprintf(w, "error      %s: %s\n", j.Error.Code, j.Error.Message)
	}
	if line := etaLine(j.ETA); line != "" {
		fmt.Fprintf(w, "eta        %s\n", line)
	}
	printFallback(w, j)
	if j.OAuthWindowURI != "" {
		fmt.Fprintf(w, "oauth      window %d, for the end user: %s (a fresh one: mxfleet oauth %s)\n", j.OAuthWindows, j.OAuthWindowURI, shellWord(j.ID))
	}
	if wr := j.OAuthWindowRefused; wr != nil {
		fmt.Fprintf(w, "refused    fresh OAuth window %d at %s: %s (the job waits on; ask again: mxfleet oauth %s)\n", wr.Window, wr.At.Format(time.RFC3339), wr.Reason, shellWord(j.ID))
	}
	if j.AnswerPending {
		fmt.Fprintf(w, "answer     an answer to MFA round %d is being applied\n", j.Round)
	}
	if ra := j.LastRefusedAnswer; ra != nil {
		fmt.Fprintf(w, "refused    answer %s at %s: %s\n", ra.AnswerID, ra.At.Format(time.RFC3339), ra.Reason)
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
	printMatch(w, j)
}

// etaLine says when a job that has not ended is expected to ("" once it
// has).
func etaLine(e *store.ETA) string {
	switch {
	case e == nil:
		return ""
	case e.WaitingOn == store.ETAEndUser:
		return "none: waits on the end user"
	case e.Basis == store.ETALearned && e.P50 != nil && e.P90 != nil:
		return fmt.Sprintf("p50 %s, p90 %s (learned from the fleet's recent runs)", e.P50.Format(time.RFC3339), e.P90.Format(time.RFC3339))
	case e.Basis == store.ETAOverdue:
		return "none: running longer than nearly every recent run at this institution"
	}
	return "no estimate yet"
}

func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("•", len(s))
	}
	return strings.Repeat("•", len(s)-4) + s[len(s)-4:]
}
