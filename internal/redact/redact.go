// Package redact is the last line of defence for logs: a writer that
// replaces known secret strings (the MX API key, the sealing keys, the Redis
// password) wherever they would appear. The fleet's code never logs a
// secret on purpose; this catches what a library or a future change might.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strings"
)

// Mask replaces every secret.
const Mask = "[REDACTED]"

// minLen: shorter strings are too likely to match ordinary text.
const minLen = 6

// Writer writes through to w with every secret masked.
type Writer struct {
	w       io.Writer
	secrets [][]byte
}

// NewWriter masks secrets (and their JSON-escaped forms) in what is written.
func NewWriter(w io.Writer, secrets ...string) *Writer {
	r := &Writer{w: w}
	seen := map[string]bool{}
	for _, s := range secrets {
		esc, _ := json.Marshal(s)
		for _, v := range []string{s, string(esc[1 : len(esc)-1])} {
			if len(v) >= minLen && !seen[v] {
				seen[v] = true
				r.secrets = append(r.secrets, []byte(v))
			}
		}
	}
	return r
}

// Write masks and writes p; it reports len(p) written on success.
func (r *Writer) Write(p []byte) (int, error) {
	out := p
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte(Mask))
		}
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// KeyMaterial returns the secret parts of a MXFLEET_SECRET_KEYS value.
func KeyMaterial(keys string) []string {
	var out []string
	for _, part := range strings.Split(keys, ",") {
		if _, b64, ok := strings.Cut(strings.TrimSpace(part), ":"); ok {
			out = append(out, b64)
		}
	}
	return out
}

// URLPassword returns the passwords of a Redis URL, if any: its own and a
// Sentinel URL's sentinel_password.
func URLPassword(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	if p := u.Query().Get("sentinel_password"); p != "" {
		out = append(out, p)
	}
	return out
}

// URL is a Redis URL fit to show: its passwords (URLPassword) replaced by
// xxxxx; a URL that does not parse shows as its scheme only.
func URL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		scheme, _, _ := strings.Cut(raw, "://")
		return scheme + "://…"
	}
	if q := u.Query(); q.Get("sentinel_password") != "" {
		q.Set("sentinel_password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
