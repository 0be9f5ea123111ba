package handlers

import (
	"context"
	"slices"
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
// institution's credential fields as package job decides
// (job.MapCredentials: by field_name, label or guid, every field once);
// a mismatch is job's, naming the fields a caller may use, never a value.
func MapCredentials(fields []mx.Credential, given map[string]string) ([]mx.CredentialValue, *job.Mismatch) {
	fs := make([]job.Field, len(fields))
	for i, f := range fields {
		fs[i] = job.Field{GUID: f.GUID, FieldName: f.FieldName, Label: f.Label}
	}
	values, mis := job.MapCredentials(fs, given)
	if mis != nil {
		return nil, mis
	}
	out := make([]mx.CredentialValue, len(fields))
	for i, f := range fields {
		out[i] = mx.CredentialValue{GUID: f.GUID, Value: values[i]}
	}
	return out, nil
}
