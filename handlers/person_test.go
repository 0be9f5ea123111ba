package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/testenv"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// An identify job given the upstream's data about a person ends with the
// owners scored against it (real Redis, the simulator over HTTP, a real
// asynq worker): the simulator's first owner (Donnie Darko, 100 Main
// Street, Middlesex VA 00000-0000, 555-555-1000) matches the same person
// written otherwise, field by field; a stranger is no_match; the succeeded
// callback carries the match with the results, and the record in Redis
// holds the person sealed only.
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
	}{
		{"kyc_match", match.Match, []field{{match.FieldName, 95}, {match.FieldAddress, 100}, {match.FieldPhone, 100}, {match.FieldEmail, 100}}, true},
		{"kyc_no_match", match.NoMatch, []field{{match.FieldName, 0}, {match.FieldPhone, 0}, {match.FieldEmail, 0}}, false},
	} {
		sc := testenv.Scenario(t, c.scenario)
		id := "person-" + c.scenario
		r := scenario.Request(sc, id, "user-"+id)
		r.CallbackURL, r.CallbackResults = rcv.URL, c.results
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
		if err := scenario.Check(sc, j); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		m := j.Match
		if m.MatchThreshold != match.MatchThreshold || m.PartialThreshold != match.PartialThreshold || len(m.Owners) != len(j.Result.AccountOwners) {
			t.Fatalf("%s: match %+v for %d owners", id, m, len(j.Result.AccountOwners))
		}
		if c.verdict == match.Match && (m.Best != 0 || m.Owners[0].OwnerGUID != j.Result.AccountOwners[0].GUID || m.Score < match.MatchThreshold) {
			t.Fatalf("%s: best owner %d (%s), score %d; want the first, Donnie Darko", id, m.Best, m.Owners[max(m.Best, 0)].OwnerGUID, m.Score)
		}
		best := m.Owners[m.Best]
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
		if !strings.Contains(raw, `"person_sealed":"mxs`) || strings.Contains(raw, sc.Person.Name) || strings.Contains(raw, sc.Person.Email) {
			t.Fatalf("%s: the record does not hold the person sealed only: %s", id, raw)
		}
		var body []byte
		for body == nil && ctx.Err() == nil {
			mu.Lock()
			body = events[id]
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		var ev tasks.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("%s: no succeeded event: %v", id, err)
		}
		if c.results != (ev.Job.Match != nil) || c.results != (ev.Job.Result != nil) {
			t.Fatalf("%s: callback_results %v, event with result %v and match %v", id, c.results, ev.Job.Result != nil, ev.Job.Match != nil)
		}
		if c.results && ev.Job.Match.Verdict != c.verdict {
			t.Fatalf("%s: event's verdict %s", id, ev.Job.Match.Verdict)
		}
		if strings.Contains(string(body), sc.Person.Name) || strings.Contains(string(body), sc.Person.Email) {
			t.Fatalf("%s: the event shows the person back", id)
		}
	}
}

// The same id with another person is another request; a person on a
// verify job, an empty person and oversized values are refused before
// anything is stored.
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
	none := r
	none.Person = nil
	if _, err := f.Client.Identify(ctx, none); err == nil || !strings.Contains(err.Error(), "person") {
		t.Fatalf("no person under the same id: %v", err)
	}
	long := strings.Repeat("x", tasks.MaxPersonValue+1)
	for name, c := range map[string]struct {
		kind   store.Kind
		person *tasks.Person
		want   string
	}{
		"verify":    {store.KindVerify, &tasks.Person{Name: "Donnie Darko"}, "only identify jobs"},
		"empty":     {store.KindIdentify, &tasks.Person{Address: tasks.PersonAddress{City: "  "}}, "at least one"},
		"long":      {store.KindIdentify, &tasks.Person{Name: "Donnie Darko", Address: tasks.PersonAddress{Line1: long}}, "address.line1 is 257 bytes"},
		"control":   {store.KindIdentify, &tasks.Person{Email: "donnie@example.com\r\nBcc: x"}, "email holds a control character"},
		"not utf-8": {store.KindIdentify, &tasks.Person{Phone: "555\xff"}, "phone is not valid UTF-8"},
	} {
		id := "refused-" + strings.ReplaceAll(name, " ", "-")
		r := scenario.Request(sc, id, "user-"+id)
		r.Person = c.person
		_, _, err := f.Client.Submit(ctx, c.kind, r)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Darko") {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
		if _, err := f.Client.Status(ctx, id); err == nil {
			t.Errorf("%s: a refused job was stored", name)
		}
	}
}
