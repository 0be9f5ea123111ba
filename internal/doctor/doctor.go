// Package doctor proves a setup against the configured MX: it runs, call by
// call, what a verify and an identify job do (institution, credentials,
// user, member, status until done, results), prints every call with its
// HTTP status and latency, and ends with one verdict and, when something
// failed, the fix. It needs MX credentials only: no Redis, no worker.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
)

// Options says what to try.
type Options struct {
	Institution string            // default mxbank
	Credentials map[string]string // by label, field name or guid; default MX Bank's username mxuser, password correct
	Answer      string            // answers every MFA challenge with this; empty: an MFA challenge ends the check
	Kinds       []string          // "verify", "identify" (default both, in that order, on one member)
	Poll        time.Duration     // between status reads; default 3s, MX's minimum
	JobTimeout  time.Duration     // per MX job; default 3m
	Keep        bool              // keep the MX user (default: deleted at the end)
}

// Result is the outcome of a check.
type Result struct {
	OK      bool
	Verdict string // one line
	Fix     string // what to do, when not OK
	Version mx.Version
	Calls   int
}

// Run checks cfg's MX (MXFLEET_MX_BASE_URL, _CLIENT_ID, _API_KEY,
// _API_VERSION, _TIMEOUT) as opts say, over hc when not nil, writing its
// progress to out. The error is only for settings that cannot even make a
// client; MX's answers are in the Result.
func Run(ctx context.Context, cfg fleet.Config, hc *http.Client, opts Options, out io.Writer) (Result, error) {
	d := &doctor{out: out, opts: defaults(opts), cfg: cfg}
	c, err := cfg.MXClient(hc, mx.WithUserAgent("mxfleet-doctor"), mx.WithObserver(d.observe))
	if err != nil {
		return Result{}, err
	}
	d.c = c
	d.res.Version = c.Version()
	fmt.Fprintf(out, "MX %s, API version %s (Accept-Version), client id %s\n", cfg.MXBaseURL, c.Version(), mask(cfg.MXClientID))
	d.run(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.res.Calls = d.calls
	if d.res.OK {
		fmt.Fprintf(out, "\nverdict: OK: %s\n", d.res.Verdict)
	} else {
		fmt.Fprintf(out, "\nverdict: FAILED: %s\nfix: %s\n", d.res.Verdict, d.res.Fix)
	}
	return d.res, nil
}

func defaults(o Options) Options {
	if o.Institution == "" {
		o.Institution = "mxbank"
	}
	if len(o.Credentials) == 0 {
		o.Credentials = map[string]string{"username": "mxuser", "password": "correct"}
	}
	if len(o.Kinds) == 0 {
		o.Kinds = []string{"verify", "identify"}
	}
	if o.Poll <= 0 {
		o.Poll = 3 * time.Second
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 3 * time.Minute
	}
	return o
}

type doctor struct {
	out  io.Writer
	opts Options
	cfg  fleet.Config
	c    *mx.Client

	mu       sync.Mutex
	calls    int
	accepted bool // MX answered a call 2xx: the version is accepted
	res      Result
}

// observe prints every MX call as it ends.
func (d *doctor) observe(op string, status int, took time.Duration, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	st := fmt.Sprint(status)
	if status == 0 {
		st = "---"
	}
	line := fmt.Sprintf("  %-28s %s %8s", op, st, took.Round(time.Millisecond))
	if err != nil {
		line += "  " + err.Error()
	}
	fmt.Fprintln(d.out, line)
	if status >= 200 && status < 300 && !d.accepted {
		d.accepted = true
		fmt.Fprintf(d.out, "  (MX accepted Accept-Version %s)\n", d.c.Version())
	}
}

// succeeded says whether some MX call answered 2xx.
func (d *doctor) succeeded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.accepted
}

func (d *doctor) step(format string, args ...any) { fmt.Fprintf(d.out, "\n"+format+"\n", args...) }

