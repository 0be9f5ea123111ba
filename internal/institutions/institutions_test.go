package institutions_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

func directory(t *testing.T, v mx.Version) (*institutions.Directory, *mxsim.Server, *testenv.Redis) {
	t.Helper()
	sim := mxsim.New()
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	mxc, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey), mx.WithVersion(v))
	if err != nil {
		t.Fatal(err)
	}
	r := testenv.NewRedis(t)
	return institutions.New(mxc, store.New(r.Client, seal.Ephemeral()), 0, zerolog.Nop()), sim, r
}

// Search and detail in both API versions, the second call of each from
// the cache (the simulator sees no second MX call).
func TestSearchAndDetailAreCached(t *testing.T) {
	for _, v := range []mx.Version{mx.V20250224, mx.V20111101} {
		t.Run(string(v), func(t *testing.T) {
			d, sim, _ := directory(t, v)
			ctx := t.Context()
			p, cached, err := d.Search(ctx, "MX Bank", 1)
			if err != nil || cached {
				t.Fatalf("search: cached %v, %v", cached, err)
			}
			byCode := map[string]institutions.Institution{}
			for _, in := range p.Institutions {
				byCode[in.Code] = in
			}
			if in := byCode["mxbank"]; !in.SupportsVerification || !in.SupportsIdentification || in.SupportsOAuth || len(in.Credentials) != 0 {
				t.Fatalf("mxbank in a search: %+v", in)
			}
			if in := byCode["mx_bank_oauth"]; !in.SupportsOAuth {
				t.Fatalf("mx_bank_oauth in a search: %+v (page %+v)", in, p)
			}
			if p.Page != 1 || p.TotalEntries < 2 {
				t.Fatalf("page %+v", p)
			}
			calls := sim.Stats().Calls["listInstitutions"]
			p2, cached, err := d.Search(ctx, " mx bank ", 1)
			if err != nil || !cached || len(p2.Institutions) != len(p.Institutions) || sim.Stats().Calls["listInstitutions"] != calls {
				t.Fatalf("second search: cached %v, %v, MX calls %d → %d", cached, err, calls, sim.Stats().Calls["listInstitutions"])
			}

			in, cached, err := d.Get(ctx, "mxbank")
			if err != nil || cached {
				t.Fatalf("get: cached %v, %v", cached, err)
			}
			if len(in.Credentials) != 2 || in.Credentials[0].FieldName != "LOGIN" || in.Credentials[0].Label != "Username" ||
				in.Credentials[1].FieldName != "PASSWORD" || in.Credentials[1].Type != "PASSWORD" || in.Credentials[0].GUID == "" {
				t.Fatalf("mxbank's fields: %+v", in.Credentials)
			}
			before := sim.Stats().Calls
			in2, cached, err := d.Get(ctx, "mxbank")
			after := sim.Stats().Calls
			if err != nil || !cached || len(in2.Credentials) != 2 ||
				after["readInstitution"] != before["readInstitution"] || after["listInstitutionCredentials"] != before["listInstitutionCredentials"] {
				t.Fatalf("second get: cached %v, %v, %+v", cached, err, in2)
			}
			if in, _, err := d.Get(ctx, "mxbank_noid"); err != nil || in.SupportsIdentification || !in.SupportsVerification {
				t.Fatalf("mxbank_noid: %+v %v", in, err)
			}
			if in, _, err := d.Get(ctx, "mx_bank_oauth"); err != nil || !in.SupportsOAuth || len(in.Credentials) != 0 {
				t.Fatalf("mx_bank_oauth: %+v %v", in, err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	d, _, _ := directory(t, mx.V20250224)
	ctx := t.Context()
	if _, _, err := d.Search(ctx, "  ", 1); !errors.Is(err, institutions.ErrEmptySearch) {
		t.Fatalf("empty search: %v", err)
	}
	for _, code := range []string{"", "a/b", "x y", string(make([]byte, 101))} {
		if _, _, err := d.Get(ctx, code); !errors.Is(err, institutions.ErrBadCode) {
			t.Fatalf("code %q: %v", code, err)
		}
	}
	var me *mx.Error
	if _, _, err := d.Get(ctx, "no_such_bank"); !errors.As(err, &me) || me.StatusCode != 404 {
		t.Fatalf("unknown code: %v", err)
	}
}

// Without Redis the directory still answers, from MX.
func TestWithoutRedisAsksMX(t *testing.T) {
	d, sim, r := directory(t, mx.V20250224)
	if !r.Real {
		t.Skip("needs redis-server (Stop)")
	}
	r.Stop(t)
	ctx := t.Context()
	for range 2 {
		if in, cached, err := d.Get(ctx, "mxbank"); err != nil || cached || len(in.Credentials) != 2 {
			t.Fatalf("get without Redis: %+v cached %v, %v", in, cached, err)
		}
	}
	if n := sim.Stats().Calls["readInstitution"]; n != 2 {
		t.Fatalf("readInstitution called %d times, want 2 (no cache)", n)
	}
}
