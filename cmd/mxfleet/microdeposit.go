package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/tasks"
)

const microdepositHelp = `Usage: mxfleet microdeposit [flags]

Enqueues a micro-deposit job and prints its id: MX makes two small deposits
into the account (a day or more); the job then waits for the two amounts,
which the end user reads on the account:

  mxfleet answer JOB_ID --amounts 0.07,0.15

MX allows 3 pairs; a wrong pair leaves the job waiting for another. The job
ends succeeded with the verified account and routing numbers, or failed with
a code (microdeposit_prevented, microdeposit_expired, microdeposit_errored,
...). The user is --user-guid, or --user-id (a partner id, created at MX when
missing). --account-number and --routing-number (nine digits, ABA checksum)
are required; --account-type is CHECKING (the default) or SAVINGS. Account
numbers given on a
command line are visible to other local users in the process list; prefer the
producer library or the HTTP API for real ones. Reads MXFLEET_REDIS_URL and
MXFLEET_SECRET_KEYS (the account is sealed with it).

`

func cmdMicrodeposit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("microdeposit", stderr, microdepositHelp)
	id := fs.String("job-id", "", "job id (default: generated); the same id and request again returns the existing job, another request with it is refused")
	userID := fs.String("user-id", "", "partner user id")
	userGUID := fs.String("user-guid", "", "MX user guid")
	var a tasks.Account
	fs.StringVar(&a.AccountNumber, "account-number", "", "account number (digits)")
	fs.StringVar(&a.RoutingNumber, "routing-number", "", "ABA routing number (9 digits)")
	fs.StringVar(&a.AccountType, "account-type", "CHECKING", "CHECKING or SAVINGS")
	fs.StringVar(&a.FirstName, "first-name", "", "account holder's first name")
	fs.StringVar(&a.LastName, "last-name", "", "account holder's last name")
	fs.StringVar(&a.Email, "email", "", "account holder's email")
	wait := fs.Bool("wait", false, "follow the job with a live progress line until it ends (days: MX deposits take a business day or more)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	a.AccountType = strings.ToUpper(a.AccountType)
	req := tasks.MicrodepositRequest{ID: *id, User: tasks.User{ID: *userID, GUID: *userGUID}, Account: a}
	if _, err := tasks.NewMicrodepositTask(seal.Ephemeral(), tasks.MicrodepositJob{JobID: "job_0", User: req.User, Account: a}); err != nil {
		return exitError{2, err} // before any Redis or key setting: the request itself is refused
	}
	c, closeFn, _, err := producer(true)
	if err != nil {
		return err
	}
	defer closeFn()
	j, _, err := c.Microdeposit(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, j.ID)
	if !*wait {
		return nil
	}
	return followToEnd(ctx, c, j.ID, stdout, stderr)
}

// amountsAnswers reads --amounts A,B into the answers of the two amount
// challenges.
func amountsAnswers(s string) (map[string]string, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok || strings.Contains(b, ",") {
		return nil, exitError{2, errors.New("--amounts wants the two amounts in dollars, such as 0.07,0.15")}
	}
	return tasks.Amounts(strings.TrimSpace(a), strings.TrimSpace(b)), nil
}
