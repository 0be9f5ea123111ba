package handlers

import (
	"context"
	"slices"
	"sync"
	"time"

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
// cache; fresh skips the cache.
func (c *credentialCache) get(ctx context.Context, mxc *mx.Client, code string, fresh bool) ([]mx.Credential, bool, error) {
	c.mu.Lock()
	e, ok := c.m[code]
	c.mu.Unlock()
	if ok && !fresh && time.Since(e.at) < credentialsTTL {
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
	c.m[code] = cachedCredentials{fields: fields, at: time.Now()}
	c.mu.Unlock()
	return slices.Clone(fields), false, nil
}
