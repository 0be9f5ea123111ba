package mxsim

import (
	"fmt"
	"html/template"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OAuth members, as MX's OAuth guides describe them:
//
//   - docs.mx.com/oauth/guides/introduction: "there is only one OAuth
//     institution available in the integrations environment:
//     mx_bank_oauth".
//   - docs.mx.com/oauth/guides/workflow: create the member with
//     "is_oauth": true, load the oauth_window_uri returned on create, the
//     end user decides at the institution's page, "If successful,
//     aggregation will automatically begin"; poll until CONNECTED.
//   - docs.mx.com/resources/oauth-guide/oauth-in-mobile-apps: "you cannot
//     include end-user credentials in your request body when creating an
//     OAuth member"; "oauth_window_uris are one-time use"; with
//     referral_source APP the end user is "redirected to the URL you gave
//     for client_redirect_url. We'll append to this URL information about
//     success/error as well as the member GUID."
//   - docs.mx.com/resources/oauth-guide/oauth-in-browsers: MX's OAuth
//     complete page delivers the postMessages oauthComplete/success and
//     oauthComplete/error, whose error reasons include CANCELLED ("The user
//     cancelled or exited the OAuth process") and DENIED ("The user was
//     unable to authenticate with the provider"); "Standard aggregation
//     ... will start after a successful OAuth connection. This can be
//     disabled with the skip_aggregation parameter."
//   - requestOAuthWindowURI (both specs): query client_redirect_url,
//     enable_app2app, referral_source (BROWSER or APP, default BROWSER),
//     skip_aggregation, ui_message_webview_url_scheme.
//
// The simulator's own choices (MX documents none of them): a window lives
// DefaultOAuthWindow unless WithOAuthWindow says otherwise, and a member
// whose window passed unused turns EXPIRED (asking for a new window brings
// it back to PENDING); Deny ends the member DENIED with error reason
// DENIED; an authorized member is CREATED until its job ends (CONNECTED);
// the redirect's query parameters are status, member_guid and
// error_reason; verify, identify and aggregate on a member not yet
// authorized are a 400; a window for a member that is not waiting for
// authorization (approved and not DENIED or EXPIRED, or running a job) is
// a 409; the page lives at /_sim/oauth/{token}.

// DefaultOAuthWindow is how long an oauth_window_uri can be used unless
// WithOAuthWindow says otherwise: the simulator's own (MX documents
// one-time use, no lifetime), as long as DefaultMFAWindow.
const DefaultOAuthWindow = 15 * time.Minute

// WithOAuthWindow sets how long an oauth_window_uri stays usable.
func WithOAuthWindow(d time.Duration) Option {
	return func(s *Server) { s.oauthWindow = d }
}

// statusPending is connection_status 21: an OAuth member waiting for the
// end user.
const statusPending = "PENDING"

// oauthWindow is a member's current oauth_window_uri.
type oauthWindow struct {
	token, uri        string
	expires           time.Time
	clientRedirectURL string
	referralSource    string // BROWSER or APP
	skipAggregation   bool
}

// oauthPending is whether the member waits for the end user at a live
// window.
func (m *member) oauthPending() bool { return m.oauth != nil && m.status == statusPending }

// expireOAuth turns a PENDING member whose window passed by now EXPIRED,
// and says when it did.
func (m *member) expireOAuth(now time.Time) (time.Time, bool) {
	if m.job != nil || !m.oauthPending() || now.Before(m.oauth.expires) {
		return time.Time{}, false
	}
	at := m.oauth.expires
	m.status = statusExpired
	m.oauth = nil
	return at, true
}

// oauthQuery is what shapes an OAuth window: createMember's body fields or
// requestOAuthWindowURI's query.
type oauthQuery struct {
	clientRedirectURL, referralSource string
	skipAggregation                   bool
}

// checkReferralSource is the 400 of a referral_source that is neither
// BROWSER nor APP (the spec: "Must be either BROWSER or APP").
func checkReferralSource(v string) (string, reply, bool) {
	switch v {
	case "":
		return "BROWSER", reply{}, true
	case "BROWSER", "APP":
		return v, reply{}, true
	}
	return "", errReply(http.StatusBadRequest, "referral_source must be either BROWSER or APP"), false
}

// openOAuthWindow gives the member a new window (the previous one, used or
// not, no longer works) and puts a member that was not authorized, or whose
// authorization ended DENIED or EXPIRED, back to PENDING. The caller holds
// s.mu.
func (s *Server) openOAuthWindow(c *call, m *member, q oauthQuery) {
	if m.oauth != nil {
		delete(s.oauthTokens, m.oauth.token)
	}
	token := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	m.oauth = &oauthWindow{token: token, uri: scheme + "://" + c.r.Host + "/_sim/oauth/" + token,
		expires: c.now.Add(s.oauthWindow), clientRedirectURL: q.clientRedirectURL, referralSource: q.referralSource,
		skipAggregation: q.skipAggregation}
	s.oauthTokens[token] = m
	m.status = statusPending
	m.oauthAuthorized = false
	s.schedule(m, c.now)
}

// awaitsAuthorization is whether a new window may be opened: the end user
// has not approved, or their authorization ended DENIED or EXPIRED, and
// no job runs.
func (m *member) awaitsAuthorization() bool {
	return m.job == nil && (!m.oauthAuthorized || m.status == statusDenied || m.status == statusExpired)
}

// oauthWindowURI is the member's oauth_window_uri while it waits for the
// end user, else null.
func (m *member) oauthWindowURI() *string {
	if !m.oauthPending() {
		return nil
	}
	return &m.oauth.uri
}

// requestOAuthWindowURI is GET …/oauth_window_uri: a fresh window for an
// OAuth member.
func (s *Server) requestOAuthWindowURI(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	if !m.isOAuth {
		return errReply(http.StatusBadRequest, "member %s is not an OAuth member (is_oauth is false)", m.guid)
	}
	if !m.awaitsAuthorization() {
		return errReply(http.StatusConflict, "member %s is not waiting for authorization (connection_status %s)", m.guid, m.status)
	}
	qv := c.query()
	var q oauthQuery
	if q.referralSource, rep, okay = checkReferralSource(qv.Get("referral_source")); !okay {
		return rep
	}
	if v := qv.Get("skip_aggregation"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errReply(http.StatusBadRequest, "skip_aggregation must be a boolean")
		}
		q.skipAggregation = b
	}
	if v := qv.Get("enable_app2app"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return errReply(http.StatusBadRequest, "enable_app2app must be true or false")
		}
	}
	q.clientRedirectURL = qv.Get("client_redirect_url")
	if rep, okay := checkRedirect(q.clientRedirectURL); !okay {
		return rep
	}
	s.openOAuthWindow(c, m, q)
	return ok(http.StatusOK, map[string]any{"member": oauthWindowJSON{GUID: m.guid, OAuthWindowURI: m.oauth.uri}})
}

