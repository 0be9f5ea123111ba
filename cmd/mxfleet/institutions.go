package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/mx"
)

const institutionsHelp = `Usage: mxfleet institutions NAME [--page N] [--json]
       mxfleet institutions --code CODE [--json]

Searches MX's institutions by name or url (a page of 25), or shows one
institution with the credential fields to ask the end user for: whether it
supports verification and identification and whether it uses OAuth (the end
user authorizes at the bank; no credentials). Answers are cached in the
fleet's Redis for MXFLEET_INSTITUTION_CACHE_TTL, shared with every pod and
the API; without Redis they come from MX. Needs MXFLEET_MX_CLIENT_ID and
MXFLEET_MX_API_KEY.

Flags:
`

func cmdInstitutions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("institutions", stderr, institutionsHelp)
	code := fs.String("code", "", "show the institution with this code and its credential fields")
	page := fs.Int("page", 1, "page of the search (1-based)")
	asJSON := fs.Bool("json", false, "print JSON (the API's shape)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *code == "" && len(pos) == 0, *code != "" && len(pos) > 0:
		fs.Usage()
		return exitError{2, errors.New("give a NAME to search for, or --code CODE")}
	case *page < 1:
		return exitError{2, errors.New("--page must be at least 1")}
	}
	cfg, err := fleet.Load()
	if err != nil {
		return err
	}
	if cfg.MXClientID == "" || cfg.MXAPIKey == "" {
		return errors.New("institutions come from MX: set MXFLEET_MX_CLIENT_ID and MXFLEET_MX_API_KEY (MXFLEET_MX_BASE_URL picks the environment)")
	}
	mxc, err := cfg.MXClient(nil)
	if err != nil {
		return err
	}
	rdb, err := openRedis(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	d := cfg.Institutions(mxc, rdb, zerolog.Nop())
	if *code != "" {
		in, _, err := d.Get(ctx, *code)
		if err != nil {
			return institutionErr(*code, err)
		}
		if *asJSON {
			return printJSON(stdout, in)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "code\t%s\nname\t%s\nurl\t%s\nverification\t%s\nidentification\t%s\noauth\t%s\n",
			in.Code, in.Name, in.URL, yes(in.SupportsVerification), yes(in.SupportsIdentification), yes(in.SupportsOAuth))
		if in.SupportsOAuth && len(in.Credentials) == 0 {
			fmt.Fprintln(tw, "credentials\tnone: the end user authorizes at the bank (OAuth)")
		}
		tw.Flush()
		if len(in.Credentials) > 0 {
			fmt.Fprintln(stdout, "\ncredential fields (any of field name, label or guid names one in --credential):")
			tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FIELD NAME\tLABEL\tTYPE\tGUID")
			for _, f := range in.Credentials {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.FieldName, f.Label, f.Type, f.GUID)
			}
			tw.Flush()
		}
		return nil
	}
	p, _, err := d.Search(ctx, strings.Join(pos, " "), *page)
	if err != nil {
		return institutionErr("", err)
	}
	if *asJSON {
		return printJSON(stdout, p)
	}
	if len(p.Institutions) == 0 {
		fmt.Fprintf(stdout, "no institution matches %q\n", strings.Join(pos, " "))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tVERIFY\tIDENTIFY\tOAUTH")
	for _, in := range p.Institutions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Code, in.Name, yes(in.SupportsVerification), yes(in.SupportsIdentification), yes(in.SupportsOAuth))
	}
	tw.Flush()
	if p.TotalPages > p.Page {
		fmt.Fprintf(stdout, "page %d of %d (%d institutions): --page %d for more\n", p.Page, p.TotalPages, p.TotalEntries, p.Page+1)
	}
	return nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// institutionErr says what went wrong in plain words.
func institutionErr(code string, err error) error {
	var me *mx.Error
	switch {
	case errors.Is(err, institutions.ErrBadCode), errors.Is(err, institutions.ErrEmptySearch):
		return exitError{2, errors.New(strings.TrimPrefix(err.Error(), "institutions: "))}
	case errors.As(err, &me) && me.StatusCode == 404 && code != "":
		return fmt.Errorf("MX knows no institution %q (search by name: mxfleet institutions NAME)", code)
	}
	return err
}
