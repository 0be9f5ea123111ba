package match

import (
	"strings"
	"unicode"
)

// Address weights: an address's score is the weighted mean of the
// components compared on both sides (package doc, "Addresses").
const (
	WeightHouseNumber = 25
	WeightStreet      = 25
	WeightUnit        = 20
	WeightCity        = 10
	WeightState       = 5
	WeightPostalCode  = 15
	WeightCountry     = 5
)

// UnitMissingScore is the unit component's score when one side gives a
// unit and the other does not.
const UnitMissingScore = 50

// streetSuffixes maps the street suffixes of USPS Publication 28 appendix
// C1 (the common ones, with their usual misspellings) to the Postal
// Service standard suffix abbreviation.
var streetSuffixes = func() map[string]string {
	m := map[string]string{}
	for std, alts := range map[string][]string{
		"aly": {"alley", "allee", "ally"}, "anx": {"annex", "anex", "annx"},
		"arc": {"arcade"}, "ave": {"avenue", "av", "aven", "avenu", "avn", "avnue"},
		"byu": {"bayou"}, "bch": {"beach"}, "bnd": {"bend"}, "blf": {"bluff"},
		"blvd": {"boulevard", "boul", "boulv"}, "br": {"branch", "brnch"},
		"brg": {"bridge", "brdge"}, "brk": {"brook"}, "byp": {"bypass", "bypa", "bypas", "byps"},
		"cswy": {"causeway", "causwa"}, "ctr": {"center", "centre", "cent", "centr", "cnter", "cntr"},
		"cir": {"circle", "circ", "circl", "crcl", "crcle"}, "clf": {"cliff"}, "clb": {"club"},
		"cmn": {"common"}, "cor": {"corner"}, "crse": {"course"}, "ct": {"court"},
		"cv": {"cove"}, "crk": {"creek"}, "cres": {"crescent", "crsent", "crsnt"},
		"xing": {"crossing", "crssng"}, "dr": {"drive", "driv", "drv"},
		"est": {"estate"}, "ests": {"estates"}, "expy": {"expressway", "exp", "expr", "express", "expw"},
		"ext": {"extension", "extn", "extnsn"}, "fls": {"falls"}, "fry": {"ferry", "frry"},
		"fld": {"field"}, "flds": {"fields"}, "flt": {"flat"}, "frd": {"ford"},
		"frst": {"forest", "forests"}, "frk": {"fork"}, "fwy": {"freeway", "freewy", "frway", "frwy"},
		"gdn": {"garden", "gardn", "grden", "grdn"}, "gdns": {"gardens", "grdns"},
		"gtwy": {"gateway", "gatewy", "gatway", "gtway"}, "gln": {"glen"}, "grn": {"green"},
		"grv": {"grove", "grov"}, "hbr": {"harbor", "harb", "harbr", "hrbor"}, "hvn": {"haven"},
		"hts": {"heights", "ht"}, "hwy": {"highway", "highwy", "hiway", "hiwy", "hway"},
		"hl": {"hill"}, "hls": {"hills"}, "holw": {"hollow", "hllw", "hollows", "holws"},
		"is": {"island", "islnd"}, "jct": {"junction", "jction", "jctn", "junctn", "juncton"},
		"lk": {"lake"}, "lks": {"lakes"}, "lndg": {"landing", "lndng"}, "ln": {"lane"},
		"loop": {"loops"}, "mnr": {"manor"}, "mdw": {"meadow"}, "mdws": {"meadows", "medows"},
		"ml": {"mill"}, "mtwy": {"motorway"}, "mt": {"mount", "mnt"}, "mtn": {"mountain", "mntain", "mntn", "mountin"},
		"orch": {"orchard", "orchrd"}, "park": {"prk", "parks"}, "pkwy": {"parkway", "parkwy", "pkway", "pky", "parkways", "pkwys"},
		"pass": {}, "path": {"paths"}, "pike": {"pikes"}, "pl": {"place"}, "plz": {"plaza", "plza"},
		"pt": {"point"}, "prt": {"port"}, "pr": {"prairie", "prr"}, "rnch": {"ranch", "ranches", "rnchs"},
		"rdg": {"ridge", "rdge"}, "riv": {"river", "rvr", "rivr"}, "rd": {"road"}, "rte": {"route"},
		"row": {}, "run": {}, "shr": {"shore", "shoar"}, "spg": {"spring", "spng", "sprng"},
		"spgs": {"springs", "spngs", "sprngs"}, "sq": {"square", "sqr", "sqre", "squ"},
		"sta": {"station", "statn", "stn"}, "strm": {"stream", "streme"}, "st": {"street", "strt", "str"},
		"smt": {"summit", "sumit", "sumitt"}, "ter": {"terrace", "terr"}, "trce": {"trace", "traces"},
		"trl": {"trail", "trails", "trls"}, "tunl": {"tunnel", "tunel", "tunls", "tunnels", "tunnl"},
		"tpke": {"turnpike", "trnpk", "turnpk"}, "un": {"union"}, "vly": {"valley", "vally", "vlly"},
		"vw": {"view"}, "vlg": {"village", "vill", "villag", "villg"}, "vl": {"ville"},
		"vis": {"vista", "vist", "vst", "vsta"}, "walk": {"walks"}, "way": {"wy"}, "wl": {"well"}, "wls": {"wells"},
	} {
		m[std] = std
		for _, a := range alts {
			m[a] = std
		}
	}
	return m
}()

