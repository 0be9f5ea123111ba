package store

import (
	"encoding/json"
	"fmt"

	"github.com/mxfleet/mxfleet/match"
)

// Person is the upstream's data about the person an identify job is for
// (its KYC data): the account owners MX returns are matched against it
// (package match). Empty values are absent. It is a secret like the
// credentials: the record keeps it sealed (Job.SealedPerson), it is never
// in a task payload, never logged and never shown back; a job's view shows
// only the scores (View.Match).
type Person struct {
	Name    string        `json:"name,omitempty"`
	Address PersonAddress `json:"address,omitzero"`
	Email   string        `json:"email,omitempty"`
	Phone   string        `json:"phone,omitempty"`
}

// PersonAddress is a Person's postal address.
type PersonAddress struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// matchPerson is p as package match reads it.
func (p *Person) matchPerson() match.Person {
	a := p.Address
	return match.Person{Name: p.Name, Phone: p.Phone, Email: p.Email,
		Address: match.Address{Street: a.Line1, Street2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}}
}

// ownerPerson is an MX account owner as package match reads it (its doc
// gives the mapping): the owner name, else first and last name.
func ownerPerson(o AccountOwner) match.Person {
	name := o.OwnerName
	if name == "" {
		name = o.FirstName + " " + o.LastName
	}
	return match.Person{Name: name, Phone: o.Phone, Email: o.Email,
		Address: match.Address{Street: o.Address, City: o.City, State: o.State, PostalCode: o.PostalCode, Country: o.Country}}
}

// Match is how well the account owners of an identify job agree with the
// person the job was given (package match's algorithm; docs/jobs.md,
// "Owner matching"). It holds scores, weights, verdicts and field names,
// never a value of either side. It is computed whenever the job is read
// (never stored), so the record keeps only the sealed person and the sealed
// result.
type Match struct {
	// Verdict and Score are the best owner's (Owners[Best]): match when
	// Score ≥ MatchThreshold and the name matches too, partial when ≥
	// PartialThreshold, no_match below (or when no owner was returned).
	// The thresholds are the job's (Job.Thresholds), else the defaults.
	Verdict          match.Verdict `json:"verdict"`
	Score            int           `json:"score"`
	MatchThreshold   int           `json:"match_threshold"`
	PartialThreshold int           `json:"partial_threshold"`
	// Best is the index in Owners (and in the result's account_owners) of
	// the best owner; -1 when there is none.
	Best   int          `json:"best"`
	Owners []OwnerMatch `json:"owners"`
}

// OwnerMatch is one account owner's comparison, in the result's order:
// the owner's and its account's guids, then match.Result's fields (score,
// verdict, thresholds, per-field scores, not_compared, flags).
type OwnerMatch struct {
	OwnerGUID   string `json:"owner_guid"`
	AccountGUID string `json:"account_guid"`
	match.Result
}

// MatchOwners compares the person with each owner under the thresholds t
// (t.CompareAll).
func MatchOwners(p *Person, owners []AccountOwner, t match.Thresholds) *Match {
	ps := make([]match.Person, len(owners))
	for i, o := range owners {
		ps[i] = ownerPerson(o)
	}
	out := t.CompareAll(p.matchPerson(), ps)
	m := &Match{Verdict: match.NoMatch, MatchThreshold: t.Match, PartialThreshold: t.Partial,
		Best: out.Best, Owners: make([]OwnerMatch, len(owners))}
	for i, r := range out.Owners {
		m.Owners[i] = OwnerMatch{OwnerGUID: owners[i].GUID, AccountGUID: owners[i].AccountGUID, Result: r}
	}
	if best, ok := out.BestResult(); ok {
		m.Verdict, m.Score = best.Verdict, best.Score
	}
	return m
}

// match is the job's owner match: nil unless the job was given a person
// and succeeded with a result (decode opens the person with the result).
// A job that failed no_results keeps an empty result: nothing to score.
func (j *Job) match() *Match {
	if j.Person == nil || j.Result == nil || j.State != StateSucceeded {
		return nil
	}
	t := match.DefaultThresholds
	if j.Thresholds != nil {
		t = *j.Thresholds
	}
	return MatchOwners(j.Person, j.Result.AccountOwners, t)
}

func personContext(id string) string { return "job/" + id + "/person" }

// sealPerson seals j's person into SealedPerson when it is open; a record
// read without opening it keeps its sealed value as it was.
func (s *Store) sealPerson(j *Job) error {
	if j.Person == nil {
		return nil
	}
	b, err := json.Marshal(j.Person)
	if err != nil {
		return err
	}
	j.SealedPerson = s.keys.Seal(personContext(j.ID), string(b))
	return nil
}

// OpenPerson returns the person a job was given, nil when it was given
// none. The keys must open it (seal's errors otherwise).
func (s *Store) OpenPerson(j *Job) (*Person, error) {
	if j.Person != nil || j.SealedPerson == "" {
		return j.Person, nil
	}
	plain, err := s.keys.Open(personContext(j.ID), j.SealedPerson)
	if err != nil {
		return nil, fmt.Errorf("store: job %s: person: %w", j.ID, err)
	}
	p := new(Person)
	if err := json.Unmarshal([]byte(plain), p); err != nil {
		return nil, fmt.Errorf("store: job %s: decode person: %w", j.ID, err)
	}
	return p, nil
}
