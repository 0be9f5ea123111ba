package match

import (
	"encoding/json"
	"strings"
	"testing"
)

// span is an expected score range, inclusive.
type span struct{ lo, hi int }

func exactly(n int) span { return span{n, n} }

func (s span) has(n int) bool { return n >= s.lo && n <= s.hi }

// TestNameVariants: real-world variants, both ways round.
func TestNameVariants(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want span
		v    Verdict
	}{
		{"Robert J. Smith", "Bob Smith", exactly(95), Match},
		{"SMITH, ROBERT", "Robert Smith", exactly(100), Match},
		{"José Álvarez", "Jose Alvarez", exactly(100), Match},
		{"Mary Ann O'Neil-Parker", "Maryann Oneil Parker", exactly(100), Match},
		{"William Gates III", "Bill Gates", exactly(95), Match},
		{"Alice Johnson", "Robert Smith", exactly(0), NoMatch},
		{"Robert Smith", "Smith Robert", exactly(100), Match},
		{"ROBERT SMITH", "robert smith", exactly(100), Match},
		{"Mr. Robert Smith Jr.", "Smith, Robert, Jr", exactly(100), Match},
		{"Dr. Peggy Olson", "Margaret Olson", exactly(95), Match},
		{"Elizabeth Bennet", "Liz Bennet", exactly(95), Match},
		{"Richard Nixon", "Dick Nixon", exactly(95), Match},
		{"James Kirk", "Jim Kirk", exactly(95), Match},
		{"Katherine Hepburn", "Kate Hepburn", exactly(95), Match},
		{"Anthony Stark", "Tony Stark", exactly(95), Match},
		{"Bob Smith", "Rob Smith", exactly(95), Match},              // two nicknames of Robert
		{"J. Smith", "James Smith", exactly(90), Match},             // initial
		{"Robert Smith", "Robert James Smith", exactly(100), Match}, // missing middle name
		{"Jon Smith", "John Smith", span{95, 98}, Match},            // typo: Jaro–Winkler 0.93
		{"Catherine Zeta", "Katherine Zeta", span{95, 97}, Match},
		{"Günter Straße", "Gunter Strasse", exactly(100), Match},
		{"Jane Smith", "John Smith", exactly(50), Partial},
		{"Robert James Smith", "Robert John Smith", exactly(67), Partial}, // different middle names
		{"Robert Smith Jr", "Robert Smith Sr", exactly(67), Partial},      // father and son
		{"Albert Ross", "Alfred Ross", exactly(50), Partial},              // both "Al", still different
		{"Robert J. Smith", "James Smith", exactly(50), Partial},          // a middle initial is no first name
		{"Robert J. Smith", "Jane Smith", exactly(50), Partial},
		{"J. Robert Smith", "James Robert Smith", exactly(93), Match},
		{"John and Jane Smith", "Jane Smith", exactly(100), Match}, // joint owner
		{"JOHN SMITH & JANE DOE", "Jane Doe", exactly(100), Match},
		{"Mr & Mrs John Smith", "John Smith", exactly(100), Match},
		{"Zhang Wei", "Wei Zhang", exactly(100), Match},
		{"Xu", "Yu", exactly(0), NoMatch},
		{"Robert Smith", "Roberta Smith", exactly(50), Partial}, // a sister, not a typo
		{"Daniel Lee", "Danielle Lee", exactly(50), Partial},
		{"Joseph Park", "Josephine Park", exactly(50), Partial},
		{"Mary Smith", "Maryann Smith", span{95, 96}, Match},
	} {
		for _, ab := range [][2]string{{c.a, c.b}, {c.b, c.a}} {
			got, ok := NameScore(ab[0], ab[1])
			if !ok || !c.want.has(got) || VerdictOf(got) != c.v {
				t.Errorf("NameScore(%q, %q) = %d %v (%s), want %v %s", ab[0], ab[1], got, ok, VerdictOf(got), c.want, c.v)
			}
		}
	}
	for _, n := range []string{"", "  ", "Mr.", "., -", "Jr."} {
		if _, ok := NameScore(n, "Robert Smith"); ok {
			t.Errorf("NameScore(%q, ...) compared an empty name", n)
		}
	}
}

