// Package institutions is the fleet's institution directory: what an
// upstream needs to build its own form (search by name, whether an
// institution supports verification and identification, whether it uses
// OAuth, its credential fields), read from MX and cached in Redis for the
// whole fleet, so that a busy upstream does not turn every page view into
// an MX call. MX recommends caching institutions and their credentials and
// refreshing them daily (docs.mx.com/api-reference/platform-api/reference/institutions).
package institutions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// DefaultTTL is how long a search page or an institution stays cached
// (MXFLEET_INSTITUTION_CACHE_TTL): a day, as MX recommends.
const DefaultTTL = 24 * time.Hour

// PerPage is the size of a search page (MX's records_per_page, 10..100).
const PerPage = 25

// ErrEmptySearch: a search needs a name (MX searches names and urls).
var ErrEmptySearch = errors.New("institutions: give a name to search for")

// ErrBadCode: an institution code is 1 to 100 letters, digits, '_', '-'
// or '.' (MX's codes are lower-case words such as mxbank).
var ErrBadCode = errors.New("institutions: an institution code is 1 to 100 letters, digits, '_', '-' or '.'")

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// Institution is what the fleet tells of one institution. The same shape
// in both MX API versions: v20250224's supported_products and v20111101's
// supports_* booleans both read into the two Supports fields.
type Institution struct {
	Code                   string  `json:"code"`
	Name                   string  `json:"name"`
	URL                    string  `json:"url,omitempty"`
	SupportsVerification   bool    `json:"supports_verification"`
	SupportsIdentification bool    `json:"supports_identification"`
	SupportsOAuth          bool    `json:"supports_oauth"`
	Credentials            []Field `json:"credentials,omitempty"` // Get only; none for OAuth institutions
}

// Field is one credential an institution asks for, in display order.
// Neither MX spec gives options for a field.
type Field struct {
	FieldName    string `json:"field_name"`
	Label        string `json:"label"`
	Type         string `json:"type"` // LOGIN, PASSWORD, TEXT, …
	DisplayOrder int    `json:"display_order"`
	GUID         string `json:"guid"`
}

// Page is one page of a search.
type Page struct {
	Institutions []Institution `json:"institutions"`
	Page         int           `json:"page"`
	PerPage      int           `json:"per_page"`
	TotalPages   int           `json:"total_pages"`
	TotalEntries int           `json:"total_entries"`
}

// Directory searches and reads institutions through a cache.
type Directory struct {
	mx  *mx.Client
	st  *store.Store
	ttl time.Duration
	log zerolog.Logger
}

// New builds a directory over an MX client and the fleet's store; ttl 0
// is DefaultTTL.
func New(mxc *mx.Client, st *store.Store, ttl time.Duration, log zerolog.Logger) *Directory {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Directory{mx: mxc, st: st, ttl: ttl, log: log}
}

// Search reads page (1-based) of the institutions whose name or url
// matches name. cached says it came from the cache.
func (d *Directory) Search(ctx context.Context, name string, page int) (p *Page, cached bool, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, false, ErrEmptySearch
	}
	page = max(page, 1)
	sum := sha256.Sum256([]byte(strings.ToLower(name)))
	key := fmt.Sprintf("institutions:%s:search:%s:%d", d.mx.Version(), hex.EncodeToString(sum[:12]), page)
	p = &Page{}
	if d.get(ctx, key, p) {
		return p, true, nil
	}
	res, err := d.mx.ListInstitutions(ctx, mx.InstitutionSearch{Name: name, RecordsPerPage: PerPage}, page)
	if err != nil {
		return nil, false, err
	}
	p = &Page{Institutions: []Institution{}, Page: max(res.Pagination.CurrentPage, page), PerPage: res.Pagination.PerPage,
		TotalPages: res.Pagination.TotalPages, TotalEntries: res.Pagination.TotalEntries}
	for i := range res.Institutions {
		p.Institutions = append(p.Institutions, view(&res.Institutions[i]))
	}
	d.put(ctx, key, p)
	return p, false, nil
}

// Get reads one institution with its credential fields (MX's 404: an
// *mx.Error with StatusCode 404).
func (d *Directory) Get(ctx context.Context, code string) (in *Institution, cached bool, err error) {
	if !codeRE.MatchString(code) {
		return nil, false, ErrBadCode
	}
	key := fmt.Sprintf("institutions:%s:code:%s", d.mx.Version(), code)
	in = &Institution{}
	if d.get(ctx, key, in) {
		return in, true, nil
	}
	m, err := d.mx.ReadInstitution(ctx, code)
	if err != nil {
		return nil, false, err
	}
	v := view(m)
	for c, err := range d.mx.InstitutionCredentials(ctx, code) {
		if err != nil {
			return nil, false, err
		}
		t := string(c.FieldType)
		if t == "" {
			t = string(c.Type)
		}
		v.Credentials = append(v.Credentials, Field{FieldName: c.FieldName, Label: c.Label, Type: t, DisplayOrder: c.DisplayOrder, GUID: c.GUID})
	}
	slices.SortStableFunc(v.Credentials, func(a, b Field) int { return a.DisplayOrder - b.DisplayOrder })
	d.put(ctx, key, &v)
	return &v, false, nil
}

func view(m *mx.Institution) Institution {
	return Institution{Code: m.Code, Name: m.Name, URL: m.URL,
		SupportsVerification:   m.Supports(mx.ProductAccountVerification),
		SupportsIdentification: m.Supports(mx.ProductIdentityVerification),
		SupportsOAuth:          m.SupportsOAuth}
}

// get and put never fail the caller: without Redis the directory asks MX.
func (d *Directory) get(ctx context.Context, key string, v any) bool {
	ok, err := d.st.CacheGet(ctx, key, v)
	if err != nil {
		d.log.Warn().Err(err).Msg("institution cache unreadable: asking MX")
	}
	return ok
}

func (d *Directory) put(ctx context.Context, key string, v any) {
	if err := d.st.CachePut(ctx, key, v, d.ttl); err != nil {
		d.log.Warn().Err(err).Msg("institution cache not written")
	}
}