// checkRedirect is the 400 of a client_redirect_url that is not an
// absolute URL.
func checkRedirect(raw string) (reply, bool) {
	if raw == "" {
		return reply{}, true
	}
	if u, err := url.Parse(raw); err != nil || u.Scheme == "" {
		return errReply(http.StatusBadRequest, "client_redirect_url must be an absolute URL"), false
	}
	return reply{}, true
}

// oauthWindowJSON is OAuthWindowResponse.
type oauthWindowJSON struct {
	GUID           string `json:"guid"`
	OAuthWindowURI string `json:"oauth_window_uri"`
}

func (s *Server) oauthRoutes() {
	s.sim.HandleFunc("GET /_sim/oauth/{token}", s.oauthPage)
	s.sim.HandleFunc("POST /_sim/oauth/{token}", s.oauthDecide)
}

// oauthMember finds the member of a live window and brings it up to now.
// The caller holds s.mu.
func (s *Server) oauthMember(token string, now time.Time) *member {
	m := s.oauthTokens[token]
	if m == nil || m.deleted {
		return nil
	}
	s.advance(m, now)
	if !m.oauthPending() || m.oauth.token != token {
		return nil
	}
	return m
}

// oauthPage is the institution's authorization page of a window.
func (s *Server) oauthPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.oauthMember(r.PathValue("token"), s.now())
	var data oauthPageData
	if m != nil {
		data = oauthPageData{Institution: m.inst.name, Action: "/_sim/oauth/" + m.oauth.token}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if m == nil {
		w.WriteHeader(http.StatusGone)
		_ = oauthGoneTemplate.Execute(w, nil)
		return
	}
	_ = oauthPageTemplate.Execute(w, data)
}

