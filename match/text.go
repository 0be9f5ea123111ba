package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxValueBytes bounds every input value: longer values are cut (on a rune
// boundary) before they are normalised, so a hostile or corrupt value costs
// no more than a legal one.
const MaxValueBytes = 256

// maxTokens bounds the tokens of one name (per person of a joint name) or
// one street line; further tokens are dropped.
const maxTokens = 12

// maxPersons bounds the persons read from one joint name.
const maxPersons = 4

// clip cuts s to MaxValueBytes on a rune boundary.
func clip(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	s = s[:MaxValueBytes]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// foldSpecial holds the letters that Unicode compatibility decomposition
// does not reduce to ASCII, with their conventional Latin spellings.
var foldSpecial = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ð': "d",
	'ł': "l", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ŀ': "l",
}

// fold lowercases s, decomposes it (NFKD), drops the combining marks and
// spells the letters of foldSpecial in ASCII: "José" → "jose", "Straße" →
// "strasse", "Ø" → "o", full-width digits → ASCII digits.
func fold(s string) string {
	s = clip(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if rep, ok := foldSpecial[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isApostrophe reports the characters deleted inside a word (O'Neil →
// oneil) rather than splitting it.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', '`', '´':
		return true
	}
	return false
}

// words splits a folded string into words: runs of letters and digits;
// apostrophes are deleted, every other character separates. keep lists
// characters returned as words of their own (',' for names, '#' for
// streets).
func words(s, keep string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		case isApostrophe(r):
		case strings.ContainsRune(keep, r):
			flush()
			out = append(out, string(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

func hasDigit(s string) bool {
	for _, r := range s {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// jaroWinkler is the Jaro–Winkler similarity of a and b in [0, 1] (Winkler's
// prefix scale 0.1, common prefix up to 4 runes).
func jaroWinkler(as, bs string) float64 {
	a, b := []rune(as), []rune(bs)
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		if la == lb {
			return 1
		}
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	ma, mb := make([]bool, la), make([]bool, lb)
	m := 0
	for i := range a {
		for j := max(0, i-window); j <= min(lb-1, i+window); j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, k := 0, 0
	for i := range a {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			t++
		}
		k++
	}
	fm := float64(m)
	jaro := (fm/float64(la) + fm/float64(lb) + (fm-float64(t)/2)/fm) / 3
	prefix := 0
	for prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}