func (d *doctor) fail(verdict, fix string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.res.OK, d.res.Verdict, d.res.Fix = false, verdict, fix
}

func (d *doctor) run(ctx context.Context) {
	o := d.opts
	d.step("1. institution %s", o.Institution)
	inst, err := d.c.ReadInstitution(ctx, o.Institution)
	if err != nil {
		d.callFailed("reading the institution", err)
		return
	}
	fmt.Fprintf(d.out, "  %s: %s\n", inst.Name, supports(inst))
	for _, k := range o.Kinds {
		if !inst.Supports(product(k)) {
			d.fail(fmt.Sprintf("%s (%s) does not offer %s to this client", inst.Name, o.Institution, product(k)),
				"pick an institution that supports it, or ask MX to enable "+product(k)+" for your client")
			return
		}
	}
	fields, err := mx.Collect(d.c.InstitutionCredentials(ctx, o.Institution))
	if err != nil {
		d.callFailed("listing the institution's credential fields", err)
		return
	}
	creds, mis := handlers.MapCredentials(fields, o.Credentials)
	if mis != nil {
		d.fail(fmt.Sprintf("the credentials given do not fit %s: %s", o.Institution, mis), "name each credential by a field's label, field name or guid (--credential NAME=VALUE)")
		return
	}

	d.step("2. user")
	user, err := d.c.CreateUser(ctx, mx.UserCreate{ID: fmt.Sprintf("mxfleet-doctor-%d", time.Now().UnixNano()), Metadata: "mxfleet doctor"})
	if err != nil {
		d.callFailed("creating a user", err)
		return
	}
	if !d.opts.Keep {
		defer func() {
			d.step("cleanup")
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := d.c.DeleteUser(cctx, user.GUID); err != nil {
				fmt.Fprintf(d.out, "  the MX user %s was not deleted: %v\n", user.GUID, err)
			}
		}()
	}

	var member string
	var results []string
	for i, kind := range o.Kinds {
		d.step("%d. %s (%s)", i+3, kind, product(kind))
		asked := time.Now()
		switch {
		case member == "":
			create := mx.MemberCreate{InstitutionCode: o.Institution, Credentials: creds, Metadata: "mxfleet doctor"}
			if d.c.Version() == mx.V20111101 {
				create.SkipAggregation = true
			} else {
				create.Products = []string{product(kind)}
			}
			m, err := d.c.CreateMember(ctx, user.GUID, create)
			if err != nil {
				d.callFailed("creating the member", err)
				return
			}
			member = m.GUID
			if m.ProductsFailed {
				d.fail(fmt.Sprintf("MX created the member but could not start %s (201)", product(kind)),
					"ask MX to enable "+product(kind)+" for your client, or pick an institution that supports it")
				return
			}
			if d.c.Version() == mx.V20111101 {
				if _, err := d.c.StartMemberJob(ctx, user.GUID, member, product(kind)); err != nil {
					d.callFailed("starting "+kind, err)
					return
				}
			}
		default:
			if _, err := d.c.StartMemberJob(ctx, user.GUID, member, product(kind)); err != nil {
				d.callFailed("starting "+kind, err)
				return
			}
		}
		if !d.wait(ctx, user.GUID, member, asked) {
			return
		}
		var n int
		if kind == "identify" {
			owners, err := mx.Collect(d.c.AccountOwners(ctx, user.GUID, member))
			if err != nil {
				d.callFailed("reading account owners", err)
				return
			}
			n = len(owners)
		} else {
			nums, err := mx.Collect(d.c.AccountNumbers(ctx, user.GUID, member))
			if err != nil {
				d.callFailed("reading account numbers", err)
				return
			}
			n = len(nums)
		}
		if n == 0 {
			d.fail(fmt.Sprintf("MX connected the member but returned no %s", resultName(kind)), "try another test account; a real job would fail no_results")
			return
		}
		fmt.Fprintf(d.out, "  %d %s (values not shown)\n", n, resultName(kind))
		results = append(results, fmt.Sprintf("%s: %d %s", kind, n, resultName(kind)))
	}
	d.mu.Lock()
	d.res.OK = true
	d.res.Verdict = fmt.Sprintf("MX at %s accepts %s and ran %s on %s (%s)", d.cfg.MXBaseURL, d.c.Version(), strings.Join(o.Kinds, " and "), o.Institution, strings.Join(results, ", "))
	d.mu.Unlock()
}

