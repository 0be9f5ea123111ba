package match

import "testing"

func in100(n int) bool { return n >= 0 && n <= 100 }

// FuzzNormalizers: no input panics a normaliser, every score is within
// 0–100, a value compared with itself scores 100 when it is usable, and
// the normalisers are idempotent.
func FuzzNormalizers(f *testing.F) {
	for _, s := range [][2]string{
		{"Robert J. Smith", "Bob Smith"}, {"SMITH, ROBERT, JR.", "Mr & Mrs Smith"}, {"Mary Ann O'Neil-Parker", "Maryann Oneil Parker"},
		{"123 N Main St Apt 4", "123 North Main Street #4"}, {"P.O. Box 42", "# # apt apt"}, {"(555) 123-4567 x89", "+44 20 7946 0958"},
		{"Bob@Example.com", "<<a@b> >"}, {"Smith L.L.C.", "Bob and Jane Smith"}, {"Jane Smith", "John Smith TTEE"}, {"\xff\xfe", "ﬁ\u0301ß"}, {",,,", "and and &"}, {"78701-1234", "Texas"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if s, ok := NameScore(a, b); !in100(s) || (!ok && s != 0) {
			t.Fatalf("NameScore = %d %v", s, ok)
		}
		if s1, _ := NameScore(a, b); s1 != func() int { s2, _ := NameScore(b, a); return s2 }() {
			t.Fatalf("NameScore not symmetric")
		}
		if s, ok := NameScore(a, a); ok && s != 100 {
			t.Fatalf("NameScore(a, a) = %d", s)
		}
		pa := Address{Street: a, Street2: b, City: a, State: b, PostalCode: a, Country: b}
		pb := Address{Street: b, City: b, State: a, PostalCode: b, Country: a}
		s, comps, _ := AddressScore(pa, pb)
		if !in100(s) {
			t.Fatalf("AddressScore = %d", s)
		}
		for _, c := range comps {
			if !in100(c.Score) {
				t.Fatalf("component %+v", c)
			}
		}
		if s, ok, _ := addrSelf(pa); ok && s != 100 {
			t.Fatalf("AddressScore(a, a) = %d", s)
		}
		if s, _ := PhoneScore(a, b); !in100(s) {
			t.Fatalf("PhoneScore = %d", s)
		}
		if e, ok := NormalizePhone(a); ok {
			if e2, ok2 := NormalizePhone(e); !ok2 || e2 != e {
				t.Fatalf("NormalizePhone not idempotent: %q → %q", e, e2)
			}
		}
		if e, ok := NormalizeEmail(a); ok {
			if e2, ok2 := NormalizeEmail(e); !ok2 || e2 != e {
				t.Fatalf("NormalizeEmail not idempotent")
			}
		}
		if s, _ := EmailScore(a, b); !in100(s) {
			t.Fatalf("EmailScore = %d", s)
		}
		up, ow := Person{Name: a, Address: pa, Phone: a, Email: a}, Person{Name: b, Address: pb, Phone: b, Email: b}
		r := Compare(up, ow)
		if !in100(r.Score) || (r.Verdict != Match && r.Verdict != Partial && r.Verdict != NoMatch) {
			t.Fatalf("Compare = %+v", r)
		}
		checkFlags(t, r)
		if Compare(ow, up).Flags.BusinessNameDetected != r.Flags.BusinessNameDetected {
			t.Fatalf("is_business_name_detected not symmetric")
		}
		if self := Compare(up, up); self.Flags.NicknameMatch || self.Flags.FirstOrLastNameMatch {
			t.Fatalf("a person against itself: %+v", self.Flags)
		} else {
			checkFlags(t, self)
		}
		// Any valid thresholds: every verdict is theirs.
		th := Thresholds{Match: 1 + len(a)%100, Partial: 1 + len(b)%100}
		if th.Validate() == nil {
			r := th.Compare(up, ow)
			for _, f := range r.Fields {
				if f.Compared && f.Verdict != th.Verdict(f.Score) {
					t.Fatalf("%+v: field %+v", th, f)
				}
			}
			if r.MatchThreshold != th.Match || r.PartialThreshold != th.Partial || rank(r.Verdict) > rank(th.Verdict(r.Score)) {
				t.Fatalf("%+v: %+v", th, r)
			}
		} else if th.Partial <= th.Match {
			t.Fatalf("Validate(%+v) refused thresholds in range", th)
		}
		if n := len(CompareAll(Person{Name: a}, []Person{{Name: a}, {Name: b}}).Owners); n != 2 {
			t.Fatalf("CompareAll: %d results", n)
		}
	})
}

func addrSelf(a Address) (int, bool, []Component) {
	s, c, ok := AddressScore(a, a)
	return s, ok, c
}

// checkFlags: a flag reads only fields that were compared, the postal
// code flag is its component's 100, and the name flags go with a name
// below 100.
func checkFlags(t *testing.T, r Result) {
	t.Helper()
	name := r.Field(FieldName)
	if !name.Compared && (r.Flags.NicknameMatch || r.Flags.FirstOrLastNameMatch) {
		t.Fatalf("a name flag without the name compared: %+v", r)
	}
	if r.Flags.FirstOrLastNameMatch && (name.Score == 100 || r.Flags.BusinessNameDetected) {
		t.Fatalf("is_first_name_or_last_name_match with %+v", r)
	}
	postal := false
	for _, c := range r.Field(FieldAddress).Components {
		postal = postal || (c.Name == ComponentPostalCode && c.Compared && c.Score == 100)
	}
	if postal != r.Flags.PostalCodeMatch {
		t.Fatalf("is_postal_code_match %v with %+v", r.Flags.PostalCodeMatch, r.Field(FieldAddress))
	}
}