// oauthDecide is a click on Approve or Deny (form field decision): the
// window is used up, and the end user goes to client_redirect_url (APP)
// or to MX's OAuth complete page.
func (s *Server) oauthDecide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "approve" && decision != "deny" {
		http.Error(w, "decision must be approve or deny", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	now := s.now()
	m := s.oauthMember(r.PathValue("token"), now)
	if m == nil {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusGone)
		_ = oauthGoneTemplate.Execute(w, nil)
		return
	}
	win := m.oauth
	delete(s.oauthTokens, win.token)
	m.oauth = nil
	done := oauthDoneData{MemberGUID: m.guid, Institution: m.inst.name}
	if decision == "approve" {
		m.oauthAuthorized = true
		m.status = statusCreated
		if kind := m.oauthKind; kind != "" && !win.skipAggregation {
			_, _, _ = s.runJob(m, kind, now, m.callback) // supported (checked at create), and no job runs
		}
		s.schedule(m, now)
		done.Success = true
	} else {
		m.status = statusDenied
		done.ErrorReason = "DENIED"
		s.applied(m, "", now)
		s.schedule(m, now)
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	if win.clientRedirectURL != "" && win.referralSource == "APP" {
		http.Redirect(w, r, done.redirect(win.clientRedirectURL), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = oauthDoneTemplate.Execute(w, done)
}

// oauthDoneData is how an authorization ended.
type oauthDoneData struct {
	Success     bool
	MemberGUID  string
	Institution string
	ErrorReason string
}

// redirect is client_redirect_url with how it ended appended.
func (d oauthDoneData) redirect(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // checked when the window was opened
	}
	q := u.Query()
	q.Set("member_guid", d.MemberGUID)
	if d.Success {
		q.Set("status", "success")
	} else {
		q.Set("status", "error")
		q.Set("error_reason", d.ErrorReason)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Message is the postMessage MX's OAuth complete page sends.
func (d oauthDoneData) Message() map[string]any {
	if d.Success {
		return map[string]any{"type": "oauthComplete/success", "metadata": map[string]string{"member_guid": d.MemberGUID}}
	}
	return map[string]any{"type": "oauthComplete/error",
		"metadata": map[string]string{"member_guid": d.MemberGUID, "error_reason": d.ErrorReason}}
}

type oauthPageData struct {
	Institution, Action string
}

const oauthStyle = `<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f1f3f6;color:#1b1f24}
main{max-width:420px;margin:32px auto;padding:24px;background:#fff;border-radius:12px;box-shadow:0 2px 14px rgba(0,0,0,.12)}
header{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#7a818a;margin-bottom:12px}
h1{font-size:20px;margin:0 0 16px}
p{line-height:1.4}
button{display:block;width:100%;box-sizing:border-box;padding:12px;margin:8px 0;font-size:15px;border:1px solid #2b63d9;border-radius:8px;background:#2b63d9;color:#fff;cursor:pointer}
button.deny{background:transparent;color:#b3261e;border-color:#b3261e}
</style>`

var oauthPageTemplate = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Institution}}: authorize MX (simulated)</title>` + oauthStyle + `</head>
<body><main><header>{{.Institution}} · OAuth (simulated)</header>
<h1 id="title">Share your accounts with MX?</h1>
<p>MX is asking to read your account and routing numbers and account owners at {{.Institution}}.</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="decision" value="approve"><button id="approve" type="submit">Approve</button></form>
<form method="post" action="{{.Action}}"><input type="hidden" name="decision" value="deny"><button id="deny" class="deny" type="submit">Deny</button></form>
</main></body></html>
`))

var oauthGoneTemplate = template.Must(template.New("gone").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OAuth (simulated)</title>` + oauthStyle + `</head>
<body><main><h1>OAuth (simulated)</h1>
<p id="gone">This authorization link is unknown, already used or expired. OAuth window URIs are one-time use: ask MX for a new one.</p>
</main></body></html>
`))

