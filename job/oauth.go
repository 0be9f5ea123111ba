package job

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// OAuth jobs.
//
// A job is an OAuth job when its request says so: an institution code, no
// credentials, and OAuth options (Record.OAuth, possibly empty). The start
// creates the member with is_oauth and gets its oauth_window_uri (MX's
// OAuth workflow, docs.mx.com/oauth/guides/workflow); the job then waits
// for the end user in its own state, authorizing, with the URI on the
// record (Authorizing).
//
// Why a state and not a kind of challenge: no answer applies (the end user
// acts at the institution, not through the fleet), so answers to it are
// refused (Claim: ErrNotParked); MX resumes the member by itself (PENDING →
// authorized → aggregating → CONNECTED), so the job keeps polling, and
// webhooks wake the scheduled poll as for a running job; and what bounds
// the wait is MX's window (the member turns EXPIRED) and the job's
// deadline, not the fleet's ChallengeTTL. Its callback event is
// "authorizing", one per window URI (Event.Round is the window number).
//
// While authorizing, a poll reads the member: PENDING waits (poll again);
// DENIED ends the job oauth_denied; EXPIRED ends it oauth_expired; any
// other status means the end user authorized and the job runs on
// (authorized): in v20250224 MX started the job's product on its own (the
// create's data_request), so the job polls; in v20111101 the create
// skipped aggregation (OAuthTrigger), so the trigger of attempt 1 starts
// verify or identify. A fresh window URI (the end user lost or used the
// link) is the mx:oauth task of window n (OAuthID), asked for while
// authorizing: WindowDue, WindowIssued.
//
// The URI is the end user's link to the institution's authorization page:
// the fleet never logs it, and shows it to the job's owner (API, CLI,
// callback) only while the job is authorizing. It is not sealed: it holds
// no credential (the end user still signs in at the institution), is
// one-time use, and the API serves it.

// StateAuthorizing: an OAuth job waiting for the end user to authorize MX
// at the institution (at Record.OAuthWindowURI).
const StateAuthorizing State = "authorizing"

// Error codes of OAuth jobs.
const (
	CodeOAuthDenied  = "oauth_denied"  // the end user denied (or failed) the authorization: MX shows DENIED
	CodeOAuthExpired = "oauth_expired" // the window URI was not used in time: MX shows EXPIRED
)

// TaskOAuth is the mx:oauth task of window N: ask MX for a fresh window URI.
const TaskOAuth TaskKind = "oauth"

// OAuthID is the id of the task that asks for window n (n ≥ 2; window 1
// comes with the member).
func OAuthID(jobID string, window int) string { return fmt.Sprintf("oauth:%s:%d", jobID, window) }

// ErrNotAuthorizing refuses a fresh window URI for a job that is not
// waiting for the end user's authorization.
var ErrNotAuthorizing = errors.New("job is not waiting for an OAuth authorization")

// Referral sources (requestOAuthWindowURI's referral_source).
const (
	ReferralBrowser = "BROWSER"
	ReferralApp     = "APP"
)

// maxRedirectLen bounds client_redirect_url.
const maxRedirectLen = 2048

// OAuth is how the end user goes through an OAuth job's window: MX's
// documented options of createMember and requestOAuthWindowURI.
type OAuth struct {
	// ClientRedirectURL: where MX sends the end user at the end (with
	// referral_source APP only, as MX's spec says).
	ClientRedirectURL string `json:"client_redirect_url,omitempty"`
	// ReferralSource: BROWSER (MX's default) or APP.
	ReferralSource string `json:"referral_source,omitempty"`
}

