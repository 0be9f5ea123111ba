package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
)

// The person is sealed in the record; it is opened with the result only,
// so a record without one reads without the keys (mxfleet status without
// MXFLEET_SECRET_KEYS), and writes that do not open it keep its sealed
// value as it was. With the result, the view scores the owners.
func TestPersonIsSealedAndScoredWithTheResult(t *testing.T) {
	r := testenv.NewRedis(t)
	keys := seal.Ephemeral()
	s := store.New(r.Client, keys)
	ctx := context.Background()
	p := &store.Person{Name: "Robert J. Smith", Email: "Bob.Smith@Example.com", Phone: "(555) 123-4567",
		Address: store.PersonAddress{Line1: "123 N Main St", Line2: "Apt 4", City: "Austin", State: "Texas", PostalCode: "78701"}}
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "k", Kind: store.KindIdentify, State: store.StatePending}, Person: p}); err != nil {
		t.Fatal(err)
	}
	raw := func() string { return r.Client.Get(ctx, "mxfleet:{store}:job:k").Val() }
	created := raw()
	for _, v := range []string{p.Name, p.Email, p.Phone, p.Address.Line1, "Austin", "78701"} {
		if strings.Contains(created, v) {
			t.Fatalf("the record holds %q in the clear: %s", v, created)
		}
	}
	other := store.New(r.Client, seal.Ephemeral())
	j, err := other.Get(ctx, "k")
	if err != nil || j.Person != nil || !j.View().PersonGiven || j.View().Match != nil {
		t.Fatalf("a pending record read with other keys: %+v %v", j, err)
	}
	if _, err := other.OpenPerson(j); !errors.Is(err, seal.ErrUnknownKey) && !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("other keys opened the person: %v", err)
	}
	if _, err := s.Update(ctx, "k", func(j *store.Job) error { j.State = store.StateRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	var before, after struct {
		P string `json:"person_sealed"`
	}
	_ = json.Unmarshal([]byte(created), &before)
	_ = json.Unmarshal([]byte(raw()), &after)
	if before.P == "" || after.P != before.P {
		t.Fatalf("an update that did not open the person changed it: %q → %q", before.P, after.P)
	}
	j, _ = s.Get(ctx, "k")
	if got, err := s.OpenPerson(j); err != nil || *got != *p {
		t.Fatalf("OpenPerson: %+v %v", got, err)
	}

	owners := []store.AccountOwner{
		{GUID: "ACO-1", AccountGUID: "ACT-1", OwnerName: "JANE SMITH", Address: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234"},
		{GUID: "ACO-2", AccountGUID: "ACT-2", FirstName: "Bob", LastName: "Smith", Address: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234", Phone: "555.123.4567"},
	}
	if _, err := s.Update(ctx, "k", func(j *store.Job) error {
		j.State, j.Result = store.StateSucceeded, &store.Result{AccountOwners: owners}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	j, err = s.Get(ctx, "k")
	if err != nil || j.Person == nil || *j.Person != *p {
		t.Fatalf("a record with a result: the person is not opened with it: %+v %v", j, err)
	}
	m := j.View().Match
	if m == nil || m.Verdict != match.Match || m.Score != 98 || m.Best != 1 || m.MatchThreshold != 85 || m.PartialThreshold != 50 ||
		m.Owners[1].OwnerGUID != "ACO-2" || m.Owners[1].Field(match.FieldName).Score != 95 || m.Owners[0].Verdict != match.Partial {
		t.Fatalf("match: %+v", m)
	}
	b, _ := json.Marshal(j.View())
	for _, v := range []string{p.Name, p.Email, p.Phone, p.Address.Line1, "Texas"} {
		if strings.Contains(string(b), v) {
			t.Fatalf("the view shows the person's %q: %s", v, b)
		}
	}
	// A write with the person open seals it again; it still opens.
	if _, err := s.Update(ctx, "k", func(j *store.Job) error { j.Polls++; return nil }); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Get(ctx, "k"); err != nil || j.Person == nil || *j.Person != *p {
		t.Fatalf("after a write: %+v %v", j, err)
	}
}

func TestMatchOwnersWithoutOwners(t *testing.T) {
	m := store.MatchOwners(&store.Person{Name: "Robert Smith"}, nil, match.DefaultThresholds)
	if m.Verdict != match.NoMatch || m.Score != 0 || m.Best != -1 || m.Owners == nil || len(m.Owners) != 0 {
		t.Fatalf("no owners: %+v", m)
	}
}

// A job's own thresholds are kept in its record (in the clear: they are
// no KYC data) and decide the verdicts its view shows, with them and the
// owners' flags.
func TestJobThresholdsDecideTheMatch(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	p := &store.Person{Name: "Robert J. Smith", Phone: "(555) 123-4567",
		Address: store.PersonAddress{Line1: "123 N Main St", Line2: "Apt 4", City: "Austin", State: "Texas", PostalCode: "78701"}}
	owners := []store.AccountOwner{
		{GUID: "ACO-1", AccountGUID: "ACT-1", OwnerName: "JANE SMITH", Address: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234"},
		{GUID: "ACO-2", AccountGUID: "ACT-2", FirstName: "Bob", LastName: "Smith", Address: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234", Phone: "555.123.4567"},
	}
	th := &match.Thresholds{Match: 99, Partial: 60}
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "th", Kind: store.KindIdentify, State: store.StateSucceeded},
		Person: p, Thresholds: th, Result: &store.Result{AccountOwners: owners}}); err != nil {
		t.Fatal(err)
	}
	if raw := r.Client.Get(ctx, "mxfleet:{store}:job:th").Val(); !strings.Contains(raw, `"thresholds":{"match":99,"partial":60}`) {
		t.Fatalf("record: %s", raw)
	}
	j, err := s.Get(ctx, "th")
	if err != nil {
		t.Fatal(err)
	}
	m := j.View().Match
	// Bob Smith scores 98 (a match under the defaults): partial under
	// 99/60. Jane Smith is partial under the defaults; under 99/60 her
	// name (50) is below 60, and the name caps the verdict: no_match.
	if m.Verdict != match.Partial || m.Score != 98 || m.Best != 1 || m.MatchThreshold != 99 || m.PartialThreshold != 60 {
		t.Fatalf("match: %+v", m)
	}
	bob, jane := m.Owners[1], m.Owners[0]
	if bob.MatchThreshold != 99 || bob.Field(match.FieldName).Verdict != match.Partial || jane.Verdict != match.NoMatch {
		t.Errorf("owners: %+v", m.Owners)
	}
	want := []match.Flags{{FirstOrLastNameMatch: true, PostalCodeMatch: true}, {NicknameMatch: true, PostalCodeMatch: true}}
	for i, o := range m.Owners {
		if o.Flags != want[i] {
			t.Errorf("owner %d flags %+v, want %+v", i, o.Flags, want[i])
		}
	}
	b, _ := json.Marshal(j.View())
	if !strings.Contains(string(b), `"flags":{"is_nickname_match":true,"is_first_name_or_last_name_match":false,"is_business_name_detected":false,"is_postal_code_match":true}`) {
		t.Errorf("view: %s", b)
	}
}
