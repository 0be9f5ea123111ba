// Command mxfleet runs the MX verification and identification fleet: the
// worker, the producer commands, the MX simulator and an embedded demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mxfleet runs MX Platform API verify and identify jobs on asynq.

Usage:
  mxfleet worker                      run a worker (configured by MXFLEET_* variables; --help lists them)
  mxfleet api                         serve the HTTP API (MXFLEET_API_ADDR)
  mxfleet verify   [flags]            enqueue a verification job (account and routing numbers)
  mxfleet identify [flags]            enqueue an identification job (account owners)
  mxfleet microdeposit [flags]        enqueue a micro-deposit job (account and routing numbers verified by two deposits)
  mxfleet answer JOB_ID --challenge GUID=VALUE ... | --amounts A,B
                                      answer the MFA challenges, or the micro-deposit amounts, of a parked job
  mxfleet oauth JOB_ID                ask for a fresh OAuth window URI for a job waiting for the end user
  mxfleet status JOB_ID [--json]      show a job
  mxfleet wait JOB_ID... [--timeout D]
                                      wait until every job has ended (exit 1 on timeout)
  mxfleet purge JOB_ID...             delete everything stored for a job
  mxfleet keygen [--id ID]            print a new MXFLEET_SECRET_KEYS key
  mxfleet institutions NAME | --code CODE
                                      search MX's institutions, or show one with its credential fields
  mxfleet doctor [flags]              prove the MX settings: run a verify and an identify on MX Bank, call by call
  mxfleet sim [--addr 127.0.0.1:8089] run the MX simulator
  mxfleet demo                        run the whole fleet in one process on embedded defaults

Run "mxfleet COMMAND --help" for a command's flags.
`

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code := report(err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// report prints err ("mxfleet: …", unless it says nothing or is a --help)
// and returns the exit status: 0 for none or --help, an exitError's code,
// else 1.
func report(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var down redisDown
	switch {
	case errors.As(err, &down):
		// in the command's words, not the layers' it went through
		fmt.Fprintln(stderr, "mxfleet:", down)
	case err.Error() != "":
		fmt.Fprintln(stderr, "mxfleet:", err)
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2, errors.New("")}
	}
	cmd, rest := args[0], args[1:]
	quietRedisLog(stderr)
	switch cmd {
	case "worker":
		return cmdWorker(ctx, rest, stdout, stderr)
	case "api":
		return cmdAPI(ctx, rest, stdout, stderr)
	case "verify", "identify":
		return cmdSubmit(ctx, cmd, rest, stdout, stderr)
	case "microdeposit":
		return cmdMicrodeposit(ctx, rest, stdout, stderr)
	case "answer":
		return cmdAnswer(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "oauth":
		return cmdOAuth(ctx, rest, stdout, stderr)
	case "wait":
		return cmdWait(ctx, rest, stdout, stderr)
	case "purge":
		return cmdPurge(ctx, rest, stdout, stderr)
	case "keygen":
		return cmdKeygen(rest, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, rest, stdout, stderr)
	case "institutions":
		return cmdInstitutions(ctx, rest, stdout, stderr)
	case "sim":
		return cmdSim(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return exitError{2, fmt.Errorf("unknown command %q", cmd)}
}

// flags returns a FlagSet that reports errors instead of exiting.
func flags(name string, stderr io.Writer, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, letting positional arguments and flags mix.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{2, err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