// Validate checks the options as MX's spec defines them.
func (o *OAuth) Validate() error {
	switch o.ReferralSource {
	case "", ReferralBrowser, ReferralApp:
	default:
		return fmt.Errorf("oauth: referral_source must be %s or %s", ReferralBrowser, ReferralApp)
	}
	if o.ClientRedirectURL == "" {
		return nil
	}
	if o.ReferralSource != ReferralApp {
		return errors.New("oauth: client_redirect_url needs referral_source APP (MX: \"only available with referral_source=APP\")")
	}
	u, err := url.Parse(o.ClientRedirectURL)
	switch {
	case len(o.ClientRedirectURL) > maxRedirectLen || strings.ContainsAny(o.ClientRedirectURL, " \x00\r\n\t"):
		return fmt.Errorf("oauth: client_redirect_url must be a URL of at most %d characters without spaces", maxRedirectLen)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("oauth: client_redirect_url must be an absolute http or https URL")
	}
	return nil
}

// Same tells whether two jobs' OAuth options are the same request.
func (o *OAuth) Same(p *OAuth) bool {
	if o == nil || p == nil {
		return o == p
	}
	return *o == *p
}

// OAuthProgress is the part of the record an OAuth job adds.
type OAuthProgress struct {
	OAuth          *OAuth `json:"oauth,omitempty"`            // set: an OAuth job
	OAuthWindowURI string `json:"oauth_window_uri,omitempty"` // the latest window, while authorizing
	OAuthWindows   int    `json:"oauth_windows,omitempty"`    // window URIs issued (1: the create's)
	OAuthTrigger   bool   `json:"oauth_trigger,omitempty"`    // the fleet starts the MX job once authorized (v20111101)
	// OAuthWindowRefused: the latest fresh window MX refused (cleared
	// when one is issued); the job waits on as it was.
	OAuthWindowRefused *WindowRefusal `json:"oauth_window_refused,omitempty"`
}

