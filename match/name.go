package match

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Token similarities of the name comparison (see the package doc).
const (
	// InitialSimilarity is the similarity of an initial and a name that
	// begins with it (J / James).
	InitialSimilarity = 0.8
	// NicknameSimilarity is the similarity of two names related by the
	// nickname table (Bob / Robert, Bob / Rob).
	NicknameSimilarity = 0.9
	// FuzzyFloor is the lowest Jaro–Winkler similarity that counts; below
	// it two tokens do not pair.
	FuzzyFloor = 0.85
)

// honorifics are dropped wherever they stand in a name.
var honorifics = set("mr", "mrs", "ms", "miss", "mx", "mister", "madam", "dr", "prof", "rev", "fr", "sir", "dame", "hon", "messrs")

// generational suffixes, canonicalised; they are compared (Jr vs Sr is a
// mismatch, one side without is not).
var generational = map[string]string{
	"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr",
	"ii": "ii", "2nd": "ii", "iii": "iii", "3rd": "iii", "iv": "iv", "4th": "iv",
}

// credentials are dropped and not compared. Written with inner periods
// (M.D.) they read as initials.
var credentials = set("esq", "md", "phd", "dds", "dvm", "cpa", "rn")

func set(ss ...string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// nicknames is a compact table of common US English given names and their
// usual nicknames. It is not exhaustive: names outside it compare by
// spelling only.
var nicknames = map[string][]string{
	"abigail":     {"abby", "gail"},
	"albert":      {"al", "bert"},
	"alexander":   {"alex", "al", "sandy", "xander"},
	"alexandra":   {"alex", "lexi", "sandra", "sandy"},
	"alfred":      {"al", "alf", "fred"},
	"allison":     {"ally", "allie"},
	"andrew":      {"andy", "drew"},
	"anthony":     {"tony"},
	"barbara":     {"barb", "babs", "barbie"},
	"benjamin":    {"ben", "benny", "benji"},
	"catherine":   {"cathy", "kate", "katie", "kat", "cat"},
	"charles":     {"charlie", "chuck", "chas"},
	"christina":   {"chris", "tina", "chrissy"},
	"christine":   {"chris", "tina", "chrissy"},
	"christopher": {"chris", "kit", "topher"},
	"cynthia":     {"cindy"},
	"daniel":      {"dan", "danny"},
	"david":       {"dave", "davy"},
	"deborah":     {"deb", "debbie", "debra"},
	"donald":      {"don", "donnie"},
	"dorothy":     {"dot", "dottie", "dolly"},
	"douglas":     {"doug"},
	"edward":      {"ed", "eddie", "ted", "ned"},
	"elizabeth":   {"liz", "lizzie", "beth", "betty", "betsy", "eliza", "libby", "liza"},
	"eugene":      {"gene"},
	"frances":     {"fran", "frannie"},
	"francis":     {"frank", "fran"},
	"frederick":   {"fred", "freddie"},
	"gerald":      {"gerry", "jerry"},
	"gregory":     {"greg"},
	"harold":      {"hal", "harry"},
	"henry":       {"hank", "harry", "hal"},
	"jacqueline":  {"jackie"},
	"james":       {"jim", "jimmy", "jamie"},
	"jennifer":    {"jen", "jenny"},
	"jeffrey":     {"jeff"},
	"john":        {"jack", "johnny"},
	"jonathan":    {"jon"},
	"joseph":      {"joe", "joey"},
	"judith":      {"judy"},
	"katherine":   {"kate", "katie", "kathy", "kat", "kitty", "kay"},
	"kathryn":     {"kate", "katie", "kathy", "kat"},
	"kenneth":     {"ken", "kenny"},
	"kimberly":    {"kim"},
	"lawrence":    {"larry"},
	"leonard":     {"len", "lenny", "leo"},
	"margaret":    {"peggy", "maggie", "meg", "marge", "margie", "greta"},
	"matthew":     {"matt"},
	"michael":     {"mike", "mikey", "mick"},
	"nathan":      {"nate", "nat"},
	"nathaniel":   {"nate", "nat"},
	"nicholas":    {"nick", "nicky"},
	"pamela":      {"pam"},
	"patricia":    {"pat", "patty", "trish", "tricia"},
	"patrick":     {"pat", "paddy"},
	"peter":       {"pete"},
	"philip":      {"phil"},
	"phillip":     {"phil"},
	"raymond":     {"ray"},
	"rebecca":     {"becky", "becca"},
	"richard":     {"dick", "rick", "ricky", "rich", "richie"},
	"robert":      {"bob", "bobby", "rob", "robbie"},
	"ronald":      {"ron", "ronnie"},
	"samantha":    {"sam", "sammy"},
	"samuel":      {"sam", "sammy"},
	"stephen":     {"steve", "stevie"},
	"steven":      {"steve", "stevie"},
	"susan":       {"sue", "susie", "suzy"},
	"theodore":    {"ted", "teddy", "theo"},
	"thomas":      {"tom", "tommy"},
	"timothy":     {"tim", "timmy"},
	"victoria":    {"vicky", "tori"},
	"vincent":     {"vince"},
	"virginia":    {"ginny"},
	"walter":      {"walt"},
	"william":     {"bill", "billy", "will", "willie", "liam"},
	"zachary":     {"zach", "zack"},
}

// formalOf maps every name of the table to the formal names it stands for
// (a formal name to itself).
var formalOf = func() map[string][]string {
	m := map[string][]string{}
	for formal, nicks := range nicknames {
		m[formal] = append(m[formal], formal)
		for _, n := range nicks {
			m[n] = append(m[n], formal)
		}
	}
	return m
}()

// related reports whether x and y stand for a common formal name: a formal
// name and one of its nicknames, or two nicknames of one formal name. Two
// different formal names never are (Albert and Alfred share "Al").
func related(x, y string) bool {
	_, fx := nicknames[x]
	_, fy := nicknames[y]
	if fx && fy {
		return false
	}
	for _, fx := range formalOf[x] {
		for _, fy := range formalOf[y] {
			if fx == fy {
				return true
			}
		}
	}
	return false
}

// nameSim is the similarity of two name tokens (package doc, "Names").
func nameSim(tx, ty token) float64 {
	x, y := tx.s, ty.s
	if x == y {
		return 1
	}
	nx, ny := utf8.RuneCountInString(x), utf8.RuneCountInString(y)
	if nx == 1 || ny == 1 {
		// An initial stands for a name in its own place only: a middle
		// initial for a middle name, a first or last for a first or last.
		if tx.k == ty.k && ((nx == 1 && strings.HasPrefix(y, x)) || (ny == 1 && strings.HasPrefix(x, y))) {
			return InitialSimilarity
		}
		return 0
	}
	best := 0.0
	if related(x, y) {
		best = NicknameSimilarity
	}
	if nx >= 3 && ny >= 3 && !hasDigit(x) && !hasDigit(y) && !otherForm(x, y) {
		if jw := jaroWinkler(x, y); jw >= FuzzyFloor && jw > best {
			best = jw
		}
	}
	return best
}

// otherFormEndings turn a given name into another one, usually its
// feminine form (Robert → Roberta, Daniel → Danielle, Paul → Paulette,
// Joseph → Josephine).
var otherFormEndings = []string{"a", "le", "lle", "ette", "ine", "ina"}

// otherForm reports whether one of x and y is the other (of 4 letters or
// more) plus one of otherFormEndings: Jaro–Winkler rates such pairs highly,
// but they are different names.
func otherForm(x, y string) bool {
	if len(x) > len(y) {
		x, y = y, x
	}
	if utf8.RuneCountInString(x) < 4 || !strings.HasPrefix(y, x) {
		return false
	}
	for _, e := range otherFormEndings {
		if y[len(x):] == e {
			return true
		}
	}
	return false
}

// person is one person's name: its words in given-name-first order,
// honorifics, suffixes and credentials removed, and its generational suffix.
type person struct {
	words  []string
	suffix string
}

// parseName reads the persons of a name: one, or several joined by "and"
// or "&".
func parseName(s string) []person {
	var parts [][]string
	cur := []string{}
	for _, w := range words(fold(s), ",&") {
		if w == "and" || w == "&" {
			parts = append(parts, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	parts = append(parts, cur)
	var ps []person
	for _, part := range parts {
		if p := parsePerson(part); len(p.words) > 0 {
			ps = append(ps, p)
			if len(ps) == maxPersons {
				break
			}
		}
	}
	// "John and Jane Smith": a single given name takes the last person's
	// surname.
	if n := len(ps); n > 1 && len(ps[n-1].words) > 1 {
		last := ps[n-1].words[len(ps[n-1].words)-1]
		for i := range ps[:n-1] {
			if len(ps[i].words) == 1 {
				ps[i].words = append(ps[i].words, last)
			}
		}
	}
	return ps
}

// decoration reports an honorific, suffix or credential word.
func decoration(w string) bool {
	_, gen := generational[w]
	return gen || honorifics[w] || credentials[w]
}

func parsePerson(ws []string) person {
	var segs [][]string
	var p person
	seg := []string{}
	for _, w := range append(ws[:len(ws):len(ws)], ",") {
		if w != "," {
			seg = append(seg, w)
			continue
		}
		deco := true
		for _, x := range seg {
			deco = deco && decoration(x)
		}
		switch {
		case len(seg) == 0:
		case deco:
			for _, x := range seg {
				if g, ok := generational[x]; ok && p.suffix == "" {
					p.suffix = g
				}
			}
		default:
			segs = append(segs, seg)
		}
		seg = []string{}
	}
	var ordered []string
	if len(segs) > 0 {
		// "Last, First Middle" → First Middle Last.
		for _, s := range segs[1:] {
			ordered = append(ordered, s...)
		}
		ordered = append(ordered, segs[0]...)
	}
	for _, w := range ordered {
		if honorifics[w] {
			continue
		}
		if len(p.words) > 0 {
			if g, ok := generational[w]; ok {
				if p.suffix == "" {
					p.suffix = g
				}
				continue
			}
			if credentials[w] {
				continue
			}
		}
		if len(p.words) < maxTokens {
			p.words = append(p.words, w)
		}
	}
	return p
}

// merge joins runs of 3, else 2, adjacent words whose concatenation is a
// word of other (Mary Ann / Maryann, Mc Donald / McDonald) and gives each
// resulting token its kind: core if it holds the first or last word, else
// middle.
func merge(ws []string, other map[string]bool) []token {
	var out []token
	last := len(ws) - 1
	for i := 0; i < len(ws); {
		n := 1
		for l := 3; l >= 2; l-- {
			if i+l <= len(ws) && other[strings.Join(ws[i:i+l], "")] {
				n = l
				break
			}
		}
		k := kindMiddle
		if i == 0 || i+n-1 == last {
			k = kindCore
		}
		out = append(out, token{strings.Join(ws[i:i+n], ""), k})
		i += n
	}
	return out
}

// nameCmp is the comparison of two persons' names.
type nameCmp struct {
	sim float64 // in [0, 1]
	// nickname: two different tokens related by the nickname table were
	// paired.
	nickname bool
	// firstOrLast: two equal core tokens were paired, and a core token
	// of either side was left unpaired.
	firstOrLast bool
}

// comparePersons compares two persons' names.
func comparePersons(p, q person) nameCmp {
	a, b := merge(p.words, set(q.words...)), merge(q.words, set(p.words...))
	sum, denom, pairs := align(a, b, nameSim)
	if p.suffix != "" && q.suffix != "" && p.suffix != q.suffix {
		denom++
	}
	if denom == 0 {
		return nameCmp{}
	}
	c := nameCmp{sim: sum / float64(denom)}
	coreEqual, pairedA, pairedB := false, 0, 0
	for _, pr := range pairs {
		x, y := a[pr.i], b[pr.j]
		c.nickname = c.nickname || (x.s != y.s && related(x.s, y.s))
		coreEqual = coreEqual || (x.k == kindCore && y.k == kindCore && x.s == y.s)
		if x.k == kindCore {
			pairedA++
		}
		if y.k == kindCore {
			pairedB++
		}
	}
	c.firstOrLast = coreEqual && (pairedA < cores(a) || pairedB < cores(b))
	return c
}

func cores(ts []token) int {
	n := 0
	for _, t := range ts {
		if t.k == kindCore {
			n++
		}
	}
	return n
}

// compareNames compares two parsed names: the first pair of persons of
// the highest similarity decides; ok is false when either has no person.
func compareNames(pa, pb []person) (best nameCmp, ok bool) {
	for _, p := range pa {
		for _, q := range pb {
			if c := comparePersons(p, q); !ok || c.sim > best.sim {
				best, ok = c, true
			}
		}
	}
	return best, ok
}

// NameScore compares two names (package doc, "Names"); ok is false when
// either has no name words after normalisation.
func NameScore(a, b string) (score int, ok bool) {
	c, ok := compareNames(parseName(a), parseName(b))
	return percent(c.sim), ok
}

// businessWords are the words that mark a business (or trust) name: legal
// entity designators and the usual words of organisations' names.
var businessWords = set("llc", "inc", "incorporated", "corp", "corporation", "company", "ltd", "limited",
	"llp", "lllp", "pllc", "plc", "lp", "gmbh", "dba", "trust", "trustee", "ttee",
	"foundation", "holdings", "partnership", "enterprises", "association", "assn")

// businessName reports whether a name holds a word of businessWords, or a
// run of 3 or more single letters that spells one (L.L.C.).
func businessName(s string) bool {
	run := ""
	for _, w := range append(words(fold(s), ""), "") {
		if utf8.RuneCountInString(w) == 1 {
			run += w
			continue
		}
		if businessWords[w] || (len(run) >= 3 && businessWords[run]) {
			return true
		}
		run = ""
	}
	return false
}

// percent maps [0, 1] to 0–100, rounding half up.
func percent(f float64) int {
	if !(f > 0) {
		return 0
	}
	if f >= 1 {
		return 100
	}
	return int(math.Floor(f*100 + 0.5))
}
