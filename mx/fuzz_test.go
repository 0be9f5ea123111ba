package mx

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to everything the client decodes from
// MX: error bodies (through the size cap), Retry-After, and the response
// envelopes of members, statuses, challenges and paged lists. Nothing may
// panic, and an error's message stays bounded.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"error":{"message":"member already exists","code":4090}}`), "7")
	f.Add([]byte(`{"error":"maintenance"}`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add([]byte(`{"member":{"guid":"MBR-1","connection_status":"CHALLENGED","challenges":[{"guid":"CRD-1","type":"OPTIONS","options":[{"label":"a","value":"b"}]}]}}`), "")
	f.Add([]byte(`{"account_numbers":[{"guid":"ACN-1","passed_validation":true}],"pagination":{"current_page":1,"total_pages":1}}`), "-1")
	f.Add([]byte(strings.Repeat("[", 10000)), "99999999999999999999")
	f.Fuzz(func(t *testing.T, body []byte, retryAfter string) {
		resp := &http.Response{StatusCode: 400, Header: http.Header{"Retry-After": {retryAfter}}, Body: io.NopCloser(bytes.NewReader(body))}
		e := newError("readMember", resp)
		if msg := capMessage(scrub(e.Message, map[string]string{"v": "secret"})); len(msg) > maxMessage+len("…") {
			t.Fatalf("message of %d bytes", len(msg))
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %s", e.RetryAfter)
		}
		_ = parseRetryAfter(retryAfter, time.Now())
		var m struct {
			Member MemberStatus `json:"member"`
		}
		_ = json.Unmarshal(body, &m)
		var env map[string]json.RawMessage
		if json.Unmarshal(body, &env) == nil {
			var nums []AccountNumber
			_ = json.Unmarshal(env["account_numbers"], &nums)
			var p Pagination
			_ = json.Unmarshal(env["pagination"], &p)
		}
	})
}