func addr(street, city, state, zip string) Address {
	return Address{Street: street, City: city, State: state, PostalCode: zip}
}

func TestAddressVariants(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b Address
		want span
		v    Verdict
	}{
		{"abbreviations and unit designators", addr("123 N Main St Apt 4", "", "", ""), addr("123 North Main Street #4", "", "", ""), exactly(100), Match},
		{"full, state name, ZIP+4", addr("123 N Main St Apt 4", "Austin", "Texas", "78701"), addr("123 NORTH MAIN STREET # 4", "AUSTIN", "TX", "78701-1234"), exactly(100), Match},
		{"different house number", addr("123 Main St", "Austin", "TX", "78701"), addr("125 Main St", "Austin", "TX", "78701"), exactly(69), Partial},
		{"different unit", addr("123 Main St Apt 4", "Austin", "TX", "78701"), addr("123 Main St Apt 5", "Austin", "TX", "78701"), exactly(80), Partial},
		{"unit on one side", addr("123 Main St Apt 4", "Austin", "TX", "78701"), addr("123 Main St", "Austin", "TX", "78701"), exactly(90), Match},
		{"street suffix differs", addr("123 Main St", "Austin", "TX", "78701"), addr("123 Main Ave", "Austin", "TX", "78701"), exactly(84), Partial},
		{"directional missing", addr("123 Main St", "Austin", "TX", "78701"), addr("123 N Main St", "Austin", "TX", "78701"), exactly(100), Match},
		{"suite on line 2", Address{Street: "1 Elm Street", Street2: "Suite 200"}, addr("1 Elm St Ste 200", "", "", ""), exactly(100), Match},
		{"PO box", addr("P.O. Box 42", "Provo", "UT", "84601"), addr("PO BOX 42", "Provo", "Utah", "84601"), exactly(100), Match},
		{"ZIP lost its leading zero", addr("5 Elm St", "Boston", "MA", "2134"), addr("5 Elm St", "Boston", "MA", "02134-1234"), exactly(100), Match},
		{"Saint", addr("9 Saint Charles Avenue", "St. Louis", "MO", "63101"), addr("9 St Charles Ave", "Saint Louis", "MO", "63101"), exactly(100), Match},
		{"ordinal", addr("10 First Avenue", "", "", ""), addr("10 1st Ave", "", "", ""), exactly(100), Match},
		{"another town", addr("123 Main St", "Austin", "TX", "78701"), addr("123 Main St", "Dallas", "TX", "75201"), exactly(69), Partial},
		{"unrelated", addr("123 Main St", "Austin", "TX", "78701"), addr("9 Ocean Blvd", "Miami", "FL", "33101"), exactly(0), NoMatch},
		{"country spelled out", Address{Street: "1 Elm St", Country: "USA"}, Address{Street: "1 Elm St", Country: "US"}, exactly(100), Match},
	} {
		for _, ab := range [][2]Address{{c.a, c.b}, {c.b, c.a}} {
			got, comps, ok := AddressScore(ab[0], ab[1])
			if !ok || !c.want.has(got) || VerdictOf(got) != c.v {
				t.Errorf("%s: AddressScore = %d %v (%s), want %v %s; %+v", c.name, got, ok, VerdictOf(got), c.want, c.v, comps)
			}
		}
	}
	if _, _, ok := AddressScore(Address{Street: "1 Elm St"}, Address{City: "Austin"}); ok {
		t.Error("addresses with no component in common were compared")
	}
}

