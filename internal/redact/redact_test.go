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
	if p := redact.URLPassword("redis-sentinel://:m4ster@h:26379/1?master=m&sentinel_password=s3nt"); len(p) != 2 || p[0] != "m4ster" || p[1] != "s3nt" {
		t.Fatalf("sentinel url passwords %v", p)
	}
	if u := redact.URL("redis-sentinel://:m4ster@h:26379/1?master=m&sentinel_password=s3nt"); strings.Contains(u, "m4ster") || strings.Contains(u, "s3nt") || !strings.Contains(u, "h:26379/1") {
		t.Fatalf("redacted url %s", u)
	}
	if k := redact.KeyMaterial("k1:AAAA,k2:BBBB"); len(k) != 2 || k[1] != "BBBB" {
		t.Fatalf("key material %v", k)
	}
}
