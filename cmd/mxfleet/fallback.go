package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const fallbackHelp = `A verify job may name an account to fall back to, verified by micro-deposits
should MX say the institution does not support instant verification (the job
would otherwise fail unsupported): --fallback-account-number and
--fallback-routing-number (nine digits, ABA checksum), --fallback-account-type
CHECKING (the default) or SAVINGS, and optionally the holder's
--fallback-first-name, --fallback-last-name, --fallback-email. Checked and
sealed as "mxfleet microdeposit" does; the job then shows "via microdeposit"
and waits for the two amounts (mxfleet answer JOB_ID --amounts A,B).
`

type fallbackFlags struct{ a tasks.Account }

// addFallbackFlags adds the --fallback-* flags (microdeposit's account
// flags, prefixed).
func addFallbackFlags(fs interface {
	StringVar(*string, string, string, string)
}) *fallbackFlags {
	f := &fallbackFlags{}
	fs.StringVar(&f.a.AccountNumber, "fallback-account-number", "", "verify: account number (digits) to verify by micro-deposits should MX not verify instantly")
	fs.StringVar(&f.a.RoutingNumber, "fallback-routing-number", "", "verify: its ABA routing number (9 digits)")
	fs.StringVar(&f.a.AccountType, "fallback-account-type", "", "verify: CHECKING (the default) or SAVINGS")
	fs.StringVar(&f.a.FirstName, "fallback-first-name", "", "verify: account holder's first name")
	fs.StringVar(&f.a.LastName, "fallback-last-name", "", "verify: account holder's last name")
	fs.StringVar(&f.a.Email, "fallback-email", "", "verify: account holder's email")
	return f
}

// account is the fallback account: nil when no --fallback-* flag was
// given; refused (exit 2) on identify and --follow jobs and when it is
// not an account a micro-deposit can go to.
func (f *fallbackFlags) account(kind string, follow bool) (*tasks.Account, error) {
	if f.a == (tasks.Account{}) {
		return nil, nil
	}
	switch {
	case kind != "verify":
		return nil, exitError{2, errors.New("--fallback-* flags go with verify jobs only: an identify job needs the member's owners")}
	case follow:
		return nil, exitError{2, errors.New("--fallback-* flags do not go with --follow: following starts no MX job, so MX never says the institution cannot verify")}
	}
	a := f.a
	if a.AccountType == "" {
		a.AccountType = "CHECKING"
	}
	a.AccountType = strings.ToUpper(a.AccountType)
	if err := tasks.ValidateAccount(a); err != nil {
		return nil, exitError{2, errors.New("--fallback-" + strings.ReplaceAll(strings.TrimPrefix(err.Error(), "account: "), "_", "-"))}
	}
	return &a, nil
}

// printFallback tells, in printJob, a verify job's fallback: asked, or
// taken (the member line then shows the micro-deposit's guid).
func printFallback(w io.Writer, j *store.View) {
	switch {
	case j.Via != "":
		fmt.Fprintf(w, "via        %s: MX does not support instant verification on member %s; the member line is the micro-deposit\n", j.Via, orDash(j.InstantMemberGUID))
	case j.Fallback != "":
		fmt.Fprintf(w, "fallback   %s, should MX not support instant verification at the institution\n", j.Fallback)
	}
}