func TestPhones(t *testing.T) {
	for _, s := range []string{
		"(555) 123-4567", "555.123.4567", "+1 555 123 4567", "1-555-123-4567", "5551234567",
		"555-123-4567 ext. 89", "555-123-4567x89", "+1 (555) 123-4567 #2", "555 123 4567;ext=9", "011 1 555 123 4567",
		"１５５５１２３４５６７", // full-width digits
	} {
		if got, ok := NormalizePhone(s); !ok || got != "+15551234567" {
			t.Errorf("NormalizePhone(%q) = %q %v", s, got, ok)
		}
		if got, ok := PhoneScore(s, "(555) 123-4567"); !ok || got != 100 {
			t.Errorf("PhoneScore(%q) = %d %v", s, got, ok)
		}
	}
	for in, want := range map[string]string{"+44 20 7946 0958": "+442079460958", "0044 20 7946 0958": "+442079460958"} {
		if got, ok := NormalizePhone(in); !ok || got != want {
			t.Errorf("NormalizePhone(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, s := range []string{"", "123-4567", "+1 555 123 456", "555 1234 56789 0", "phone", "+0 123 456 789"} {
		if got, ok := NormalizePhone(s); ok {
			t.Errorf("NormalizePhone(%q) = %q, want unusable", s, got)
		}
	}
	if got, ok := PhoneScore("555-123-4567", "555-123-4568"); !ok || got != 0 {
		t.Errorf("different phones: %d %v", got, ok)
	}
	if _, ok := PhoneScore("555-123-4567", "123-4567"); ok {
		t.Error("an unusable phone was compared")
	}
}

func TestEmails(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"Robert.Smith@Example.COM", "robert.smith@example.com", 100},
		{"  bob@example.com\n", "<BOB@EXAMPLE.COM>", 100},
		{"robertsmith@gmail.com", "robert.smith@gmail.com", 0}, // no provider rules
		{"bob+bank@gmail.com", "bob@gmail.com", 0},
		{"bob@example.com", "bob@example.org", 0},
	} {
		if got, ok := EmailScore(c.a, c.b); !ok || got != c.want {
			t.Errorf("EmailScore(%q, %q) = %d %v, want %d", c.a, c.b, got, ok, c.want)
		}
	}
	for _, s := range []string{"", "bob", "@example.com", "bob@", "bob smith@example.com"} {
		if _, ok := NormalizeEmail(s); ok {
			t.Errorf("NormalizeEmail(%q) usable", s)
		}
	}
}

var kyc = Person{
	Name:    "Robert J. Smith",
	Address: Address{Street: "123 N Main St Apt 4", City: "Austin", State: "Texas", PostalCode: "78701"},
	Phone:   "(555) 123-4567",
	Email:   "Bob.Smith@Example.com",
}

