package handlers

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
)

// credentialsTTL is how long a worker reuses an institution's credential
// fields before asking MX again. Fields change rarely; when MX refuses a
// member built from cached fields, they are fetched again at once.
const credentialsTTL = 10 * time.Minute

// credentialCache keeps institutions' credential fields (names and guids,
// never values) per worker process: one MX call per institution per TTL
// instead of one per job.
type credentialCache struct {
	mu sync.Mutex
	m  map[string]cachedCredentials
}

type cachedCredentials struct {
	fields []mx.Credential
	at     time.Time
}

// get returns the institution's fields and whether they came from the
// cache (fetched less than credentialsTTL before now); fresh skips it.
func (c *credentialCache) get(ctx context.Context, mxc *mx.Client, code string, fresh bool, now time.Time) ([]mx.Credential, bool, error) {
	c.mu.Lock()
	e, ok := c.m[code]
	c.mu.Unlock()
	if ok && !fresh && now.Sub(e.at) < credentialsTTL {
		return slices.Clone(e.fields), true, nil
	}
	fields, err := mx.Collect(mxc.InstitutionCredentials(ctx, code))
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedCredentials{}
	}
	c.m[code] = cachedCredentials{fields: fields, at: now}
	c.mu.Unlock()
	return slices.Clone(fields), false, nil
}

// MapCredentials maps the values a caller gave by name to the
// institution's credential fields. A name matches a field by its
// field_name, else by its label (both ignoring case and spaces), else it is
// the field's guid: MX Bank's password field is field_name PASSWORD, label
// "Password", guid CRD-e3d7ea81-…, and "password" finds it. Every field
// must be given exactly once. Errors name the fields a caller may use,
// never a value.
func MapCredentials(fields []mx.Credential, given map[string]string) ([]mx.CredentialValue, string, string) {
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
		return nil, job.CodeUnknownCredential, "the institution takes no credentials (it uses OAuth: submit the job with member.oauth, CLI --oauth, and no credentials)"
	}
	byField := make([]string, len(fields)) // the given name that fills each field
	keys := slices.Sorted(maps.Keys(given))
	for _, name := range keys {
		i := matchField(fields, name)
		if i < 0 {
			return nil, job.CodeUnknownCredential, fmt.Sprintf("no credential field %q (fields: %s)", name, usable)
		}
		if byField[i] != "" {
			return nil, job.CodeUnknownCredential, fmt.Sprintf("credentials %q and %q both name field %s (fields: %s)", byField[i], name, names[i], usable)
		}
		byField[i] = name
	}
	out := make([]mx.CredentialValue, 0, len(fields))
	for i, f := range fields {
		if byField[i] == "" {
			return nil, job.CodeMissingCredential, fmt.Sprintf("credential %s is required (fields: %s)", names[i], usable)
		}
		out = append(out, mx.CredentialValue{GUID: f.GUID, Value: given[byField[i]]})
	}
	return out, "", ""
}

// matchField is the index of the field name names (by field_name, then
// label, then guid), or -1.
func matchField(fields []mx.Credential, name string) int {
	n := fold(name)
	if n == "" {
		return -1
	}
	for _, by := range []func(mx.Credential) string{
		func(f mx.Credential) string { return fold(f.FieldName) },
		func(f mx.Credential) string { return fold(f.Label) },
	} {
		if i := slices.IndexFunc(fields, func(f mx.Credential) bool { return by(f) == n }); i >= 0 {
			return i
		}
	}
	return slices.IndexFunc(fields, func(f mx.Credential) bool { return f.GUID == strings.TrimSpace(name) })
}

// fold is s without case and spaces: "User Name" and "username" match.
func fold(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}
