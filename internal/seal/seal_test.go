package seal_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/seal"
)

func TestSealOpenRotate(t *testing.T) {
	k1, _ := seal.Generate("k1")
	k2, _ := seal.Generate("k2")
	old, err := seal.Parse(k1)
	if err != nil {
		t.Fatal(err)
	}
	v := old.Seal("job/a/password", "hunter2")
	if strings.Contains(v, "hunter2") || !strings.HasPrefix(v, "mxs1.k1.") {
		t.Fatalf("sealed %q", v)
	}
	rotated, _ := seal.Parse(k2 + "," + k1) // new key seals, old still opens
	if got, err := rotated.Open("job/a/password", v); err != nil || got != "hunter2" {
		t.Fatalf("open after rotation: %q %v", got, err)
	}
	if nv := rotated.Seal("c", "x"); !strings.HasPrefix(nv, "mxs1.k2.") {
		t.Fatalf("rotated ring seals with %q", nv)
	}
	gone, _ := seal.Parse(k2)
	if _, err := gone.Open("job/a/password", v); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("rotated-away key: %v", err)
	}
	if _, err := old.Open("job/b/password", v); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("moved value opened or leaked: %v", err)
	}
	wrong, _ := seal.Generate("k1")
	wk, _ := seal.Parse(wrong)
	if _, err := wk.Open("job/a/password", v); err == nil || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("wrong key material: %v", err)
	}
}

func TestParseRefusesBadKeys(t *testing.T) {
	for _, s := range []string{"", "k1", "k1:short", "bad id:AAAA", "k1:" + strings.Repeat("A", 44) + ",k1:" + strings.Repeat("A", 44)} {
		if _, err := seal.Parse(s); err == nil {
			t.Errorf("%q accepted", s)
		} else if strings.Contains(err.Error(), strings.Repeat("A", 10)) {
			t.Errorf("error quotes key material: %v", err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	k := seal.Ephemeral()
	f.Add(k.Seal("c", "value"))
	f.Add("mxs1.ephemeral.")
	f.Add("mxs1.x.AAAA")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := k.Open("c", s); err == nil && !seal.IsSealed(s) {
			t.Fatalf("opened a value that is not sealed: %q", s)
		}
	})
}

func TestNewKeyIDIsUniquePerKeyAndParses(t *testing.T) {
	day := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var ring []string
	for range 50 {
		id := seal.NewKeyID(day)
		if !strings.HasPrefix(id, "k20261124-") {
			t.Fatalf("id %q does not start with the date", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice on one day", id)
		}
		seen[id] = true
		k, err := seal.Generate(id)
		if err != nil {
			t.Fatalf("Generate(%q): %v", id, err)
		}
		ring = append(ring, k)
	}
	// every id is valid for the keyring parser, and all of them fit in one ring
	if _, err := seal.Parse(strings.Join(ring, ",")); err != nil {
		t.Fatal(err)
	}
}

func TestOtherKeyMaterialUnderOneIDSaysWrongKey(t *testing.T) {
	a, _ := seal.Generate("k1")
	b, _ := seal.Generate("k1")
	ra, _ := seal.Parse(a)
	rb, _ := seal.Parse(b)
	_, err := rb.Open("c", ra.Seal("c", "x"))
	if !errors.Is(err, seal.ErrWrongKey) || !strings.Contains(err.Error(), "wrong key material") {
		t.Fatalf("open with other material under the same id: %v", err)
	}
	if _, err := rb.Open("c", seal.Ephemeral().Seal("c", "x")); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("open with another id: %v", err)
	}
}
