package tasks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/store"
)

// TypeCallback delivers one job event to the job's callback URL.
const TypeCallback = "mx:callback"

// QueueCallbacks holds callback deliveries.
const QueueCallbacks = "mx_callbacks"

// SignatureHeader carries a callback's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
const SignatureHeader = "X-Mxfleet-Signature"

// EventHeader carries a callback's event id (receivers dedupe on it).
const EventHeader = "X-Mxfleet-Event"

// Callback is the payload of mx:callback: a snapshot of the event. It holds
// no secret: a succeeded event's results, when the job asked for them, are
// read from the (sealed) job record at delivery.
type Callback struct {
	V                int               `json:"v"`
	EventID          string            `json:"event_id"`
	JobID            string            `json:"job_id"`
	State            store.State       `json:"state"`
	Round            int               `json:"round,omitempty"`
	ConnectionStatus string            `json:"connection_status,omitempty"`
	Challenges       []store.Challenge `json:"challenges,omitempty"`
	Error            *store.JobError   `json:"error,omitempty"`
	OAuthWindowURI   string            `json:"oauth_window_uri,omitempty"` // an authorizing event's
	At               time.Time         `json:"at"`
}

func (p *Callback) version() int { return p.V }

// Validate checks a callback payload.
func (p *Callback) Validate() error {
	if err := store.ValidateID(p.JobID); err != nil {
		return err
	}
	switch p.State {
	case store.StateChallenged, store.StateAuthorizing, store.StateSucceeded, store.StateFailed:
	default:
		return fmt.Errorf("no event for state %q", p.State)
	}
	if p.EventID != EventID(p.JobID, p.State, p.Round) {
		return errors.New("event id does not match the event")
	}
	return nil
}

// EventID names an event: one per MFA round parked, one per OAuth window
// URI (round: the window), one for the end.
func EventID(jobID string, state store.State, round int) string {
	if state == store.StateChallenged || state == store.StateAuthorizing {
		return fmt.Sprintf("%s.%s.%d", jobID, state, round)
	}
	return jobID + "." + string(state)
}

// NewCallbackTask builds the delivery of an event. Its id is the event's,
// kept a day after delivery, so an event is enqueued once.
func NewCallbackTask(p Callback) (*asynq.Task, error) {
	p.V = Version
	p.EventID = EventID(p.JobID, p.State, p.Round)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeCallback, p, asynq.Queue(QueueCallbacks), asynq.TaskID("callback:"+p.EventID),
		asynq.MaxRetry(20), asynq.Timeout(time.Minute), asynq.Retention(24*time.Hour))
}

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by VerifySignature for any mismatch.
var ErrBadSignature = errors.New("callback signature does not verify")

// VerifySignature checks a callback as a receiver: header is the
// SignatureHeader value, body the raw request body, tolerance how old the
// timestamp may be (5 minutes is a good default; it bounds replays).
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed %s", ErrBadSignature, SignatureHeader)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the %s tolerance", ErrBadSignature, tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Event is the JSON body of a callback.
type Event struct {
	ID        string     `json:"id"`   // EventID: dedupe on it
	Type      string     `json:"type"` // job.challenged, job.authorizing, job.succeeded, job.failed
	CreatedAt time.Time  `json:"created_at"`
	Job       store.View `json:"job"` // result only when the job asked for results
}
