package match

// Verdict is the outcome of a comparison.
type Verdict string

// Verdicts, from best to worst.
const (
	Match   Verdict = "match"
	Partial Verdict = "partial"
	NoMatch Verdict = "no_match"
)

// Thresholds: a score at or above MatchThreshold is a match, at or above
// PartialThreshold a partial match, below it no match. They apply to each
// field's score and to the overall score alike.
const (
	MatchThreshold   = 85
	PartialThreshold = 50
)

// Field weights in the overall score.
const (
	WeightName    = 40
	WeightAddress = 30
	WeightPhone   = 15
	WeightEmail   = 15
)

// VerdictOf gives the verdict of a score under the thresholds.
func VerdictOf(score int) Verdict {
	switch {
	case score >= MatchThreshold:
		return Match
	case score >= PartialThreshold:
		return Partial
	}
	return NoMatch
}

func rank(v Verdict) int {
	switch v {
	case Match:
		return 2
	case Partial:
		return 1
	}
	return 0
}

// Field names a compared field.
type Field string

// Fields, in the order of Result.Fields.
const (
	FieldName    Field = "name"
	FieldAddress Field = "address"
	FieldPhone   Field = "phone"
	FieldEmail   Field = "email"
)

// Side says which side lacks a usable value.
type Side string

// Sides.
const (
	SideUpstream Side = "upstream" // the upstream's data (the job's KYC data)
	SideOwner    Side = "owner"    // the institution's owner record
	SideBoth     Side = "both"
)

// Person is what one side knows of a person: the upstream's KYC data, or
// one account owner as the institution reports it. Empty values are
// absent. Name is the full name in any common form ("Robert J. Smith",
// "SMITH, ROBERT J", "Mr Robert Smith Jr"); a caller with separate name
// parts joins them with spaces, given name first.
type Person struct {
	Name    string  `json:"name,omitempty"`
	Address Address `json:"address,omitzero"`
	Phone   string  `json:"phone,omitempty"`
	Email   string  `json:"email,omitempty"`
}

// FieldScore is the comparison of one field. A field is compared only when
// both sides give a usable value; otherwise Compared is false, Missing says
// which side lacked it, Score is 0 and the field does not count in the
// overall score.
type FieldScore struct {
	Field    Field   `json:"field"`
	Weight   int     `json:"weight"`
	Compared bool    `json:"compared"`
	Score    int     `json:"score"`
	Verdict  Verdict `json:"verdict,omitempty"`
	Missing  Side    `json:"missing,omitempty"`
	// Components are the address's components (address only).
	Components []Component `json:"components,omitempty"`
}

// Result is the comparison of the upstream's data with one owner. It holds
// scores only, never an input value, so it may be stored and shown.
type Result struct {
	// Score is the weighted mean of the compared fields' scores, 0 when
	// none was compared.
	Score int `json:"score"`
	// Verdict is the lower of VerdictOf(Score) and the name's verdict
	// (when the name was compared); NoMatch when no field was compared.
	Verdict          Verdict      `json:"verdict"`
	MatchThreshold   int          `json:"match_threshold"`
	PartialThreshold int          `json:"partial_threshold"`
	Fields           []FieldScore `json:"fields"`
	// NotCompared lists the fields that did not count (Fields says why).
	NotCompared []Field `json:"not_compared,omitempty"`
}

// Field returns the score of field f.
func (r Result) Field(f Field) FieldScore {
	for _, fs := range r.Fields {
		if fs.Field == f {
			return fs
		}
	}
	return FieldScore{Field: f}
}

func fieldScore(f Field, weight int, hasA, hasB bool, score int, ok bool) FieldScore {
	fs := FieldScore{Field: f, Weight: weight}
	switch {
	case ok:
		fs.Compared, fs.Score, fs.Verdict = true, score, VerdictOf(score)
	case hasA && hasB:
		// An address where each side gave only components the other
		// lacks.
		fs.Missing = SideBoth
	default:
		fs.Missing = missing(hasA, hasB)
	}
	return fs
}

// Compare compares the upstream's data with one owner record.
func Compare(upstream, owner Person) Result {
	r := Result{MatchThreshold: MatchThreshold, PartialThreshold: PartialThreshold}

	ns, nok := NameScore(upstream.Name, owner.Name)
	name := fieldScore(FieldName, WeightName, len(parseName(upstream.Name)) > 0, len(parseName(owner.Name)) > 0, ns, nok)

	as, comps, aok := AddressScore(upstream.Address, owner.Address)
	addr := fieldScore(FieldAddress, WeightAddress, anyComponent(comps, SideUpstream), anyComponent(comps, SideOwner), as, aok)
	addr.Components = comps

	ps, pok := PhoneScore(upstream.Phone, owner.Phone)
	_, pa := NormalizePhone(upstream.Phone)
	_, pb := NormalizePhone(owner.Phone)
	phone := fieldScore(FieldPhone, WeightPhone, pa, pb, ps, pok)

	es, eok := EmailScore(upstream.Email, owner.Email)
	_, ea := NormalizeEmail(upstream.Email)
	_, eb := NormalizeEmail(owner.Email)
	email := fieldScore(FieldEmail, WeightEmail, ea, eb, es, eok)

	r.Fields = []FieldScore{name, addr, phone, email}
	var num, den int
	for _, f := range r.Fields {
		if f.Compared {
			num += f.Weight * f.Score
			den += f.Weight
		} else {
			r.NotCompared = append(r.NotCompared, f.Field)
		}
	}
	if den == 0 {
		r.Verdict = NoMatch
		return r
	}
	r.Score = roundDiv(num, den)
	r.Verdict = VerdictOf(r.Score)
	if name.Compared && rank(name.Verdict) < rank(r.Verdict) {
		r.Verdict = name.Verdict
	}
	return r
}

// anyComponent reports whether side s gave any address component.
func anyComponent(cs []Component, s Side) bool {
	for _, c := range cs {
		if c.Missing != SideBoth && c.Missing != s {
			return true
		}
	}
	return false
}

// Outcome is the comparison of the upstream's data with every owner.
type Outcome struct {
	// Best is the index in Owners of the best owner, -1 when there is
	// none.
	Best   int      `json:"best"`
	Owners []Result `json:"owners"`
}

// BestResult returns the best owner's result, ok false when there is none.
func (o Outcome) BestResult() (Result, bool) {
	if o.Best < 0 || o.Best >= len(o.Owners) {
		return Result{}, false
	}
	return o.Owners[o.Best], true
}

// CompareAll compares the upstream's data with each owner and picks the
// best: the highest verdict, then the highest score, then the most fields
// compared, then the first.
func CompareAll(upstream Person, owners []Person) Outcome {
	o := Outcome{Best: -1, Owners: make([]Result, len(owners))}
	for i, ow := range owners {
		o.Owners[i] = Compare(upstream, ow)
		if o.Best < 0 || better(o.Owners[i], o.Owners[o.Best]) {
			o.Best = i
		}
	}
	return o
}

func better(a, b Result) bool {
	if rank(a.Verdict) != rank(b.Verdict) {
		return rank(a.Verdict) > rank(b.Verdict)
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return len(a.NotCompared) < len(b.NotCompared)
}
