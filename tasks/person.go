package tasks

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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
