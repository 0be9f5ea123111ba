package job

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Field is one of an institution's credential fields as MX lists them
// (never a value).
type Field struct {
	GUID, FieldName, Label string
}

// Mismatch says why credentials given by name do not fit an
// institution's fields: its code (unknown_credential,
// missing_credential) is CredentialsUnmapped's; Error names the fields a
// caller may use, never a value.
type Mismatch struct {
	code, detail string
}

func (m *Mismatch) Error() string { return m.detail }

// MapCredentials maps the values a caller gave by name to the
// institution's credential fields, returning the values in field order. A
// name matches a field by its field_name, else by its label (both
// ignoring case and spaces), else it is the field's guid: MX Bank's
// password field is field_name PASSWORD, label "Password", guid
// CRD-e3d7ea81-…, and "password" finds it. Every field must be given
// exactly once.
func MapCredentials(fields []Field, given map[string]string) ([]string, *Mismatch) {
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		switch {
		case f.Label != "" && f.FieldName != "" && fold(f.Label) != fold(f.FieldName):
			names = append(names, fmt.Sprintf("%s (%s)", f.Label, f.FieldName))
		default:
			names = append(names, cmp.Or(f.Label, f.FieldName, f.GUID))
		}
	}
	usable := strings.Join(names, ", ")
	if len(fields) == 0 && len(given) > 0 {
		// MX lists no credential fields for an institution that uses
		// OAuth: the end user authorizes at the institution instead.
		return nil, &Mismatch{CodeUnknownCredential, "the institution takes no credentials (it uses OAuth: submit the job with member.oauth, CLI --oauth, and no credentials)"}
	}
	byField := make([]string, len(fields)) // the given name that fills each field
	for _, name := range slices.Sorted(maps.Keys(given)) {
		i := matchField(fields, name)
		if i < 0 {
			return nil, &Mismatch{CodeUnknownCredential, fmt.Sprintf("no credential field %q (fields: %s)", name, usable)}
		}
		if byField[i] != "" {
			return nil, &Mismatch{CodeUnknownCredential, fmt.Sprintf("credentials %q and %q both name field %s (fields: %s)", byField[i], name, names[i], usable)}
		}
		byField[i] = name
	}
	out := make([]string, 0, len(fields))
	for i := range fields {
		if byField[i] == "" {
			return nil, &Mismatch{CodeMissingCredential, fmt.Sprintf("credential %s is required (fields: %s)", names[i], usable)}
		}
		out = append(out, given[byField[i]])
	}
	return out, nil
}

// matchField is the index of the field name names (by field_name, then
// label, then guid), or -1.
func matchField(fields []Field, name string) int {
	n := fold(name)
	if n == "" {
		return -1
	}
	for _, by := range []func(Field) string{
		func(f Field) string { return fold(f.FieldName) },
		func(f Field) string { return fold(f.Label) },
	} {
		if i := slices.IndexFunc(fields, func(f Field) bool { return by(f) == n }); i >= 0 {
			return i
		}
	}
	return slices.IndexFunc(fields, func(f Field) bool { return f.GUID == strings.TrimSpace(name) })
}

// fold is s without case and spaces: "User Name" and "username" match.
func fold(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}