// directionals: Publication 28's directional abbreviations.
var directionals = map[string]string{
	"n": "n", "north": "n", "s": "s", "south": "s", "e": "e", "east": "e", "w": "w", "west": "w",
	"ne": "ne", "northeast": "ne", "nw": "nw", "northwest": "nw",
	"se": "se", "southeast": "se", "sw": "sw", "southwest": "sw",
}

// unitDesignators: the secondary unit designators of Publication 28
// appendix C2 that read unambiguously in a street line, canonicalised.
// Front, rear, side, lower, upper, key, pier, slip and stop are street
// words too and are left in the street name.
var unitDesignators = map[string]string{
	"#": "#", "apt": "apt", "apartment": "apt", "unit": "unit", "ste": "ste", "suite": "ste",
	"bldg": "bldg", "building": "bldg", "rm": "rm", "room": "rm", "fl": "fl", "floor": "fl",
	"dept": "dept", "department": "dept", "trlr": "trlr", "trailer": "trlr", "spc": "spc", "space": "spc",
	"lot": "lot", "ph": "ph", "penthouse": "ph", "hngr": "hngr", "hangar": "hngr",
	"ofc": "ofc", "office": "ofc", "bsmt": "bsmt", "basement": "bsmt", "lbby": "lbby", "lobby": "lbby",
}

// valueless designators are a unit by themselves (Bsmt, PH).
var valueless = set("ofc", "bsmt", "lbby")

