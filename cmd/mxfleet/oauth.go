package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// oauthFlags are verify's and identify's OAuth flags.
type oauthFlags struct {
	on                 *bool
	redirect, referral *string
}

func addOAuthFlags(fs interface {
	Bool(string, bool, string) *bool
	String(string, string, string) *string
}) oauthFlags {
	return oauthFlags{
		on:       fs.Bool("oauth", false, "an OAuth job at --institution (no --credential): the end user authorizes MX at the job's OAuth window URI (mxfleet status shows it)"),
		redirect: fs.String("oauth-redirect-url", "", "with --oauth: MX's client_redirect_url, where the end user goes at the end (needs --oauth-referral-source APP)"),
		referral: fs.String("oauth-referral-source", "", "with --oauth: MX's referral_source, BROWSER (MX's default) or APP"),
	}
}

// options are the job's OAuth options: nil without --oauth (and then
// the other flags are refused).
func (o oauthFlags) options() (*tasks.OAuth, error) {
	if !*o.on {
		if *o.redirect != "" || *o.referral != "" {
			return nil, exitError{2, errors.New("--oauth-redirect-url and --oauth-referral-source go with --oauth")}
		}
		return nil, nil
	}
	opts := &tasks.OAuth{ClientRedirectURL: *o.redirect, ReferralSource: strings.ToUpper(*o.referral)}
	if err := opts.Validate(); err != nil {
		return nil, exitError{2, err}
	}
	return opts, nil
}

// oauthHint tells where the end user authorizes an authorizing job, and
// how to get a fresh link. The URI is the end user's: shown to the job's
// owner here, never logged.
func oauthHint(j *store.View) string {
	return fmt.Sprintf("job %s waits for the end user to authorize MX at the institution (OAuth window %d):\n  open: %s\n  (one-time link; a fresh one: mxfleet oauth %s)\n",
		j.ID, j.OAuthWindows, j.OAuthWindowURI, shellWord(j.ID))
}

// oauthHintDue tells whether j shows a window not hinted yet.
func oauthHintDue(j *store.View, hinted int) bool {
	return j.State == store.StateAuthorizing && j.OAuthWindowURI != "" && j.OAuthWindows != hinted
}

const oauthHelp = `Usage: mxfleet oauth JOB_ID

Asks for a fresh OAuth window URI for a job waiting for the end user's
OAuth authorization (state authorizing): the last one was used, lost or is
about to expire. A worker asks MX; "mxfleet status JOB_ID" then shows the
new URI (the old one stops working). Needs only MXFLEET_REDIS_URL.

`

func cmdOAuth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, err := oneJob(flags("oauth", stderr, oauthHelp), args)
	if err != nil {
		return err
	}
	c, closeFn, _, err := producer(false)
	if err != nil {
		return err
	}
	defer closeFn()
	n, err := c.RequestOAuthWindow(ctx, id)
	if err != nil {
		return jobErr(id, err)
	}
	fmt.Fprintf(stdout, "OAuth window %d asked for job %s: mxfleet status %s shows its URI once a worker has it (or, when MX refuses it, why)\n", n, id, shellWord(id))
	return nil
}

// oneJob parses a command that takes one JOB_ID (and flags) and checks
// the id before anything is read.
func oneJob(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", exitError{2, errors.New("want one JOB_ID")}
	}
	if err := checkIDs(pos); err != nil {
		return "", err
	}
	return pos[0], nil
}
