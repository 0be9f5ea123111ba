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
		{"Bob@Example.com", "<<a@b> >"}, {"\xff\xfe", "ﬁ\u0301ß"}, {",,,", "and and &"}, {"78701-1234", "Texas"},
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
		r := Compare(Person{Name: a, Address: pa, Phone: a, Email: a}, Person{Name: b, Address: pb, Phone: b, Email: b})
		if !in100(r.Score) || (r.Verdict != Match && r.Verdict != Partial && r.Verdict != NoMatch) {
			t.Fatalf("Compare = %+v", r)
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