// ordinals spelled out are written as numbers.
var ordinals = map[string]string{
	"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
	"sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}

// streetLine is a parsed street line.
type streetLine struct {
	number string  // house number (or PO box number)
	name   []token // street name tokens with their kinds
	unit   string  // unit values, designators dropped, no spaces
	any    bool    // the line had any word
}

// stripZeros drops the leading zeros of a number ("04" → "4").
func stripZeros(s string) string {
	if allDigits(s) {
		t := strings.TrimLeft(s, "0")
		if t == "" {
			return "0"
		}
		return t
	}
	return s
}

func parseStreet(s string) streetLine {
	ws := words(fold(s), "#")
	// PO Box: "P.O. Box", "PO Box", "Post Office Box" → one word.
	var t []string
	for i := 0; i < len(ws); i++ {
		switch {
		case i+2 < len(ws) && ws[i] == "p" && ws[i+1] == "o" && ws[i+2] == "box":
			t, i = append(t, "pobox"), i+2
		case i+2 < len(ws) && ws[i] == "post" && ws[i+1] == "office" && ws[i+2] == "box":
			t, i = append(t, "pobox"), i+2
		case i+1 < len(ws) && ws[i] == "po" && ws[i+1] == "box":
			t, i = append(t, "pobox"), i+1
		default:
			t = append(t, ws[i])
		}
	}
	if len(t) > maxTokens {
		t = t[:maxTokens]
	}
	var l streetLine
	l.any = len(t) > 0
	switch {
	case len(t) > 0 && hasDigit(t[0]):
		l.number, t = stripZeros(t[0]), t[1:]
	case len(t) > 1 && t[0] == "pobox" && hasDigit(t[1]):
		l.number, t = stripZeros(t[1]), append([]string{"pobox"}, t[2:]...)
	}
	// The unit: from the first designator after at least one street word
	// ("#" may come first), else a trailing number after a suffix or
	// directional ("Main St 4").
	cut := len(t)
	for i, w := range t {
		if _, ok := unitDesignators[w]; ok && (i > 0 || w == "#") {
			cut = i
			break
		}
	}
	if cut == len(t) && len(t) >= 2 && hasDigit(t[len(t)-1]) {
		prev := t[len(t)-2]
		_, suf := streetSuffixes[prev]
		_, dir := directionals[prev]
		if suf || dir {
			cut = len(t) - 1
		}
	}
	var unit []string
	for _, w := range t[cut:] {
		if d, ok := unitDesignators[w]; ok && !valueless[d] {
			continue
		} else if ok {
			w = d
		}
		unit = append(unit, stripZeros(w))
	}
	l.unit = strings.Join(unit, "")
	name := t[:cut]
	for i, w := range name {
		k := kindCore
		if d, ok := directionals[w]; ok && (i == 0 || i == len(name)-1) {
			w, k = d, kindDirectional
		} else if std, ok := streetSuffixes[w]; ok {
			w = std
			if i == len(name)-1 || (i == len(name)-2 && isDirectional(name[i+1])) {
				k = kindSuffix
			}
		} else if o, ok := ordinals[w]; ok {
			w = o
		} else if w == "saint" {
			w = "st"
		}
		l.name = append(l.name, token{w, k})
	}
	return l
}

func isDirectional(w string) bool {
	_, ok := directionals[w]
	return ok
}

// streetSim: exact for numbers, directionals and suffixes, else the
// Jaro–Winkler rule of names (no initials, no nicknames).
func streetSim(tx, ty token) float64 {
	x, y := tx.s, ty.s
	if x == y {
		return 1
	}
	if len([]rune(x)) < 3 || len([]rune(y)) < 3 || hasDigit(x) || hasDigit(y) ||
		streetSuffixes[x] == x || streetSuffixes[y] == y {
		return 0
	}
	if jw := jaroWinkler(x, y); jw >= FuzzyFloor {
		return jw
	}
	return 0
}

// cityWords expands the usual abbreviations of place names.
var cityWords = map[string]string{"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}

func cityTokens(s string) []token {
	var ts []token
	for _, w := range words(fold(s), "") {
		if e, ok := cityWords[w]; ok {
			w = e
		}
		if len(ts) < maxTokens {
			ts = append(ts, token{w, kindCore})
		}
	}
	return ts
}

// states maps US state, district and territory names to their USPS codes.
var states = map[string]string{
	"alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
	"colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
	"florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
	"indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
	"maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
	"mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
	"new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
	"north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
	"pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
	"tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
	"washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
	"puerto rico": "PR", "guam": "GU", "virgin islands": "VI", "us virgin islands": "VI",
	"american samoa": "AS", "northern mariana islands": "MP", "washington dc": "DC",
}

// normState gives a state's USPS code when it is a US state name or a
// two-letter code, else its folded words.
func normState(s string) string {
	j := strings.Join(words(fold(s), ""), " ")
	if c, ok := states[j]; ok {
		return c
	}
	if len(j) == 2 {
		return strings.ToUpper(j)
	}
	return j
}

// countries: the spellings of a few countries, to ISO 3166 alpha-2.
var countries = map[string]string{
	"us": "US", "usa": "US", "u s": "US", "u s a": "US", "united states": "US",
	"united states of america": "US", "america": "US",
	"ca": "CA", "can": "CA", "canada": "CA", "mx": "MX", "mex": "MX", "mexico": "MX",
	"gb": "GB", "uk": "GB", "united kingdom": "GB", "great britain": "GB",
}

func normCountry(s string) string {
	j := strings.Join(words(fold(s), ""), " ")
	if c, ok := countries[j]; ok {
		return c
	}
	return j
}

// normPostal gives a US ZIP code's five digits (zip true) when s is 5 or 9
// digits after dropping everything but digits, or 4 or 8 (a leading zero
// lost, as spreadsheets do), else its letters and digits.
func normPostal(s string) (code string, zip bool) {
	var b strings.Builder
	for _, r := range fold(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	c := b.String()
	if allDigits(c) {
		switch len(c) {
		case 4, 8:
			c = "0" + c
			fallthrough
		case 5, 9:
			return c[:5], true
		}
	}
	return c, false
}

// Address is a postal address. Street holds the first line (house number,
// street, and possibly the unit); Street2 the second line, if any, which is
// read as the continuation of the first.
type Address struct {
	Street     string `json:"street,omitempty"`
	Street2    string `json:"street2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Address component names.
const (
	ComponentHouseNumber = "house_number"
	ComponentStreet      = "street"
	ComponentUnit        = "unit"
	ComponentCity        = "city"
	ComponentState       = "state"
	ComponentPostalCode  = "postal_code"
	ComponentCountry     = "country"
)

// Component is the score of one address component.
type Component struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	Compared bool   `json:"compared"`
	Score    int    `json:"score"`
	Missing  Side   `json:"missing,omitempty"`
}

func missing(a, b bool) Side {
	switch {
	case !a && !b:
		return SideBoth
	case !a:
		return SideUpstream
	case !b:
		return SideOwner
	}
	return ""
}

func component(name string, weight int, hasA, hasB bool, score func() int) Component {
	c := Component{Name: name, Weight: weight, Missing: missing(hasA, hasB)}
	if c.Missing == "" {
		c.Compared, c.Score = true, score()
	}
	return c
}

// AddressScore compares two addresses component by component (package
// doc, "Addresses"); a is the upstream's side, b the owner's. ok is false
// when no component could be compared.
func AddressScore(a, b Address) (score int, components []Component, ok bool) {
	la, lb := parseStreet(strings.TrimSpace(a.Street+" "+a.Street2)), parseStreet(strings.TrimSpace(b.Street+" "+b.Street2))
	ca, cb := cityTokens(a.City), cityTokens(b.City)
	sa, sb := normState(a.State), normState(b.State)
	pa, za := normPostal(a.PostalCode)
	pb, zb := normPostal(b.PostalCode)
	na, nb := normCountry(a.Country), normCountry(b.Country)
	exact := func(x, y string) func() int {
		return func() int {
			if x == y {
				return 100
			}
			return 0
		}
	}
	tokens := func(x, y []token, sim func(x, y token) float64) func() int {
		return func() int {
			sum, d, _ := align(x, y, sim)
			if d == 0 {
				return 0
			}
			return percent(sum / float64(d))
		}
	}
	unit := component(ComponentUnit, WeightUnit, la.any, lb.any, func() int {
		switch {
		case la.unit == lb.unit:
			return 100
		case la.unit == "" || lb.unit == "":
			return UnitMissingScore
		}
		return 0
	})
	if unit.Compared && la.unit == "" && lb.unit == "" {
		// Neither gives a unit: the component does not count.
		unit = Component{Name: ComponentUnit, Weight: WeightUnit, Missing: SideBoth}
	}
	components = []Component{
		component(ComponentHouseNumber, WeightHouseNumber, la.number != "", lb.number != "", exact(la.number, lb.number)),
		component(ComponentStreet, WeightStreet, len(la.name) > 0, len(lb.name) > 0, tokens(la.name, lb.name, streetSim)),
		unit,
		component(ComponentCity, WeightCity, len(ca) > 0, len(cb) > 0, tokens(ca, cb, streetSimCity)),
		component(ComponentState, WeightState, sa != "", sb != "", exact(sa, sb)),
		component(ComponentPostalCode, WeightPostalCode, pa != "", pb != "", func() int {
			if za != zb {
				return 0
			}
			return exact(pa, pb)()
		}),
		component(ComponentCountry, WeightCountry, na != "", nb != "", exact(na, nb)),
	}
	var num, den int
	for _, c := range components {
		if c.Compared {
			num += c.Weight * c.Score
			den += c.Weight
		}
	}
	if den == 0 {
		return 0, components, false
	}
	return roundDiv(num, den), components, true
}

// streetSimCity: exact, else Jaro–Winkler of words of 3 letters or more.
func streetSimCity(tx, ty token) float64 {
	x, y := tx.s, ty.s
	if x == y {
		return 1
	}
	if len([]rune(x)) < 3 || len([]rune(y)) < 3 || hasDigit(x) || hasDigit(y) {
		return 0
	}
	if jw := jaroWinkler(x, y); jw >= FuzzyFloor {
		return jw
	}
	return 0
}

// roundDiv is num/den rounded half up (num, den ≥ 0, den > 0).
func roundDiv(num, den int) int {
	return (2*num + den) / (2 * den)
}
