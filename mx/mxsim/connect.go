package mxsim

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The Connect widget the simulator serves at a widget URL (connect_page.go
// is its HTML). A token is the only credential of its page and its JSON
// endpoints: no basic auth, no faults.

// Widget modes.
const (
	modeAggregation  = "aggregation"
	modeVerification = "verification"
)

const (
	// widgetURLLifetime is how long a widget URL's page can be loaded: MX
	// says "valid 10 minutes or one use"; the simulator allows reloads
	// within the 10 minutes.
	widgetURLLifetime = 10 * time.Minute
	// widgetSessionLifetime is how long the page's JSON endpoints accept the
	// token, so that a page loaded at minute 9 can finish its MFA.
	widgetSessionLifetime = time.Hour
)

// widgetInstitutions are the institutions the widget offers as buttons
// (when they support the mode); current_institution_code may name any.
var widgetInstitutions = []string{"mxbank", "mxbank_noid"}

// widgetSession is what a widget URL was requested with.
type widgetSession struct {
	token, sessionGUID     string
	userGUID               string
	widgetType, mode       string
	currentMemberGUID      string
	currentInstitutionCode string
	colorScheme            string
	created                time.Time
	request                json.RawMessage
}

// pruneWidgets forgets the tokens past their session lifetime. The caller
// holds s.mu.
func (s *Server) pruneWidgets(now time.Time) {
	maps.DeleteFunc(s.widgets, func(_ string, ws widgetSession) bool {
		return !now.Before(ws.created.Add(widgetSessionLifetime))
	})
}

// widget finds a live token and its user; the caller holds s.mu.
func (s *Server) widget(token string, now time.Time, lifetime time.Duration) (widgetSession, *user, reply, bool) {
	ws, found := s.widgets[token]
	if !found || !now.Before(ws.created.Add(lifetime)) {
		return ws, nil, errReply(http.StatusNotFound, "unknown or expired widget URL"), false
	}
	u := s.users[ws.userGUID]
	if u == nil {
		return ws, nil, errReply(http.StatusNotFound, "user not found"), false
	}
	return ws, u, reply{}, true
}

func (s *Server) connectRoutes() {
	s.sim.HandleFunc("GET /_sim/connect/{token}", s.connectPage)
	s.connectRoute("POST /_sim/connect/{token}/members", s.connectCreateMember)
	s.connectRoute("GET /_sim/connect/{token}/members/{member_guid}", s.connectReadMember)
	s.connectRoute("PUT /_sim/connect/{token}/members/{member_guid}/resume", s.connectResume)
}

type connectHandler func(c *call, ws widgetSession, u *user) reply

// connectRoute registers a JSON endpoint of the widget: the token must be
// live; the handler runs under the lock; answers are application/json with
// MX's error shape.
func (s *Server) connectRoute(pattern string, h connectHandler) {
	s.sim.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		out := func() encoded {
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				return errReply(http.StatusBadRequest, "request body could not be read: %v", err).encode()
			}
			c := &call{r: r, body: body, now: s.now()} // no version: not MX's API
			ws, u, rep, okay := s.widget(r.PathValue("token"), c.now, widgetSessionLifetime)
			if !okay {
				return rep.encode()
			}
			return h(c, ws, u).encode()
		}()
		w.Header().Set("Cache-Control", "no-store")
		out.writeAs(w, "application/json; charset=utf-8")
	})
}

// connectMemberJSON is what the widget polls. Its is_being_aggregated is
// whether a run is in progress: false while CHALLENGED (unlike MX's API,
// where a member waiting for MFA answers is still being aggregated), so
// that the page shows the challenge.
type connectMemberJSON struct {
	MemberGUID         string          `json:"member_guid"`
	UserGUID           string          `json:"user_guid"`
	InstitutionCode    string          `json:"institution_code"`
	InstitutionName    string          `json:"institution_name"`
	ConnectionStatus   string          `json:"connection_status"`
	ConnectionStatusID int             `json:"connection_status_id"`
	IsBeingAggregated  bool            `json:"is_being_aggregated"`
	Challenges         []challengeJSON `json:"challenges"` // empty unless CHALLENGED
}

func connectMember(m *member) connectMemberJSON {
	ch := []challengeJSON{}
	if m.status == statusChallenged {
		ch = m.challenges
	}
	return connectMemberJSON{MemberGUID: m.guid, UserGUID: m.user.guid, InstitutionCode: m.inst.code,
		InstitutionName: m.inst.name, ConnectionStatus: m.status, ConnectionStatusID: connectionStatusIDs[m.status],
		IsBeingAggregated: m.running(), Challenges: ch}
}