// WindowRefusal says which fresh window URI MX refused, why (MX's status
// and message, never a URI) and when.
type WindowRefusal struct {
	Window int       `json:"window"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// WindowRefused notes on an authorizing job that MX refused window n,
// leaving the job otherwise as it is (it may be asked for again).
func WindowRefused(n int, reason string, now time.Time) Decision {
	return Decision{Change: func(cur *Record) error {
		if cur.State != StateAuthorizing || cur.OAuthWindows >= n {
			return ErrNoChange
		}
		cur.OAuthWindowRefused = &WindowRefusal{Window: n, Reason: reason, At: now.UTC()}
		return nil
	}}
}

// Authorizing is the start of an OAuth job: its member created (or found
// again), it waits for the end user at uri, and polls. trigger: MX will
// not start the job's product by itself once authorized. The job's
// deadline starts here when the start has not set it.
func Authorizing(r *Record, user, member, uri string, trigger bool, now time.Time, cfg Config) Decision {
	return Decision{
		Tasks: []Task{pollTask(r.ID, r.Polls+1, now.Add(cfg.PollDelay(1)))},
		Event: &Event{State: StateAuthorizing, Round: 1, ConnectionStatus: "PENDING", OAuthWindowURI: uri},
		Change: func(cur *Record) error {
			if cur.OAuthWindows > 0 || cur.State != StatePending && (cur.State != StateRunning || cur.Triggered > 0) {
				return ErrNoChange
			}
			if cur.Deadline.IsZero() {
				cur.Deadline = now.Add(cfg.JobDeadline)
			}
			cur.State, cur.Attempt, cur.ConnectionStatus, cur.PollMark = StateAuthorizing, 0, "PENDING", cur.Polls
			cur.UserGUID, cur.MemberGUID = cmpOr(cur.UserGUID, user), cmpOr(cur.MemberGUID, member)
			cur.OAuthWindowURI, cur.OAuthWindows, cur.OAuthTrigger = uri, 1, trigger
			return nil
		},
	}
}

// authorizingPoll tells whether poll n reads an authorizing job.
func authorizingPoll(r *Record, n int) bool { return r.State == StateAuthorizing && r.Polls < n }

// authorizingPolled is poll n's write on an authorizing job.
func authorizingPolled(n int, st Read, then func(*Record)) func(*Record) error {
	return func(cur *Record) error {
		if !authorizingPoll(cur, n) {
			return ErrNoChange
		}
		cur.Polls, cur.ConnectionStatus = n, st.ConnectionStatus
		if then != nil {
			then(cur)
		}
		return nil
	}
}

// Authorization is what poll n of an authorizing job does with the status
// it read (see the package's OAuth notes).
func Authorization(r *Record, n int, st Read, now time.Time, cfg Config) Decision {
	status := strings.ToUpper(strings.TrimSpace(st.ConnectionStatus))
	fail := func(code, msg string) Decision {
		e := &Error{Code: code, Message: msg}
		return Decision{Event: &Event{State: StateFailed, ConnectionStatus: st.ConnectionStatus, Error: e},
			Change: authorizingPolled(n, st, func(cur *Record) { cur.Fail(code, msg) })}
	}
	switch status {
	case "PENDING", "":
		return Decision{Tasks: []Task{pollTask(r.ID, n+1, now.Add(cfg.PollDelay(n+1-r.PollMark)))},
			Change: authorizingPolled(n, st, nil)}
	case "DENIED":
		return fail(CodeOAuthDenied, "the end user did not authorize MX at the institution (MX connection status DENIED): submit a new job to ask them again")
	case "EXPIRED":
		return fail(CodeOAuthExpired, "the OAuth window URI was not used in time (MX connection status EXPIRED): submit a new job for a new URI (while a job is authorizing, POST /v1/jobs/{id}/oauth or mxfleet oauth JOB_ID asks for a fresh one)")
	}
	// Authorized: MX runs (or the trigger starts) the job's work.
	next := pollTask(r.ID, n+1, now.Add(cfg.PollDelay(1)))
	if r.OAuthTrigger {
		next = triggerTask(r.ID, 1, now)
	}
	return Decision{Tasks: []Task{next}, Change: authorizingPolled(n, st, func(cur *Record) {
		cur.State, cur.Attempt, cur.PollMark, cur.OAuthWindowURI = StateRunning, 1, n, ""
		cur.SawRunning = st.BeingAggregated
		if !cur.OAuthTrigger {
			// MX started it when the end user authorized: no request of
			// the fleet's that a status read could predate.
			cur.Triggered, cur.TriggeredAt = 1, time.Time{}
		}
	})}
}

// WindowDue tells whether the task of window n may ask MX for a fresh
// window URI.
func WindowDue(r *Record, n int) Decision {
	switch {
	case r.State != StateAuthorizing:
		return drop("window %d is not due: %v (state %s)", n, ErrNotAuthorizing, r.State)
	case r.OAuthWindows >= n:
		return drop("window %d was issued already", n)
	case r.OAuthWindows < n-1:
		return drop("window %d is not next: the job has had %d", n, r.OAuthWindows)
	}
	return Decision{}
}

// WindowIssued records window n's URI on an authorizing job.
func WindowIssued(r *Record, n int, uri string) Decision {
	return Decision{
		Event: &Event{State: StateAuthorizing, Round: n, ConnectionStatus: "PENDING", OAuthWindowURI: uri},
		Change: func(cur *Record) error {
			if cur.State != StateAuthorizing || cur.OAuthWindows >= n {
				return ErrNoChange
			}
			cur.OAuthWindowURI, cur.OAuthWindows, cur.ConnectionStatus = uri, n, "PENDING"
			cur.OAuthWindowRefused = nil
			return nil
		},
	}
}

// oauthTasks are the fresh-window tasks a job can have had, up to the next.
func oauthTasks(r *Record) []Task {
	var out []Task
	if r.OAuth == nil {
		return nil
	}
	for n := 2; n <= r.OAuthWindows+1; n++ {
		out = append(out, Task{Kind: TaskOAuth, ID: OAuthID(r.ID, n), N: n})
	}
	return out
}
