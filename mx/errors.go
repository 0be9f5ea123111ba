package mx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrEmptySearch is returned by SearchInstitutions without a name: MX
// answers such a search with 400, so the client refuses it before sending.
var ErrEmptySearch = errors.New("mx: institution search needs a name or url")

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 16 << 10

// maxMessage caps how much of MX's message is kept in an Error.
const maxMessage = 300

// Error is an MX API call that got an HTTP answer other than success.
// It never holds a request body, so no credential or MFA answer can reach
// an error string through it.
type Error struct {
	Op         string        // MX operationId, e.g. "createMember"
	StatusCode int           // HTTP status
	Code       string        // MX's error code, when the body carries one
	Message    string        // MX's message, capped
	RetryAfter time.Duration // from Retry-After, zero when absent
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mx: %s: %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// newError builds an Error from a non-2xx response, reading at most
// maxErrorBody bytes of it. MX's error body is {"error":{"message":...}}
// (Platform API), {"error":"..."} (SSO) or {"message":...}; all are accepted.
func newError(op string, resp *http.Response) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var shape struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &shape) == nil {
		var inner struct {
			Message string          `json:"message"`
			Code    json.RawMessage `json:"code"`
		}
		var s string
		switch {
		case json.Unmarshal(shape.Error, &inner) == nil && (inner.Message != "" || len(inner.Code) > 0):
			e.Message, e.Code = inner.Message, rawCode(inner.Code)
		case json.Unmarshal(shape.Error, &s) == nil:
			e.Message = s
		default:
			e.Message, e.Code = shape.Message, rawCode(shape.Code)
		}
	}
	return e
}

// capMessage bounds MX's message (after scrub has masked it whole).
func capMessage(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage] + "…"
	}
	return s
}

func rawCode(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// scrub masks in an MX error message every string the request sent
// (credential values, MFA answers), in case MX echoes one back.
func scrub(msg string, in any) string {
	if msg == "" || in == nil {
		return msg
	}
	b, err := json.Marshal(in)
	if err != nil {
		return msg
	}
	var tree any
	if json.Unmarshal(b, &tree) != nil {
		return msg
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if len(v) >= 3 {
				msg = strings.ReplaceAll(msg, v, "[REDACTED]")
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(tree)
	return msg
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// StatusCode returns the HTTP status of an MX error, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsRetriable tells whether a failed call is worth trying again later:
// MX 5xx, 429 and 408, timeouts, and connections that broke. The caller's
// own context ending is not retriable.
func IsRetriable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout
	}
	if errors.As(err, new(*Throttled)) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	// No HTTP answer at all (the transport failed: reset, refused, idle
	// connection closed by the server, timeout): worth another try.
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, new(*net.OpError))
}

// Throttled is returned, without calling MX, when the fleet-wide rate limit
// or a fleet-wide pause (after MX answered 429) says to wait longer than a
// handler should: retry after Wait.
type Throttled struct {
	Wait   time.Duration
	Reason string
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("mx: throttled for %s: %s", t.Wait.Round(time.Millisecond), t.Reason)
}

// IsPermanent tells whether MX refused a call for good: a 4xx other than
// 408 and 429. Trying the same call again gives the same answer.
func IsPermanent(err error) bool {
	c := StatusCode(err)
	return c >= 400 && c < 500 && c != http.StatusTooManyRequests && c != http.StatusRequestTimeout
}

// IsDuplicateMember tells whether createMember answered 409: the user
// already has a member at that institution with those credentials.
func IsDuplicateMember(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == "createMember" && e.StatusCode == http.StatusConflict
}

// IsDuplicateUpdate tells whether err, MX's answer to updateMember, is the
// duplicate member refusal: the new credentials are those of another
// member the user has at the same institution (MX's "Creating a New
// Member" guide: "Updating an existing member's credentials can also
// return a duplicate member error if the user already has another member
// connected to the same institution using the same credentials"). member
// is the updated member as MX shows it after the answer (a read or a list
// of the user's members).
//
// MX answers both of its documented 409s to updateMember ("an object with
// the given attributes already exists"; "a different job type is already
// running on the member", MX's errors page) with no machine-readable
// difference: its spec declares no error body, its Platform API error
// body is unconfirmed, and its Nexus errors page warns not to branch on
// error codes or messages. So this rests on the member's state, which
// MX does document: is_being_aggregated is whether a job is running on the
// member at the moment of the request (true also while a job waits
// CHALLENGED, MX's MFA guide). A 409 on a member that then shows no job
// running cannot be the running-job one, so it is the duplicate. The one
// case this reads wrong is a job that ends between MX's 409 and the read:
// its 409 then counts as a duplicate.
func IsDuplicateUpdate(err error, member *Member) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == "updateMember" && e.StatusCode == http.StatusConflict &&
		member != nil && !member.IsBeingAggregated
}

// IsConflict tells whether MX answered 409 (a duplicate, or a different
// job type already running on the member).
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsNotFound tells whether MX answered 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// RetryAfter returns the Retry-After MX sent with err (or the wait a
// Throttled error asks for), or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	var t *Throttled
	if errors.As(err, &t) {
		return t.Wait
	}
	return 0
}
