package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mxfleet/mxfleet/internal/strictjson"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const personHelp = `An identify job may carry the upstream's data about the person (KYC):
--person FILE reads it as JSON ({"name":…, "address":{"line1","line2","city","state",
"postal_code","country"}, "email":…, "phone":…}; - reads standard input), or the
--person-* flags give it value by value. The result then scores every account owner
against it, field by field, with a verdict and flags (mxfleet status). The person is
sealed like the credentials and never shown back. --match-threshold and
--partial-threshold set the job's verdict thresholds (1 ≤ partial ≤ match ≤ 100).
`

// personFlags are the submit commands' flags for the person of an
// identify job: a JSON file, or one flag per value.
type personFlags struct {
	file           string
	values         map[string]*string // flag name → value
	stdin          io.Reader
	match, partial *int // the thresholds given, nil for none
}

// personValueFlags: flag name → the value's place in a Person.
var personValueFlags = []struct {
	name, help string
	field      func(*tasks.Person) *string
}{
	{"person-name", "the person's legal name (identify)", func(p *tasks.Person) *string { return &p.Name }},
	{"person-line1", "the person's street line: number, street, unit", func(p *tasks.Person) *string { return &p.Address.Line1 }},
	{"person-line2", "the person's second street line", func(p *tasks.Person) *string { return &p.Address.Line2 }},
	{"person-city", "the person's city", func(p *tasks.Person) *string { return &p.Address.City }},
	{"person-state", "the person's state", func(p *tasks.Person) *string { return &p.Address.State }},
	{"person-postal-code", "the person's ZIP or postal code", func(p *tasks.Person) *string { return &p.Address.PostalCode }},
	{"person-country", "the person's country", func(p *tasks.Person) *string { return &p.Address.Country }},
	{"person-email", "the person's email", func(p *tasks.Person) *string { return &p.Email }},
	{"person-phone", "the person's phone", func(p *tasks.Person) *string { return &p.Phone }},
}

func addPersonFlags(fs *flag.FlagSet, stdin io.Reader) *personFlags {
	pf := &personFlags{values: map[string]*string{}, stdin: stdin}
	fs.StringVar(&pf.file, "person", "", "identify: JSON `FILE` with the person's data to match the owners against (- for standard input)")
	for _, f := range personValueFlags {
		pf.values[f.name] = fs.String(f.name, "", f.help)
	}
	threshold := func(p **int) func(string) error {
		return func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil {
				return errors.New("want a whole number from 1 to 100")
			}
			*p = &n
			return nil
		}
	}
	fs.Func("match-threshold", fmt.Sprintf("identify with a person: `N`, a score at or above it is a match (default %d)", match.MatchThreshold), threshold(&pf.match))
	fs.Func("partial-threshold", fmt.Sprintf("identify with a person: `N`, a score at or above it is partial (default %d)", match.PartialThreshold), threshold(&pf.partial))
	return pf
}

// thresholds returns the thresholds given (nil: none), the default filling
// the one left out, checked for a job of kind k given person p.
func (pf *personFlags) thresholds(k store.Kind, p *tasks.Person) (*tasks.Thresholds, error) {
	t := tasks.ThresholdsOf(pf.match, pf.partial)
	if err := tasks.ValidateThresholds(k, p, t); err != nil {
		return nil, exitError{2, err}
	}
	return t, nil
}

// person returns the person given (nil: none), checked for a job of kind
// k. Errors name flags and fields, never values.
func (pf *personFlags) person(k store.Kind) (*tasks.Person, error) {
	var p *tasks.Person
	given := false
	for _, f := range personValueFlags {
		if *pf.values[f.name] != "" {
			given = true
		}
	}
	switch {
	case pf.file != "" && given:
		return nil, exitError{2, errors.New("give --person FILE or the --person-* flags, not both")}
	case pf.file != "":
		var err error
		if p, err = pf.read(); err != nil {
			return nil, exitError{2, err}
		}
	case given:
		p = new(tasks.Person)
		for _, f := range personValueFlags {
			*f.field(p) = *pf.values[f.name]
		}
	}
	if err := tasks.ValidatePerson(k, p); err != nil {
		return nil, exitError{2, err}
	}
	return p, nil
}

// read reads the person's JSON file strictly, quoting none of it.
func (pf *personFlags) read() (*tasks.Person, error) {
	var r io.Reader = pf.stdin
	if pf.file != "-" {
		f, err := os.Open(pf.file)
		if err != nil {
			return nil, fmt.Errorf("--person: %w", err)
		}
		defer f.Close()
		r = f
	}
	var p tasks.Person
	err := strictjson.Decode(io.LimitReader(r, 64<<10), &p)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var unknown *strictjson.UnknownFieldError
	switch {
	case err == nil:
		return &p, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("--person %s: malformed JSON: it ends early", pf.file)
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("--person %s: empty", pf.file)
	case errors.As(err, &syn):
		return nil, fmt.Errorf("--person %s: malformed JSON at offset %d", pf.file, syn.Offset)
	case errors.As(err, &typ):
		return nil, fmt.Errorf("--person %s: field %q must be %s", pf.file, typ.Field, typ.Type)
	case errors.As(err, &unknown):
		return nil, fmt.Errorf("--person %s: %s (fields: name, address.line1, line2, city, state, postal_code, country, email, phone)", pf.file, unknown.Error())
	}
	return nil, fmt.Errorf("--person %s: not a JSON object", pf.file)
}

var lacks = map[match.Side]string{match.SideUpstream: "the person lacks it", match.SideOwner: "the owner lacks it", match.SideBoth: "nothing in common to compare"}

// printMatch prints the owner match of a job given a person: the verdict
// with the thresholds, then each owner's score and its fields' scores.
func printMatch(w io.Writer, j *store.View) {
	m := j.Match
	if m == nil {
		switch {
		case j.PersonGiven && j.State.Terminal():
			fmt.Fprintf(w, "person     given (sealed); no owners were scored: the job has no result\n")
		case j.PersonGiven:
			fmt.Fprintf(w, "person     given (sealed); the owners are scored against it once the job succeeds\n")
		}
		return
	}
	fmt.Fprintf(w, "match      %s  score %d  (match ≥ %d and name matches, partial ≥ %d)\n", m.Verdict, m.Score, m.MatchThreshold, m.PartialThreshold)
	for i, o := range m.Owners {
		best := ""
		if i == m.Best {
			best = "  best"
		}
		fields := make([]string, 0, len(o.Fields))
		for _, f := range o.Fields {
			s := strconv.Itoa(f.Score)
			if !f.Compared {
				s = "- (" + lacks[f.Missing] + ")"
			}
			fields = append(fields, string(f.Field)+" "+s)
		}
		fmt.Fprintf(w, "  owner    %s  %s %d: %s%s\n", o.AccountGUID, o.Verdict, o.Score, strings.Join(fields, ", "), best)
		if f := flagNames(o.Flags); len(f) > 0 {
			fmt.Fprintf(w, "           %s\n", strings.Join(f, ", "))
		}
	}
	if len(m.Owners) == 0 {
		fmt.Fprintf(w, "  (no owner: %s)\n", match.NoMatch)
	}
}

// flagNames are the flags set, as the JSON names them.
func flagNames(f match.Flags) []string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{f.NicknameMatch, "is_nickname_match"}, {f.FirstOrLastNameMatch, "is_first_name_or_last_name_match"},
		{f.BusinessNameDetected, "is_business_name_detected"}, {f.PostalCodeMatch, "is_postal_code_match"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}