// wait reads the member's status every Poll until MX's job ends, answering
// MFA when told how. It reports whether the job connected.
func (d *doctor) wait(ctx context.Context, user, member string, asked time.Time) bool {
	ctx, cancel := context.WithTimeout(ctx, d.opts.JobTimeout)
	defer cancel()
	sawRunning, reads, last := false, 0, ""
	answered := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			d.fail(fmt.Sprintf("MX's job did not end within %s", d.opts.JobTimeout), "MX may be slow: run again with a longer --timeout; check MX's status page")
			return false
		case <-time.After(d.opts.Poll):
		}
		st, err := d.c.ReadMemberStatus(ctx, user, member)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			d.callFailed("reading the member status", err)
			return false
		}
		reads++
		sawRunning = sawRunning || st.IsBeingAggregated
		if now := fmt.Sprintf("  connection_status %s, is_being_aggregated %v", st.ConnectionStatus, st.IsBeingAggregated); now != last {
			fmt.Fprintln(d.out, now)
			last = now
		}
		c := job.Classify(st.ConnectionStatus, st.IsBeingAggregated)
		if c.Outcome != job.InProgress && c.Outcome != job.NeedsUser && !sawRunning && reads <= 3 {
			// A read right after the request may still show the run before it.
			if at, err := time.Parse(time.RFC3339, st.AggregatedAt); err == nil && at.Before(asked.Add(-2*time.Second)) {
				continue
			}
		}
		switch c.Outcome {
		case job.InProgress:
			continue
		case job.Succeeded:
			return true
		case job.NeedsUser:
			if len(st.Challenges) == 0 || answered[st.Challenges[0].GUID] {
				continue
			}
			if d.opts.Answer == "" {
				d.fail("MX asks an MFA question ("+string(st.Challenges[0].Type)+" "+fmt.Sprintf("%q", st.Challenges[0].Label)+")",
					"the setup works up to MFA: run with --answer VALUE (MX Bank: correct), or a password without MFA")
				return false
			}
			var answers []mx.ChallengeAnswer
			for _, ch := range st.Challenges {
				answers = append(answers, mx.ChallengeAnswer{GUID: ch.GUID, Value: d.opts.Answer})
				answered[ch.GUID] = true
			}
			if _, err := d.c.ResumeMember(ctx, user, member, answers); err != nil {
				d.callFailed("answering MFA", err)
				return false
			}
		default:
			d.fail(fmt.Sprintf("MX ended the member %s (%s)", st.ConnectionStatus, c.Reason), statusFix(st.ConnectionStatus, d.opts.Institution))
			return false
		}
	}
}