func TestCompare(t *testing.T) {
	owner := Person{
		Name:    "SMITH, BOB",
		Address: Address{Street: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234", Country: "US"},
		Phone:   "+1 555 123 4567",
		Email:   "bob.smith@example.com",
	}
	r := Compare(kyc, owner)
	// name 95 ×40 + address 100 ×30 + phone 100 ×15 + email 100 ×15 = 9800 / 100.
	if r.Score != 98 || r.Verdict != Match || r.MatchThreshold != MatchThreshold || r.PartialThreshold != PartialThreshold || len(r.NotCompared) != 0 {
		t.Fatalf("%+v", r)
	}
	if f := r.Field(FieldName); !f.Compared || f.Score != 95 || f.Verdict != Match {
		t.Errorf("name: %+v", f)
	}
	if c := r.Field(FieldAddress).Components; len(c) != 7 || c[6].Compared || c[6].Missing != SideUpstream {
		t.Errorf("country: %+v", c)
	}

	// Fields absent on either side do not count and are named.
	r = Compare(Person{Name: "Robert Smith", Email: "bob@example.com"}, Person{Name: "Bob Smith", Phone: "555-123-4567", Email: "BOB@example.com"})
	if r.Score != 96 || r.Verdict != Match { // (95×40 + 100×15) / 55 = 96.4
		t.Errorf("%+v", r)
	}
	if got := r.NotCompared; len(got) != 2 || got[0] != FieldAddress || got[1] != FieldPhone {
		t.Errorf("not compared: %v", got)
	}
	if f := r.Field(FieldPhone); f.Compared || f.Missing != SideUpstream {
		t.Errorf("phone: %+v", f)
	}
	if f := r.Field(FieldAddress); f.Compared || f.Missing != SideBoth {
		t.Errorf("address: %+v", f)
	}

	// The name caps the verdict: a spouse at the same address is not a match.
	spouse := owner
	spouse.Name = "Alice Smith"
	r = Compare(kyc, spouse)
	if r.Field(FieldName).Score != 50 || r.Score != 80 || r.Verdict != Partial {
		t.Errorf("spouse: %+v", r)
	}
	stranger := owner
	stranger.Name = "Carol Jones"
	// Name 0 (the middle initial J does not pair with Jones, a last
	// name); overall (0×40 + 100×60) / 100 = 60, but the name's verdict
	// decides.
	if r = Compare(kyc, stranger); r.Field(FieldName).Score != 0 || r.Score != 60 || r.Verdict != NoMatch {
		t.Errorf("stranger: %+v", r)
	}

	// Nothing to compare.
	r = Compare(Person{Name: "Robert Smith"}, Person{Email: "bob@example.com"})
	if r.Score != 0 || r.Verdict != NoMatch || len(r.NotCompared) != 4 {
		t.Errorf("nothing compared: %+v", r)
	}
}

func TestCompareAll(t *testing.T) {
	owners := []Person{
		{Name: "Jane Smith", Phone: "555-123-4567"},
		{Name: "Bob Smith", Address: Address{Street: "123 Main St", PostalCode: "78701"}},
		{Name: "Robert Smith", Phone: "555.123.4567", Email: "bob.smith@example.com"},
		{Name: "Robert Smith", Phone: "555.123.4567", Email: "bob.smith@example.com"},
	}
	o := CompareAll(kyc, owners)
	if o.Best != 2 || len(o.Owners) != 4 {
		t.Fatalf("best %d of %+v", o.Best, o.Owners)
	}
	if r, ok := o.BestResult(); !ok || r.Verdict != Match || r.Score != 100 {
		t.Errorf("best: %+v", r)
	}
	if o := CompareAll(kyc, nil); o.Best != -1 {
		t.Errorf("no owners: %+v", o)
	} else if _, ok := o.BestResult(); ok {
		t.Error("a best result with no owners")
	}
}

// TestResultHoldsNoInput: results are KYC-free, so they may be stored,
// logged and shown.
func TestResultHoldsNoInput(t *testing.T) {
	owner := Person{Name: "Zebulon Quixotic", Address: Address{Street: "987 Xylophone Terrace Unit 77", City: "Quahog", State: "RI", PostalCode: "02903"}, Phone: "401-555-0199", Email: "zq@quahog.example"}
	b, err := json.Marshal(CompareAll(kyc, []Person{owner}))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ToLower(string(b))
	for _, v := range []string{"robert", "smith", "zebulon", "xylophone", "quahog", "austin", "main", "555", "example", "78701", "02903", "987"} {
		if strings.Contains(s, v) {
			t.Errorf("the result holds %q: %s", v, b)
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	for _, c := range []struct {
		a, b   string
		lo, hi float64
	}{
		{"martha", "marhta", 0.960, 0.962},  // Winkler's classic: 0.961
		{"dwayne", "duane", 0.839, 0.841},   // 0.84
		{"dixon", "dicksonx", 0.812, 0.814}, // 0.813
		{"", "", 1, 1}, {"a", "", 0, 0}, {"abc", "xyz", 0, 0},
	} {
		if got := jaroWinkler(c.a, c.b); got < c.lo || got > c.hi {
			t.Errorf("jaroWinkler(%q, %q) = %.4f", c.a, c.b, got)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 300)
	if c := clip(long); len(c) > MaxValueBytes || !strings.HasPrefix(long, c) || strings.ContainsRune(c, '\uFFFD') {
		t.Errorf("clip: %d bytes", len(c))
	}
}
