package tasks

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
)

// Person is the upstream's data about the person an identify job is for
// (legal name, postal address, email, phone): the worker's results then
// carry, per account owner and per field, a match score and an overall
// verdict (store.View.Match; package match documents the algorithm). It is
// sealed in the job record like the results, never put in a task payload,
// never logged and never shown back.
type (
	Person        = store.Person
	PersonAddress = store.PersonAddress
)

// MaxPersonValue bounds each value of a Person, in bytes (package match
// reads no more of a value).
const MaxPersonValue = 256

// ErrPersonOnVerify: a person was given for a verify job, which reads
// account numbers and has no owners to match.
var ErrPersonOnVerify = errors.New("person: only identify jobs match account owners against a person; a verify job reads account numbers")

// ValidatePerson checks the person of a job of kind k (nil: none given):
// identify jobs only, at least one value, each valid UTF-8 of at most
// MaxPersonValue bytes without control characters. Errors name the field,
// never its value.
func ValidatePerson(k store.Kind, p *Person) error {
	if p == nil {
		return nil
	}
	if k != store.KindIdentify {
		return ErrPersonOnVerify
	}
	given := 0
	for _, f := range personFields(p) {
		if strings.TrimSpace(f.value) == "" {
			continue
		}
		given++
		switch {
		case len(f.value) > MaxPersonValue:
			return fmt.Errorf("person: %s is %d bytes, at most %d", f.name, len(f.value), MaxPersonValue)
		case !utf8.ValidString(f.value):
			return fmt.Errorf("person: %s is not valid UTF-8", f.name)
		case strings.ContainsFunc(f.value, unicode.IsControl):
			return fmt.Errorf("person: %s holds a control character", f.name)
		}
	}
	if given == 0 {
		return errors.New("person: give at least one of name, address, email and phone")
	}
	return nil
}

// Thresholds are the verdict thresholds of an identify job's owner match
// (match.Thresholds: match, partial); a job given none has
// match.DefaultThresholds (85, 50). They are shown with the verdict
// (View.Match) and kept in the job record in the clear: no KYC data.
type Thresholds = match.Thresholds

// ValidateThresholds checks the thresholds t of a job of kind k given the
// person p (nil t: none given, the defaults): an identify job with a
// person only (without one there is no owner match to decide), and
// 1 ≤ partial ≤ match ≤ 100.
func ValidateThresholds(k store.Kind, p *Person, t *Thresholds) error {
	switch {
	case t == nil:
		return nil
	case k != store.KindIdentify:
		return errors.New("thresholds: only identify jobs given a person have an owner match to decide")
	case p == nil:
		return errors.New("thresholds: give the person too: the thresholds decide the verdict of the owners' match against it")
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("thresholds: %w", err)
	}
	return nil
}

// ThresholdsOf are the thresholds given value by value (nil: left out):
// nil when neither is given, else the default fills the one left out.
func ThresholdsOf(matchAt, partialAt *int) *Thresholds {
	if matchAt == nil && partialAt == nil {
		return nil
	}
	t := match.DefaultThresholds
	if matchAt != nil {
		t.Match = *matchAt
	}
	if partialAt != nil {
		t.Partial = *partialAt
	}
	return &t
}

// jobThresholds is what the record keeps of thresholds given: nil for
// none or the defaults, so that both submit the same job.
func jobThresholds(t *Thresholds) *Thresholds {
	if t == nil || *t == match.DefaultThresholds {
		return nil
	}
	c := *t
	return &c
}

type personField struct{ name, value string }

func personFields(p *Person) []personField {
	a := p.Address
	return []personField{{"name", p.Name}, {"email", p.Email}, {"phone", p.Phone},
		{"address.line1", a.Line1}, {"address.line2", a.Line2}, {"address.city", a.City},
		{"address.state", a.State}, {"address.postal_code", a.PostalCode}, {"address.country", a.Country}}
}

// personDiffers tells whether the person of a job submitted again (given)
// differs from the one the record keeps (sealed), opening it with the
// client's keys.
func (c *Client) personDiffers(j *store.Job, given *Person) (bool, error) {
	had, err := c.store.OpenPerson(j)
	if err != nil {
		return false, err
	}
	if had == nil || given == nil {
		return (had == nil) != (given == nil), nil
	}
	return *had != *given, nil
}