// callFailed turns a failed call into the verdict and its fix.
func (d *doctor) callFailed(what string, err error) {
	base := d.cfg.MXBaseURL
	status := mx.StatusCode(err)
	msg := strings.ToLower(err.Error())
	switch {
	case status == 0 && errors.Is(err, context.Canceled):
		d.fail(what+": interrupted", "run it again")
	case status == 0:
		d.fail(fmt.Sprintf("%s: MX at %s did not answer: %v", what, base, err),
			"check MXFLEET_MX_BASE_URL (https://int-api.mx.com for MX's integration environment, https://api.mx.com for production) and the network or proxy between here and MX")
	case status == http.StatusUnauthorized:
		d.fail(fmt.Sprintf("%s: MX refused the client id and API key (401)", what),
			"set MXFLEET_MX_CLIENT_ID and MXFLEET_MX_API_KEY to the keys of this environment (integration keys work only on https://int-api.mx.com, production keys only on https://api.mx.com)")
	case status == http.StatusNotAcceptable || status == http.StatusBadRequest && strings.Contains(msg, "version"):
		d.fail(fmt.Sprintf("%s: MX refused API version %s (%d): %v", what, d.c.Version(), status, err),
			fmt.Sprintf("set MXFLEET_MX_API_VERSION to a version MX supports (%s is current, %s previous)", mx.V20250224, mx.V20111101))
	case status == http.StatusForbidden && !d.succeeded():
		// MX answers 403 to every call from an IP address not on the
		// client's allowlist (MX Academy "Whitelisting IP Addresses": every
		// address calling the Platform API, in every environment); a 403
		// after calls went through is a feature not enabled instead.
		d.fail(fmt.Sprintf("%s: MX refused every call (403), none went through: this address is not on MX's allowlist: %v", what, err),
			"have MX allowlist this machine's static egress IP address (Client Dashboard → API keys and whitelisting; single addresses or ranges no larger than /22, no dynamic addresses; approval can take several days): deploy/README.md \"MX's IP allowlist\"")
	case status == http.StatusForbidden:
		d.fail(fmt.Sprintf("%s: MX forbids it (403): %v", what, err),
			"ask MX to enable this feature (verification, identification) for your client")
	case status == http.StatusNotFound && strings.Contains(what, "institution"):
		d.fail(fmt.Sprintf("%s: MX has no institution %q for this client (404)", what, d.opts.Institution),
			"MX Bank (mxbank) exists only in MX's integration environment: point MXFLEET_MX_BASE_URL at https://int-api.mx.com, or name an institution of this environment with --institution")
	case status == http.StatusBadRequest && strings.Contains(what, "starting"):
		d.fail(fmt.Sprintf("%s: MX says the institution does not support it (400): %v", what, err),
			"ask MX to enable the product for your client, or pick an institution that supports it")
	case status == http.StatusTooManyRequests || status >= 500:
		d.fail(fmt.Sprintf("%s: MX is busy or failing (%d): %v", what, status, err), "try again in a few minutes; the fleet would retry such calls by itself")
	default:
		d.fail(fmt.Sprintf("%s: MX refused the call (%d): %v", what, status, err), "read MX's message above; the request is one the fleet sends, so its jobs would fail mx_error the same way")
	}
}

func statusFix(status, inst string) string {
	switch status {
	case "DENIED", "PREVENTED", "IMPAIRED":
		if inst == "mxbank" {
			return "the credentials were refused: MX Bank takes username mxuser and any password but its test words (challenge, options, image, BAD_REQUEST, UNAUTHORIZED)"
		}
		return "the credentials were refused: give the right ones with --credential"
	case "CHALLENGED", "REJECTED", "EXPIRED":
		return "answer MFA with --answer (MX Bank: correct)"
	}
	return "a job would end the same way; MX's connection_status_message on the member says more"
}

func product(kind string) string {
	if kind == "identify" {
		return mx.ProductIdentityVerification
	}
	return mx.ProductAccountVerification
}

func resultName(kind string) string {
	if kind == "identify" {
		return "account owners"
	}
	return "account numbers"
}

func supports(in *mx.Institution) string {
	var p []string
	for _, prod := range []string{mx.ProductAccountVerification, mx.ProductIdentityVerification} {
		if in.Supports(prod) {
			p = append(p, prod)
		}
	}
	if len(p) == 0 {
		return "neither account_verification nor identity_verification offered"
	}
	return "offers " + strings.Join(p, ", ")
}

// mask shows the start of a client id only.
func mask(s string) string {
	if len(s) <= 6 {
		return strings.Repeat("*", len(s))
	}
	return s[:6] + "…"
}
