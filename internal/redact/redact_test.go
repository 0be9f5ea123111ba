package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/internal/redact"
)

func TestWriterMasksSecrets(t *testing.T) {
	var b bytes.Buffer
	w := redact.NewWriter(&b, "s3cret-api-key", `pa"ss\word`, "abc")
	w.Write([]byte(`{"msg":"key s3cret-api-key and pa\"ss\\word, abc stays"}` + "\n"))
	got := b.String()
	if strings.Contains(got, "s3cret") || strings.Contains(got, `ss\\word`) || !strings.Contains(got, "abc stays") {
		t.Fatalf("got %s", got)
	}
	if p := redact.URLPassword("rediss://u:hunter22@h:6380/0"); len(p) != 1 || p[0] != "hunter22" {
		t.Fatalf("url password %v", p)
	}
	if k := redact.KeyMaterial("k1:AAAA,k2:BBBB"); len(k) != 2 || k[1] != "BBBB" {
		t.Fatalf("key material %v", k)
	}
}
