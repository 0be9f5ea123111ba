package seal_test

import (
	"strings"
	"testing"

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