var oauthDoneTemplate = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OAuth complete (simulated)</title>` + oauthStyle + `</head>
<body><main><header>MX · OAuth complete (simulated)</header>
{{if .Success}}<h1 id="oauth-success">You authorized {{.Institution}}</h1><p>You can close this window.</p>
{{else}}<h1 id="oauth-error">{{.Institution}} was not authorized</h1><p>Reason: <span id="error-reason">{{.ErrorReason}}</span></p>{{end}}
<script>
(function () {
  var msg = {{.Message}};
  var target = window.opener || (window.parent !== window ? window.parent : null);
  if (target) { target.postMessage(msg, "*"); }
  window.oauthComplete = msg;
})();
</script>
</main></body></html>
`))

// oauthStatusMessage is the connection_status_message of an OAuth member
// whose status says nothing of credentials.
func (m *member) oauthStatusMessage() (string, bool) {
	if !m.isOAuth {
		return "", false
	}
	switch m.status {
	case statusPending:
		return "Waiting for you to authorize MX at " + m.inst.name, true
	case statusExpired:
		return "The authorization at " + m.inst.name + " was not completed in time", true
	case statusDenied:
		return "MX was not authorized at " + m.inst.name, true
	}
	return "", false
}

// notAuthorized is the 400 of a job on an OAuth member the end user has
// not authorized (the simulator's own).
func (m *member) notAuthorized() (reply, bool) {
	if m.isOAuth && !m.oauthAuthorized {
		return errReply(http.StatusBadRequest, "member %s has not been authorized by the end user: load its oauth_window_uri", m.guid), false
	}
	return reply{}, true
}

// oauthMemberRequest is what createMember was given for an OAuth member.
type oauthMemberRequest struct {
	id, metadata                      string
	useCases                          []string
	bgAggDisabled, skipAggregation    bool
	clientRedirectURL, referralSource string
}

// createOAuthMember is createMember with is_oauth: no credentials, a
// window for the end user, PENDING until they act. The job their approval
// starts is what the create asks for: in v20250224 the data request's
// products (as productsPlan: a standard aggregation without one), in
// v20111101 a standard aggregation unless skip_aggregation. The answer's
// status is the create's as without OAuth (v20250224: 202 when a job is
// requested, 201 when a product is not supported; v20111101: 200).
func (s *Server) createOAuthMember(c *call, u *user, in *institution, callback string, dr *dataRequest, r oauthMemberRequest) reply {
	if !in.supportsOAuth {
		return errReply(http.StatusBadRequest, "institution %s does not support OAuth: create the member with credentials", in.code)
	}
	referral, rep, okay := checkReferralSource(r.referralSource)
	if !okay {
		return rep
	}
	if rep, okay := checkRedirect(r.clientRedirectURL); !okay {
		return rep
	}
	kind, failed := kindAggregate, false
	switch {
	case c.current():
		kind, failed = productsPlan(in, dr)
	case r.skipAggregation:
		kind = ""
	}
	m := &member{guid: newGUID("MBR"), user: u, inst: in, creds: map[string]string{}, status: statusPending,
		createdAt: c.now, isOAuth: true, oauthKind: kind, callback: callback,
		id: r.id, metadata: r.metadata, useCases: r.useCases, bgAggDisabled: r.bgAggDisabled}
	u.members[m.guid] = m
	u.order = append(u.order, m.guid)
	s.openOAuthWindow(c, m, oauthQuery{clientRedirectURL: r.clientRedirectURL, referralSource: referral})
	switch {
	case !c.current():
		return memberReply(c, http.StatusOK, m)
	case failed:
		return memberReply(c, http.StatusCreated, m)
	case kind != "":
		return memberReply(c, http.StatusAccepted, m)
	}
	return memberReply(c, http.StatusOK, m)
}
