package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// An identify job given the upstream's data about a person ends with the
// owners scored against it (real Redis, the simulator over HTTP, a real
// asynq worker): the simulator's first owner (Donnie Darko, 100 Main
// Street, Middlesex VA 00000-0000, 555-555-1000) matches the same person
// written otherwise, field by field, through a nickname (Donald / Donnie)
// and with the same ZIP code (the flags say so); a stranger is no_match;
// the job's own thresholds (99/60) make the same owner partial; the
// succeeded callback carries the match, thresholds and flags with the
// results, and the record in Redis holds the person sealed only.
func TestIdentifyScoresOwnersAgainstThePerson(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	events := map[string][]byte{} // job id → succeeded event body
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev tasks.Event
		if json.Unmarshal(b, &ev) == nil && ev.Type == "job.succeeded" {
			mu.Lock()
			events[ev.Job.ID] = b
			mu.Unlock()
		}
	}))
	defer rcv.Close()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.CallbackAllow, c.CallbackSecret = "127.0.0.1", "0123456789abcdef" })
	ctx := testenv.Context(t, time.Minute)

	type field struct {
		f     match.Field
		score int
	}
	for _, c := range []struct {
		scenario string
		verdict  match.Verdict
		best     []field // the best owner's field scores
		results  bool    // callback_results
		th       *tasks.Thresholds
		flags    match.Flags // the best owner's
	}{
		{"kyc_match", match.Match, []field{{match.FieldName, 95}, {match.FieldAddress, 100}, {match.FieldPhone, 100}, {match.FieldEmail, 100}}, true,
			nil, match.Flags{NicknameMatch: true, PostalCodeMatch: true}},
		{"kyc_no_match", match.NoMatch, []field{{match.FieldName, 0}, {match.FieldPhone, 0}, {match.FieldEmail, 0}}, false, nil, match.Flags{}},
		{"kyc_match", match.Partial, []field{{match.FieldName, 95}, {match.FieldAddress, 100}}, true,
			&tasks.Thresholds{Match: 99, Partial: 60}, match.Flags{NicknameMatch: true, PostalCodeMatch: true}},
	} {
		sc := testenv.Scenario(t, c.scenario)
		id := "person-" + c.scenario
		th := match.DefaultThresholds
		if c.th != nil {
			id, th = id+"-thresholds", *c.th
		}
		r := scenario.Request(sc, id, "user-"+id)
		r.CallbackURL, r.CallbackResults, r.Thresholds = rcv.URL, c.results, c.th
		v, err := f.Client.Identify(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !v.PersonGiven || v.Match != nil {
			t.Fatalf("%s: submitted view: person_given %v, match %+v", id, v.PersonGiven, v.Match)
		}
		j, err := f.Client.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := scenario.Check(sc, j); err != nil && c.th == nil {
			t.Fatalf("%s: %v", id, err)
		}
		m := j.Match
		if m == nil {
			t.Fatalf("%s: no match: %+v", id, j)
		}
		if m.Verdict != c.verdict || m.MatchThreshold != th.Match || m.PartialThreshold != th.Partial || len(m.Owners) != len(j.Result.AccountOwners) {
			t.Fatalf("%s: match %+v for %d owners", id, m, len(j.Result.AccountOwners))
		}
		if c.verdict == match.Match && (m.Best != 0 || m.Owners[0].OwnerGUID != j.Result.AccountOwners[0].GUID || m.Score < match.MatchThreshold) {
			t.Fatalf("%s: best owner %d (%s), score %d; want the first, Donnie Darko", id, m.Best, m.Owners[max(m.Best, 0)].OwnerGUID, m.Score)
		}
		best := m.Owners[m.Best]
		if best.MatchThreshold != th.Match || best.Flags != c.flags || (c.th != nil && (m.Best != 0 || best.Field(match.FieldName).Verdict != match.Partial)) {
			t.Errorf("%s: best owner %d: %+v, want flags %+v", id, m.Best, best, c.flags)
		}
		for _, want := range c.best {
			if got := best.Field(want.f); !got.Compared || got.Score != want.score {
				t.Errorf("%s: %s %+v, want score %d", id, want.f, got, want.score)
			}
		}
		for i, o := range m.Owners {
			if i != m.Best && o.Verdict != match.NoMatch {
				t.Errorf("%s: owner %d (another person) is %s", id, i, o.Verdict)
			}
		}
		raw, err := f.Redis.Client.Get(ctx, "mxfleet:{store}:job:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if c.th != nil && !strings.Contains(raw, `"thresholds":{"match":99,"partial":60}`) {
			t.Errorf("%s: the record does not keep the thresholds: %s", id, raw)
		}
		if !strings.Contains(raw, `"person_sealed":"mxs`) || strings.Contains(raw, sc.Person.Name) || strings.Contains(raw, sc.Person.Email) {
			t.Fatalf("%s: the record does not hold the person sealed only: %s", id, raw)
		}
		var body []byte
		testenv.Until(t, ctx, id+"'s succeeded event", func() error {
			mu.Lock()
			defer mu.Unlock()
			if body = events[id]; body == nil {
				return fmt.Errorf("%d events, none for %s", len(events), id)
			}
			return nil
		})
		var ev tasks.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("%s: no succeeded event: %v", id, err)
		}
		if c.results != (ev.Job.Match != nil) || c.results != (ev.Job.Result != nil) {
			t.Fatalf("%s: callback_results %v, event with result %v and match %v", id, c.results, ev.Job.Result != nil, ev.Job.Match != nil)
		}
		if em := ev.Job.Match; c.results && (em.Verdict != c.verdict || em.MatchThreshold != th.Match || em.PartialThreshold != th.Partial || em.Owners[em.Best].Flags != c.flags) {
			t.Fatalf("%s: event's match %+v", id, em)
		}
		if strings.Contains(string(body), sc.Person.Name) || strings.Contains(string(body), sc.Person.Email) {
			t.Fatalf("%s: the event shows the person back", id)
		}
	}
}

