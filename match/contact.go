package match

import (
	"strings"
	"unicode"
)

// NormalizePhone returns a phone number in E.164 (+15551234567), ok false
// when it has no usable form (package doc, "Phones"). The default country
// is the US (NANP, +1).
func NormalizePhone(s string) (e164 string, ok bool) {
	f := fold(s)
	// An extension or anything after it: the first letter (x, ext,
	// extension; also vanity letters), ';', ',' or '#'.
	if i := strings.IndexFunc(f, func(r rune) bool {
		return unicode.IsLetter(r) || r == ';' || r == ',' || r == '#'
	}); i >= 0 {
		f = f[:i]
	}
	f = strings.TrimSpace(f)
	plus := strings.HasPrefix(f, "+")
	var b strings.Builder
	for _, r := range f {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if !plus {
		switch {
		case strings.HasPrefix(d, "011"):
			d, plus = d[3:], true
		case strings.HasPrefix(d, "00"):
			d, plus = d[2:], true
		}
	}
	switch {
	case plus && strings.HasPrefix(d, "1"):
		if len(d) == 11 {
			return "+" + d, true
		}
	case plus:
		if len(d) >= 8 && len(d) <= 15 && d[0] != '0' {
			return "+" + d, true
		}
	case len(d) == 10:
		return "+1" + d, true
	case len(d) == 11 && d[0] == '1':
		return "+" + d, true
	}
	return "", false
}

// PhoneScore is 100 when both phones have the same E.164 form, else 0; ok
// is false when either has no usable form.
func PhoneScore(a, b string) (score int, ok bool) {
	pa, oka := NormalizePhone(a)
	pb, okb := NormalizePhone(b)
	if !oka || !okb {
		return 0, false
	}
	if pa == pb {
		return 100, true
	}
	return 0, true
}

// NormalizeEmail lowercases an email address and trims spaces and angle
// brackets around it; ok is false
// when it is not local@domain with both parts non-empty. Provider rules
// (Gmail's ignored dots and +tags) are deliberately not applied: see the
// package doc.
func NormalizeEmail(s string) (email string, ok bool) {
	e := clip(strings.ToLower(clip(s)))
	e = strings.TrimFunc(e, func(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' })
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.ContainsFunc(e, unicode.IsSpace) {
		return "", false
	}
	return e, true
}

// EmailScore is 100 when both emails are equal after NormalizeEmail, else
// 0; ok is false when either is unusable.
func EmailScore(a, b string) (score int, ok bool) {
	ea, oka := NormalizeEmail(a)
	eb, okb := NormalizeEmail(b)
	if !oka || !okb {
		return 0, false
	}
	if ea == eb {
		return 100, true
	}
	return 0, true
}
