package match

import "fmt"

// Verdict is the outcome of a comparison.
type Verdict string

// Verdicts, from best to worst.
const (
	Match   Verdict = "match"
	Partial Verdict = "partial"
	NoMatch Verdict = "no_match"
)

// The default thresholds: a score at or above MatchThreshold is a match, at
// or above PartialThreshold a partial match, below it no match. They apply
// to each field's score and to the overall score alike.
const (
	MatchThreshold   = 85
	PartialThreshold = 50
)

// Thresholds are the verdict thresholds of a comparison: a score at or
// above Match is a match, at or above Partial a partial match, below it no
// match.
type Thresholds struct {
	Match   int `json:"match"`
	Partial int `json:"partial"`
}

// DefaultThresholds are MatchThreshold and PartialThreshold.
var DefaultThresholds = Thresholds{Match: MatchThreshold, Partial: PartialThreshold}

// Validate checks 1 ≤ Partial ≤ Match ≤ 100 (Partial = Match leaves no
// partial verdict). Its errors name the threshold and its value.
func (t Thresholds) Validate() error {
	switch {
	case t.Match < 1 || t.Match > 100:
		return fmt.Errorf("the match threshold must be from 1 to 100, not %d", t.Match)
	case t.Partial < 1 || t.Partial > 100:
		return fmt.Errorf("the partial threshold must be from 1 to 100, not %d", t.Partial)
	case t.Partial > t.Match:
		return fmt.Errorf("the partial threshold (%d) must not be above the match threshold (%d)", t.Partial, t.Match)
	}
	return nil
}

// Verdict gives the verdict of a score under t.
func (t Thresholds) Verdict(score int) Verdict {
	switch {
	case score >= t.Match:
		return Match
	case score >= t.Partial:
		return Partial
	}
	return NoMatch
}

// Field weights in the overall score.
const (
	WeightName    = 40
	WeightAddress = 30
	WeightPhone   = 15
	WeightEmail   = 15
)

// VerdictOf gives the verdict of a score under the default thresholds.
func VerdictOf(score int) Verdict { return DefaultThresholds.Verdict(score) }

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
	// Flags explain the scores (package doc, "Flags").
	Flags Flags `json:"flags"`
}

// Flags are what a reviewer asks of a comparison besides its scores,
// named as Plaid's /identity/match names them (package doc, "Flags"). Each
// is false when the field it reads was not compared.
type Flags struct {
	// NicknameMatch: the name matched through the nickname table (Bob /
	// Robert) in at least one pair of name tokens.
	NicknameMatch bool `json:"is_nickname_match"`
	// FirstOrLastNameMatch: only the first or only the last name agrees,
	// a likely family member (Jane Smith / John Smith); never with a
	// business name.
	FirstOrLastNameMatch bool `json:"is_first_name_or_last_name_match"`
	// BusinessNameDetected: either side's name reads as a business's or
	// a trust's (LLC, Inc, Corp, Trust, …).
	BusinessNameDetected bool `json:"is_business_name_detected"`
	// PostalCodeMatch: the postal codes were compared and are equal.
	PostalCodeMatch bool `json:"is_postal_code_match"`
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

func (t Thresholds) fieldScore(f Field, weight int, hasA, hasB bool, score int, ok bool) FieldScore {
	fs := FieldScore{Field: f, Weight: weight}
	switch {
	case ok:
		fs.Compared, fs.Score, fs.Verdict = true, score, t.Verdict(score)
	case hasA && hasB:
		// An address where each side gave only components the other
		// lacks.
		fs.Missing = SideBoth
	default:
		fs.Missing = missing(hasA, hasB)
	}
	return fs
}

// Compare compares the upstream's data with one owner record under the
// default thresholds.
func Compare(upstream, owner Person) Result { return DefaultThresholds.Compare(upstream, owner) }

// Compare compares the upstream's data with one owner record under t,
// which the caller has validated (Validate).
func (t Thresholds) Compare(upstream, owner Person) Result {
	r := Result{MatchThreshold: t.Match, PartialThreshold: t.Partial}

	na, nb := parseName(upstream.Name), parseName(owner.Name)
	nc, nok := compareNames(na, nb)
	name := t.fieldScore(FieldName, WeightName, len(na) > 0, len(nb) > 0, percent(nc.sim), nok)
	// A business's name has no first or last name.
	business := businessName(upstream.Name) || businessName(owner.Name)
	r.Flags = Flags{NicknameMatch: nok && nc.nickname, FirstOrLastNameMatch: nok && nc.firstOrLast && !business,
		BusinessNameDetected: business}

	as, comps, aok := AddressScore(upstream.Address, owner.Address)
	for _, c := range comps {
		r.Flags.PostalCodeMatch = r.Flags.PostalCodeMatch || (c.Name == ComponentPostalCode && c.Compared && c.Score == 100)
	}
	addr := t.fieldScore(FieldAddress, WeightAddress, anyComponent(comps, SideUpstream), anyComponent(comps, SideOwner), as, aok)
	addr.Components = comps

	ps, pok := PhoneScore(upstream.Phone, owner.Phone)
	_, pa := NormalizePhone(upstream.Phone)
	_, pb := NormalizePhone(owner.Phone)
	phone := t.fieldScore(FieldPhone, WeightPhone, pa, pb, ps, pok)

	es, eok := EmailScore(upstream.Email, owner.Email)
	_, ea := NormalizeEmail(upstream.Email)
	_, eb := NormalizeEmail(owner.Email)
	email := t.fieldScore(FieldEmail, WeightEmail, ea, eb, es, eok)

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
	r.Verdict = t.Verdict(r.Score)
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

// CompareAll compares the upstream's data with each owner under the
// default thresholds and picks the best: the highest verdict, then the
// highest score, then the most fields compared, then the first.
func CompareAll(upstream Person, owners []Person) Outcome {
	return DefaultThresholds.CompareAll(upstream, owners)
}

// CompareAll is the package's CompareAll under t, which the caller has
// validated (Validate).
func (t Thresholds) CompareAll(upstream Person, owners []Person) Outcome {
	o := Outcome{Best: -1, Owners: make([]Result, len(owners))}
	for i, ow := range owners {
		o.Owners[i] = t.Compare(upstream, ow)
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