// connectCreateMember is POST /_sim/connect/{token}/members
// {"institution_code","credentials":{"username","password"}}: createMember
// for the token's user (skipping its aggregation), then verifyMember in
// verification mode or aggregateMember in aggregation mode. Credentials
// are keyed by the field's name on the page: its label, lower-cased, or
// its field_name (either case-insensitively).
func (s *Server) connectCreateMember(c *call, ws widgetSession, u *user) reply {
	s.count("createMember", "")
	var req struct {
		InstitutionCode string            `json:"institution_code"`
		Credentials     map[string]string `json:"credentials"` // by label or field_name
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	switch {
	case req.InstitutionCode == "":
		return errReply(http.StatusBadRequest, "institution_code is required")
	case len(req.Credentials) == 0:
		return errReply(http.StatusBadRequest, "credentials are required")
	}
	in, rep, okay := s.lookupInstitution(req.InstitutionCode)
	if !okay {
		return rep
	}
	kind, op := kindAggregate, "aggregateMember"
	if ws.mode == modeVerification {
		kind, op = kindVerify, "verifyMember"
	}
	if rep, okay := in.supports(kind); !okay {
		return rep
	}
	var given []credentialValue
	for _, name := range slices.Sorted(maps.Keys(req.Credentials)) {
		cr, found := in.credentialByName(name)
		if !found {
			return errReply(http.StatusBadRequest, "credential %q is not a credential of institution %s", name, in.code)
		}
		given = append(given, credentialValue{GUID: cr.guid, Value: req.Credentials[name]})
	}
	creds, rep, okay := mergeCredentials(in, nil, given)
	if !okay {
		return rep
	}
	m, rep, okay := s.addMember(u, in, creds, c.now)
	if !okay {
		return rep
	}
	s.count(op, m.guid)
	if _, rep, okay := s.runJob(m, kind, c.now, ""); !okay {
		return rep // cannot happen: a new member runs nothing, support checked
	}
	return ok(http.StatusOK, connectMember(m))
}

// connectLookup finds a member of the token's user, brought up to now.
func (s *Server) connectLookup(c *call, u *user) (*member, reply, bool) {
	m := u.members[c.path("member_guid")]
	if m == nil {
		return nil, errReply(http.StatusNotFound, "member not found"), false
	}
	s.advance(m, c.now)
	return m, reply{}, true
}

// connectReadMember is GET /_sim/connect/{token}/members/{member_guid},
// what the page polls (not counted in Stats).
func (s *Server) connectReadMember(c *call, _ widgetSession, u *user) reply {
	m, rep, okay := s.connectLookup(c, u)
	if !okay {
		return rep
	}
	return ok(http.StatusOK, connectMember(m))
}

// connectResume is PUT /_sim/connect/{token}/members/{member_guid}/resume
// {"answers":{"<challenge guid>":"<value>"}}, counted as and behaving like
// resumeAggregation.
func (s *Server) connectResume(c *call, _ widgetSession, u *user) reply {
	s.count("resumeAggregation", c.path("member_guid"))
	m, rep, okay := s.connectLookup(c, u)
	if !okay {
		return rep
	}
	var req struct {
		Answers map[string]string `json:"answers"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	var given []credentialValue
	for _, guid := range slices.Sorted(maps.Keys(req.Answers)) {
		given = append(given, credentialValue{GUID: guid, Value: req.Answers[guid]})
	}
	if rep, okay := s.resumeWith(m, given, c.now); !okay {
		return rep
	}
	return ok(http.StatusAccepted, connectMember(m))
}

// ---- the page

// connectConfig is what the page is rendered with.
type connectConfig struct {
	Token              string               `json:"token"`
	SessionGUID        string               `json:"session_guid"`
	UserGUID           string               `json:"user_guid"`
	Mode               string               `json:"mode"`
	ColorScheme        string               `json:"color_scheme"`
	CurrentMemberGUID  string               `json:"current_member_guid"`
	CurrentInstitution *connectInstitution  `json:"current_institution"`
	Institutions       []connectInstitution `json:"institutions"`
}

type connectInstitution struct {
	Code        string              `json:"code"`
	GUID        string              `json:"guid"`
	Name        string              `json:"name"`
	URL         string              `json:"url"`
	Credentials []connectCredential `json:"credentials"`
}

// connectCredential is a login field of the page: its input is named
// Name, the label lower-cased ("username", "password").
type connectCredential struct {
	Name      string `json:"name"`
	FieldName string `json:"field_name"`
	Label     string `json:"label"`
	Type      string `json:"type"`
}

func (in *institution) connectJSON() connectInstitution {
	ci := connectInstitution{Code: in.code, GUID: in.guid, Name: in.name, URL: in.url}
	for _, cr := range in.credentials {
		ci.Credentials = append(ci.Credentials, connectCredential{Name: strings.ToLower(cr.label), FieldName: cr.fieldName,
			Label: cr.label, Type: cr.fieldType})
	}
	return ci
}

// connectPage is GET /_sim/connect/{token}: the simulated Connect widget.
func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	ws, _, _, found := s.widget(r.PathValue("token"), now, widgetURLLifetime)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, connectNotFoundHTML)
		return
	}
	kind := kindAggregate
	if ws.mode == modeVerification {
		kind = kindVerify
	}
	cfg := connectConfig{Token: ws.token, SessionGUID: ws.sessionGUID, UserGUID: ws.userGUID, Mode: ws.mode,
		ColorScheme: ws.colorScheme, CurrentMemberGUID: ws.currentMemberGUID, Institutions: []connectInstitution{}}
	for _, code := range widgetInstitutions {
		if in := s.instByCode[code]; in != nil {
			if _, okay := in.supports(kind); okay {
				cfg.Institutions = append(cfg.Institutions, in.connectJSON())
			}
		}
	}
	if in := s.instByCode[ws.currentInstitutionCode]; in != nil {
		if _, okay := in.supports(kind); okay {
			ci := in.connectJSON()
			cfg.CurrentInstitution = &ci
		}
	}
	b, err := json.Marshal(cfg) // escapes <, > and & : safe inside <script>
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, strings.Replace(connectHTML, "/*CONFIG*/null", string(b), 1))
}
