package mxsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// webhookTimeout bounds each webhook delivery (one attempt, no retry).
const webhookTimeout = 5 * time.Second

// WithWebhook makes the simulator POST MX-style webhooks (JSON) to url,
// exactly as given (a query string such as ?token=... is kept), whenever a
// member's job run ends or a challenge expires. Runs are then also timed
// (time.AfterFunc) so that the webhooks go out without anyone reading the
// member; Close stops the timers. See the package documentation for the
// payloads.
func WithWebhook(url string) Option {
	return func(s *Server) { s.webhookURL = url }
}

// connectionStatusIDs are MX's integer ids of connection statuses.
var connectionStatusIDs = map[string]int{
	"CREATED": 0, "PREVENTED": 1, "DENIED": 2, "CHALLENGED": 3, "REJECTED": 4, "LOCKED": 5,
	"CONNECTED": 6, "IMPEDED": 7, "RECONNECTED": 8, "DEGRADED": 9, "DISCONNECTED": 10,
	"DISCONTINUED": 11, "CLOSED": 12, "DELAYED": 13, "FAILED": 14, "UPDATED": 15,
	"DISABLED": 16, "IMPORTED": 17, "RESUMED": 18, "EXPIRED": 19, "IMPAIRED": 20, "PENDING": 21,
}

// connectionStatusChanged are the statuses that also get a
// CONNECTION_STATUS webhook: the ones that need the end user.
var connectionStatusChanged = map[string]bool{
	"CHALLENGED": true, "DENIED": true, "EXPIRED": true, "IMPAIRED": true,
	"IMPEDED": true, "LOCKED": true, "PREVENTED": true, "REJECTED": true,
}

// memberHookJSON is the MEMBER webhook.
type memberHookJSON struct {
	Type                    string  `json:"type"`
	Action                  string  `json:"action"`
	GUID                    string  `json:"guid"`
	MemberGUID              string  `json:"member_guid"`
	UserGUID                string  `json:"user_guid"`
	UserID                  *string `json:"user_id"`
	ID                      *string `json:"id"`
	InstitutionCode         string  `json:"institution_code"`
	ConnectionStatus        string  `json:"connection_status"`
	ConnectionStatusID      int     `json:"connection_status_id"`
	ConnectionStatusMessage string  `json:"connection_status_message"`
	IsBeingAggregated       bool    `json:"is_being_aggregated"`
	AggregatedAt            int64   `json:"aggregated_at"`
	CreatedAt               int64   `json:"created_at"`
}

// connectionStatusHookJSON is the CONNECTION_STATUS webhook.
type connectionStatusHookJSON struct {
	Type                    string `json:"type"`
	Action                  string `json:"action"`
	MemberGUID              string `json:"member_guid"`
	UserGUID                string `json:"user_guid"`
	ConnectionStatus        string `json:"connection_status"`
	ConnectionStatusID      int    `json:"connection_status_id"`
	ConnectionStatusMessage string `json:"connection_status_message"`
}

// dataUpdatedHookJSON is the VERIFICATION and AGGREGATION webhook.
type dataUpdatedHookJSON struct {
	Type         string   `json:"type"`
	Action       string   `json:"action"`
	MemberGUID   string   `json:"member_guid"`
	UserGUID     string   `json:"user_guid"`
	UserID       *string  `json:"user_id"`
	Accounts     []string `json:"accounts"`
	CompletedAt  int64    `json:"completed_at"`
	CompletedOn  string   `json:"completed_on"`
	IsBackground *bool    `json:"is_background,omitempty"`
}

// applied is called, under the lock, each time a member's job run has
// ended (kind is the job's kind) or its challenge expired, at t, with the
// member in the state that outcome left it. It queues the webhooks.
func (s *Server) applied(m *member, kind string, t time.Time) {
	if s.hooks == nil {
		return
	}
	// MX returns X-CALLBACK-PAYLOAD in the MEMBER and member_data_updated
	// webhooks, not in CONNECTION_STATUS
	hooks := []hookMsg{{callback: m.callback, payload: memberHookJSON{
		Type: "MEMBER", Action: "UPDATED", GUID: m.guid, MemberGUID: m.guid, UserGUID: m.user.guid,
		UserID: nullable(m.user.id), ID: nullable(m.id), InstitutionCode: m.inst.code,
		ConnectionStatus: m.status, ConnectionStatusID: connectionStatusIDs[m.status],
		ConnectionStatusMessage: m.statusMessage(), IsBeingAggregated: m.isBeingAggregated(),
		AggregatedAt: m.aggregatedAt.Unix(), CreatedAt: m.createdAt.Unix(),
	}}}
	if connectionStatusChanged[m.status] {
		hooks = append(hooks, hookMsg{payload: connectionStatusHookJSON{
			Type: "CONNECTION_STATUS", Action: "CHANGED", MemberGUID: m.guid, UserGUID: m.user.guid,
			ConnectionStatus: m.status, ConnectionStatusID: connectionStatusIDs[m.status],
			ConnectionStatusMessage: m.statusMessage(),
		}})
	}
	if m.status == statusConnected && (kind == kindVerify || kind == kindAggregate) {
		h := dataUpdatedHookJSON{Type: "VERIFICATION", Action: "member_data_updated", MemberGUID: m.guid,
			UserGUID: m.user.guid, UserID: nullable(m.user.id), Accounts: []string{},
			CompletedAt: t.Unix(), CompletedOn: t.UTC().Format(time.DateOnly)}
		if m.results != nil {
			h.Accounts = append(h.Accounts, m.results.accounts...)
		}
		if kind == kindAggregate {
			no := false
			h.Type, h.IsBackground = "AGGREGATION", &no
		}
		hooks = append(hooks, hookMsg{callback: m.callback, payload: h})
	}
	for _, h := range hooks {
		b, err := json.Marshal(h.payload)
		if err != nil {
			continue // cannot happen: plain structs
		}
		s.hooks.enqueue(delivery{body: b, callback: h.callback})
	}
}

