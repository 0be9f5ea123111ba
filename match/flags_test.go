package match

import (
	"strings"
	"testing"
)

// TestFlags: each flag's definition (package doc, "Flags"), both ways
// round, with adversarial and non-ASCII names.
func TestFlags(t *testing.T) {
	const (
		nick = 1 << iota
		firstOrLast
		business
		postal
	)
	flags := func(f Flags) int {
		n := 0
		for bit, on := range map[int]bool{nick: f.NicknameMatch, firstOrLast: f.FirstOrLastNameMatch, business: f.BusinessNameDetected, postal: f.PostalCodeMatch} {
			if on {
				n |= bit
			}
		}
		return n
	}
	name := func(s string) Person { return Person{Name: s} }
	zip := func(n, z string) Person { return Person{Name: n, Address: Address{PostalCode: z}} }
	for _, c := range []struct {
		a, b Person
		want int
	}{
		{name("Robert J. Smith"), name("Bob Smith"), nick},
		{name("SMITH, ROBERT"), name("Robert Smith"), 0},
		{name("Bob Smith"), name("Rob Smith"), nick}, // two nicknames of Robert
		{name("Dr. Peggy Olson"), name("Margaret Olson"), nick},
		{name("Jon Smith"), name("John Smith"), 0},                // a typo, not a nickname
		{name("Albert Ross"), name("Alfred Ross"), firstOrLast},   // both "Al", still different
		{name("Jane Smith"), name("John Smith"), firstOrLast},     // a likely family member
		{name("Robert Smith"), name("Robert Jones"), firstOrLast}, // same first name only
		{name("Robert Smith"), name("Roberta Smith"), firstOrLast},
		{name("Robert J. Smith"), name("James Smith"), firstOrLast},
		{name("Bob Jones"), name("Robert Smith"), nick}, // the nickname paired, nothing equal
		{name("Robert Smith"), name("Smith"), firstOrLast},
		{name("Robert Smith"), name("Carol Jones"), 0},
		{name("Zhang Wei"), name("Wei Zhang"), 0},
		{name("J. Smith"), name("James Smith"), 0}, // an initial agrees
		{name("Robert James Smith"), name("Robert John Smith"), 0},
		{name("John and Jane Smith"), name("Jane Smith"), 0}, // the best person decides
		{name("John and Jane Smith"), name("Jane Doe"), firstOrLast},
		{name("Robert Smith Jr"), name("Robert Smith Sr"), 0},
		{name("José Álvarez"), name("Jose Alvarez"), 0},
		{name("José Álvarez"), name("María Álvarez"), firstOrLast},
		{name("Günter Straße"), name("Gunter Strasse"), 0},
		{name("Smith Holdings LLC"), name("Robert Smith"), business},
		{name("ACME, INC."), name("Acme Inc"), business},
		{name("Robert Smith"), name("Smith Family Trust"), business},
		{name("ROBERT SMITH TTEE"), name("Robert Smith"), business},
		{name("Smith L.L.C."), name("Smith"), business},
		{name("L P Smith"), name("L Smith"), 0}, // initials, not L.P.
		{name("Lincoln Smith"), name("Inca Smith"), firstOrLast},
		{name("Ｓｍｉｔｈ ＬＬＣ"), name("Robert Smith"), business}, // full-width letters fold
		{zip("Robert Smith", "78701"), zip("Robert Smith", "78701-1234"), postal},
		{zip("Robert Smith", "2134"), zip("Robert Smith", "02134"), postal},
		{zip("Robert Smith", "78701"), zip("Robert Smith", "78702"), 0},
		{zip("Robert Smith", "SW1A 1AA"), zip("Robert Smith", "sw1a1aa"), postal},
		{zip("Robert Smith", "78701"), name("Robert Smith"), 0}, // not compared
		{zip("Bob Smith", "78701"), zip("Jane Smith", "78701"), postal | firstOrLast},
		{Person{Name: "Bob Smith"}, Person{Phone: "555-123-4567"}, 0}, // the name not compared
		{Person{Name: "Smith LLC"}, Person{Phone: "555-123-4567"}, business},
		{name("\xff\xfe LLC"), name("\u200b"), business},
		{name(strings.Repeat("Bob ", 100) + "Smith"), name("Robert Smith"), nick},
		{name(""), name(""), 0},
	} {
		for _, ab := range [][2]Person{{c.a, c.b}, {c.b, c.a}} {
			r := Compare(ab[0], ab[1])
			if got := flags(r.Flags); got != c.want {
				t.Errorf("Compare(%q, %q) flags %+v, want %04b", ab[0], ab[1], r.Flags, c.want)
			}
		}
	}
}

// TestThresholds: the verdicts follow the thresholds given, the result
// shows them, and Validate refuses those that make no sense.
func TestThresholds(t *testing.T) {
	owner := Person{Name: "SMITH, BOB", Phone: "+1 555 123 4567", Email: "bob.smith@example.com",
		Address: Address{Street: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234"}}
	for _, c := range []struct {
		t          Thresholds
		name, over Verdict
	}{
		{DefaultThresholds, Match, Match},                      // name 95, overall 98
		{Thresholds{Match: 96, Partial: 60}, Partial, Partial}, // the name caps the verdict
		{Thresholds{Match: 95, Partial: 95}, Match, Match},
		{Thresholds{Match: 99, Partial: 99}, NoMatch, NoMatch},
		{Thresholds{Match: 100, Partial: 1}, Partial, Partial},
	} {
		if err := c.t.Validate(); err != nil {
			t.Fatalf("%+v: %v", c.t, err)
		}
		r := c.t.Compare(kyc, owner)
		if r.Score != 98 || r.Field(FieldName).Verdict != c.name || r.Verdict != c.over || r.MatchThreshold != c.t.Match || r.PartialThreshold != c.t.Partial {
			t.Errorf("%+v: %+v", c.t, r)
		}
		if o := c.t.CompareAll(kyc, []Person{owner}); o.Owners[0].Verdict != c.over {
			t.Errorf("%+v: CompareAll %+v", c.t, o)
		}
	}
	if r := Compare(kyc, owner); r.MatchThreshold != MatchThreshold || r.PartialThreshold != PartialThreshold {
		t.Errorf("default thresholds: %+v", r)
	}
	for _, c := range []struct {
		t    Thresholds
		says string
	}{
		{Thresholds{}, "match threshold must be from 1 to 100, not 0"},
		{Thresholds{Match: 101, Partial: 50}, "match threshold must be from 1 to 100, not 101"},
		{Thresholds{Match: 85, Partial: 0}, "partial threshold must be from 1 to 100, not 0"},
		{Thresholds{Match: 85, Partial: -5}, "not -5"},
		{Thresholds{Match: 60, Partial: 70}, "partial threshold (70) must not be above the match threshold (60)"},
	} {
		if err := c.t.Validate(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Validate(%+v) = %v, want %q", c.t, err, c.says)
		}
	}
}
