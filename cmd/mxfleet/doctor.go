package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mxfleet/mxfleet/internal/doctor"
	"github.com/mxfleet/mxfleet/internal/fleet"
)

const doctorHelp = `Usage: mxfleet doctor [flags]

Proves a setup against the configured MX (MXFLEET_MX_BASE_URL,
MXFLEET_MX_CLIENT_ID, MXFLEET_MX_API_KEY, MXFLEET_MX_API_VERSION): runs what
a verify and an identify job do on one member of MX Bank (institution,
credential fields, user, member, status every 3 s until done, results),
prints every MX call with its HTTP status and latency, deletes the MX user it
made, and ends with one verdict and, when something failed, the fix. Needs no
Redis and no worker. Exit status: 0 OK, 1 failed, 2 bad flags.

`

func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("doctor", stderr, doctorHelp)
	inst := fs.String("institution", "mxbank", "institution code")
	creds := &pairs{flag: "credential"}
	fs.Var(creds, "credential", "credential NAME=VALUE by label, field name or guid (repeatable; default username=mxuser password=correct)")
	answer := fs.String("answer", "", "answer every MFA challenge with this (MX Bank: correct); empty: an MFA challenge ends the check")
	kinds := fs.String("kinds", "verify,identify", "jobs to run on the member, in order: verify, identify or both")
	poll := fs.Duration("poll", 3*time.Second, "time between status reads (MX asks for at least 3s)")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long each MX job may take")
	keep := fs.Bool("keep", false, "keep the MX user and member it creates (default: deleted)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}
	credMap, err := creds.Map()
	if err != nil {
		return err
	}
	var ks []string
	for k := range strings.SplitSeq(*kinds, ",") {
		switch k = strings.TrimSpace(k); k {
		case "verify", "identify":
			ks = append(ks, k)
		default:
			return exitError{2, fmt.Errorf("--kinds: %q is not verify or identify", k)}
		}
	}
	cfg, err := fleet.Load()
	if err != nil {
		return exitError{2, err}
	}
	if cfg.MXClientID == "" || cfg.MXAPIKey == "" {
		return exitError{2, errors.New("set MXFLEET_MX_CLIENT_ID and MXFLEET_MX_API_KEY (MX's client id and API key of the environment MXFLEET_MX_BASE_URL names)")}
	}
	res, err := doctor.Run(ctx, cfg, nil, doctor.Options{Institution: *inst, Credentials: credMap, Answer: *answer,
		Kinds: ks, Poll: *poll, JobTimeout: *timeout, Keep: *keep}, stdout)
	if err != nil {
		return exitError{2, err}
	}
	if !res.OK {
		return exitError{1, errors.New("")}
	}
	return nil
}