// hookMsg is a webhook to send: its payload and the X-CALLBACK-PAYLOAD
// header to send it with ("" for none).
type hookMsg struct {
	payload  any
	callback string
}

// delivery is a queued webhook.
type delivery struct {
	body     []byte
	callback string
}

// hookSender delivers webhooks one at a time, in order, from one goroutine
// that runs while there is something to send.
type hookSender struct {
	s      *Server
	url    string
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards below; may be taken under s.mu, never the reverse
	queue   []delivery
	running bool
	closed  bool
}

func newHookSender(s *Server, url string) *hookSender {
	ctx, cancel := context.WithCancel(context.Background())
	return &hookSender{s: s, url: url, client: &http.Client{Timeout: webhookTimeout}, ctx: ctx, cancel: cancel}
}

// enqueue queues a webhook and makes sure the sending goroutine runs.
func (h *hookSender) enqueue(d delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.queue = append(h.queue, d)
	if !h.running {
		h.running = true
		h.wg.Add(1)
		go h.run()
	}
}

func (h *hookSender) run() {
	defer h.wg.Done()
	for {
		h.mu.Lock()
		if h.closed || len(h.queue) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		d := h.queue[0]
		h.queue[0] = delivery{}
		h.queue = h.queue[1:]
		h.mu.Unlock()

		err := h.send(d)
		if h.ctx.Err() != nil {
			continue // closed: the loop ends, the attempt is not counted
		}
		op := "webhook_sent"
		if err != nil {
			op = "webhook_failed"
		}
		h.s.mu.Lock()
		h.s.count(op, "")
		h.s.mu.Unlock()
	}
}

// errStatus is a webhook answered with a non-2xx status.
type errStatus int

func (e errStatus) Error() string { return "webhook answered " + http.StatusText(int(e)) }

// send makes the one delivery attempt of a webhook.
func (h *hookSender) send(d delivery) error {
	ctx, cancel := context.WithTimeout(h.ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if d.callback != "" {
		req.Header.Set(callbackHeader, d.callback)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return errStatus(res.StatusCode)
	}
	return nil
}

// close drops what is queued, aborts a delivery in flight and waits for the
// sending goroutine to end.
func (h *hookSender) close() {
	h.mu.Lock()
	h.closed = true
	h.queue = nil
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// ---- timers

// deadline is when the member's state next changes by itself: the end of
// the running run, or the expiry of its challenge.
func (m *member) deadline(aggTime, mfaWindow time.Duration) (time.Time, bool) {
	switch {
	case m.job == nil && m.oauthPending():
		return m.oauth.expires, true
	case m.job == nil:
		return time.Time{}, false
	case m.job.running:
		return m.job.started.Add(m.job.length(aggTime)), true
	case m.status == statusChallenged:
		return m.challengedAt.Add(mfaWindow), true
	}
	return time.Time{}, false
}

// schedule arms (or disarms) the member's timer for its next deadline. It
// does nothing without a webhook URL, or once the server is closed. The
// caller holds s.mu.
func (s *Server) schedule(m *member, now time.Time) {
	if s.hooks == nil || s.closed {
		return
	}
	at, due := m.deadline(s.aggTime, s.mfaWindow)
	if !due {
		m.stopTimer()
		return
	}
	if m.timer != nil && m.timerAt.Equal(at) {
		return // already armed for it
	}
	m.stopTimer()
	m.timerGen++
	gen := m.timerGen
	m.timerAt, m.timerSetAt = at, now
	m.timer = time.AfterFunc(max(at.Sub(now), 0), func() { s.fire(m, gen) })
}

// fire is a member's timer going off: it applies what the clock says has
// happened, exactly as a read would.
func (s *Server) fire(m *member, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || m.timerGen != gen || m.deleted {
		return // closed, re-armed since, or deleted
	}
	m.timer = nil
	at, setAt := m.timerAt, m.timerSetAt
	now := s.now()
	s.apply(m, now)
	if next, due := m.deadline(s.aggTime, s.mfaWindow); due && next.Equal(at) && !now.After(setAt) {
		// Nothing happened and the clock (WithClock) did not move: leave
		// it to reads rather than spin.
		return
	}
	s.schedule(m, now)
}

func (m *member) stopTimer() {
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	m.timerGen++
}

// forget stops the timer of a member that is being deleted.
func (m *member) forget() {
	m.deleted = true
	m.stopTimer()
}

// forgetMember forgets a deleted member's timer and OAuth window. The
// caller holds s.mu.
func (s *Server) forgetMember(m *member) {
	m.forget()
	if m.oauth != nil {
		delete(s.oauthTokens, m.oauth.token)
		m.oauth = nil
	}
}

// Close stops the simulator's timers and its webhook deliveries (what is
// queued is dropped, a delivery in flight is aborted) and waits for the
// sending goroutine to end. No webhook is sent after Close returns. The API
// keeps working, with lazy job progress only. Close is idempotent and a
// no-op without WithWebhook.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, u := range s.users {
		for _, m := range u.members {
			m.stopTimer()
		}
	}
	s.mu.Unlock()
	if s.hooks != nil {
		s.hooks.close()
	}
}