// The same id with another person or other thresholds is another
// request; a person on a verify job, an empty person, oversized values,
// thresholds that make no sense and thresholds without a person are
// refused before anything is stored.
func TestPersonRefusals(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	sc := testenv.Scenario(t, "kyc_match")
	r := scenario.Request(sc, "person-again", "user-person-again")
	if _, err := f.Client.Identify(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client.Identify(ctx, r); err != nil {
		t.Fatalf("the same request again: %v", err)
	}
	other := r
	p := *r.Person
	p.Phone = "555-555-9999"
	other.Person = &p
	if _, err := f.Client.Identify(ctx, other); err == nil || !strings.Contains(err.Error(), "person") || strings.Contains(err.Error(), p.Phone) {
		t.Fatalf("another person under the same id: %v", err)
	}
	higher := r
	higher.Thresholds = &tasks.Thresholds{Match: 90, Partial: 50}
	if _, err := f.Client.Identify(ctx, higher); err == nil || !strings.Contains(err.Error(), "other thresholds") {
		t.Fatalf("other thresholds under the same id: %v", err)
	}
	none := r
	none.Person = nil
	if _, err := f.Client.Identify(ctx, none); err == nil || !strings.Contains(err.Error(), "person") {
		t.Fatalf("no person under the same id: %v", err)
	}
	long := strings.Repeat("x", tasks.MaxPersonValue+1)
	for name, c := range map[string]struct {
		kind   store.Kind
		person *tasks.Person
		th     *tasks.Thresholds
		want   string
	}{
		"verify":                      {store.KindVerify, &tasks.Person{Name: "Donnie Darko"}, nil, "only identify jobs"},
		"empty":                       {store.KindIdentify, &tasks.Person{Address: tasks.PersonAddress{City: "  "}}, nil, "at least one"},
		"long":                        {store.KindIdentify, &tasks.Person{Name: "Donnie Darko", Address: tasks.PersonAddress{Line1: long}}, nil, "address.line1 is 257 bytes"},
		"control":                     {store.KindIdentify, &tasks.Person{Email: "donnie@example.com\r\nBcc: x"}, nil, "email holds a control character"},
		"not utf-8":                   {store.KindIdentify, &tasks.Person{Phone: "555\xff"}, nil, "phone is not valid UTF-8"},
		"thresholds":                  {store.KindIdentify, &tasks.Person{Name: "Donnie Darko"}, &tasks.Thresholds{Match: 50, Partial: 80}, "thresholds: the partial threshold (80)"},
		"thresholds without a person": {store.KindIdentify, nil, &tasks.Thresholds{Match: 90, Partial: 50}, "give the person too"},
	} {
		id := "refused-" + strings.ReplaceAll(name, " ", "-")
		r := scenario.Request(sc, id, "user-"+id)
		r.Person, r.Thresholds = c.person, c.th
		_, _, err := f.Client.Submit(ctx, c.kind, r)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Darko") {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
		if _, err := f.Client.Status(ctx, id); err == nil {
			t.Errorf("%s: a refused job was stored", name)
		}
	}
}
