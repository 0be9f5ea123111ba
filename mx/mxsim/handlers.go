package mxsim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) apiRoutes() {
	s.route("POST /users", "createUser", s.createUser)
	s.route("GET /users", "listUsers", s.listUsers)
	s.route("GET /users/{user_guid}", "readUser", s.readUser)
	s.route("PUT /users/{user_guid}", "updateUser", s.updateUser)
	s.route("DELETE /users/{user_guid}", "deleteUser", s.deleteUser)

	s.route("GET /institutions", "listInstitutions", s.listInstitutions)
	s.route("GET /institutions/{institution_code}", "readInstitution", s.readInstitution)
	s.route("GET /institutions/{institution_code}/credentials", "listInstitutionCredentials", s.listInstitutionCredentials)

	s.route("POST /users/{user_guid}/members", "createMember", s.createMember)
	s.route("GET /users/{user_guid}/members", "listMembers", s.listMembers)
	s.route("GET /users/{user_guid}/members/{member_guid}", "readMember", s.readMember)
	s.route("PUT /users/{user_guid}/members/{member_guid}", "updateMember", s.updateMember)
	s.route("DELETE /users/{user_guid}/members/{member_guid}", "deleteMember", s.deleteMember)
	s.route("GET /users/{user_guid}/members/{member_guid}/status", "readMemberStatus", s.readMemberStatus)
	s.route("POST /users/{user_guid}/members/{member_guid}/identify", "identifyMember", s.startJob(kindIdentify, http.StatusAccepted))
	s.route("POST /users/{user_guid}/members/{member_guid}/verify", "verifyMember", s.startJob(kindVerify, http.StatusOK))
	s.route("POST /users/{user_guid}/members/{member_guid}/aggregate", "aggregateMember", s.startJob(kindAggregate, http.StatusAccepted))
	s.route("GET /users/{user_guid}/members/{member_guid}/oauth_window_uri", "requestOAuthWindowURI", s.requestOAuthWindowURI)
	s.route("GET /users/{user_guid}/members/{member_guid}/challenges", "listMemberChallenges", s.listMemberChallenges)
	s.route("PUT /users/{user_guid}/members/{member_guid}/resume", "resumeAggregation", s.resumeAggregation)
	s.route("GET /users/{user_guid}/members/{member_guid}/account_owners", "listAccountOwnersByMember", s.listAccountOwners)
	s.route("GET /users/{user_guid}/members/{member_guid}/account_numbers", "listAccountNumbersByMember", s.listAccountNumbersByMember)
	s.route("GET /users/{user_guid}/accounts/{account_guid}/account_numbers", "listAccountNumbersByAccount", s.listAccountNumbersByAccount)

	s.route("POST /users/{user_guid}/widget_urls", "requestWidgetURL", s.requestWidgetURL)
	s.microdepositRoutes()
}

// ---- users

func (u *user) json(version string) any {
	if version == VersionCurrent {
		return userV2JSON{Email: nullable(u.email), GUID: u.guid, ID: nullable(u.id), IsDisabled: u.isDisabled, Metadata: nullable(u.metadata)}
	}
	return userJSON{Email: nullable(u.email), GUID: u.guid, ID: nullable(u.id), IsDisabled: u.isDisabled, Metadata: nullable(u.metadata)}
}

// guidOnly are the operations whose v20250224 paths still take the user's
// and member's guid ({user_guid}, {member_guid}) rather than an identifier.
var guidOnly = map[string]bool{"listAccountNumbersByMember": true, "requestWidgetURL": true}

// identifiers is whether the call's path takes identifiers: in v20250224,
// {user_identifier} and {member_identifier} are MX's guid or the
// partner-defined id.
func (c *call) identifiers() bool { return c.current() && !guidOnly[c.op] }

func (s *Server) lookupUser(c *call) (*user, reply, bool) {
	key := c.path("user_guid")
	u := s.users[key]
	if u == nil && c.identifiers() && key != "" {
		u = s.userIDs[key]
	}
	if u == nil {
		return nil, errReply(http.StatusNotFound, "user not found"), false
	}
	return u, reply{}, true
}

// userIDTaken is whether another user than except has the partner id.
// (An index, not a scan: a scan of every user under the server's lock made
// creating users cost O(users), most of the simulator's CPU in make bench.)
func (s *Server) userIDTaken(id string, except *user) bool {
	u := s.userIDs[id]
	return id != "" && u != nil && u != except
}

// setUserID gives u the partner id, keeping the index.
func (s *Server) setUserID(u *user, id string) {
	if s.userIDs[u.id] == u {
		delete(s.userIDs, u.id)
	}
	u.id = id
	if id != "" {
		s.userIDs[id] = u
	}
}

func (s *Server) createUser(c *call) reply {
	var req struct {
		User *struct {
			ID         string `json:"id"`
			Email      string `json:"email"`
			IsDisabled bool   `json:"is_disabled"`
			Metadata   string `json:"metadata"`
		} `json:"user"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	if req.User == nil {
		return errReply(http.StatusBadRequest, "user is required")
	}
	if s.userIDTaken(req.User.ID, nil) {
		return errReply(http.StatusConflict, "a user with id %q already exists", req.User.ID)
	}
	u := &user{guid: newGUID("USR"), email: req.User.Email, isDisabled: req.User.IsDisabled,
		metadata: req.User.Metadata, members: map[string]*member{}}
	s.addStaticMembers(u, c.now)
	s.users[u.guid] = u
	s.setUserID(u, req.User.ID)
	s.userOrder = append(s.userOrder, u.guid)
	return ok(http.StatusOK, map[string]any{"user": u.json(c.version)})
}

func (s *Server) listUsers(c *call) reply {
	q := c.query()
	var disabled *bool
	if v := q.Get("is_disabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errReply(http.StatusBadRequest, "is_disabled must be a boolean")
		}
		disabled = &b
	}
	out := []any{}
	for _, guid := range s.userOrder {
		u := s.users[guid]
		if id := q.Get("id"); id != "" && u.id != id {
			continue
		}
		if email := q.Get("email"); email != "" && !strings.EqualFold(u.email, email) {
			continue
		}
		if disabled != nil && u.isDisabled != *disabled {
			continue
		}
		out = append(out, u.json(c.version))
	}
	return listReply(c, "users", 1000, out)
}

func (s *Server) readUser(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	return ok(http.StatusOK, map[string]any{"user": u.json(c.version)})
}

func (s *Server) updateUser(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	var req struct {
		User *struct {
			ID         *string `json:"id"`
			Email      *string `json:"email"`
			IsDisabled *bool   `json:"is_disabled"`
			Metadata   *string `json:"metadata"`
		} `json:"user"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	if req.User == nil {
		return errReply(http.StatusBadRequest, "user is required")
	}
	if p := req.User.ID; p != nil && s.userIDTaken(*p, u) {
		return errReply(http.StatusConflict, "a user with id %q already exists", *p)
	}
	if p := req.User.ID; p != nil {
		s.setUserID(u, *p)
	}
	set(&u.email, req.User.Email)
	set(&u.isDisabled, req.User.IsDisabled)
	set(&u.metadata, req.User.Metadata)
	return ok(http.StatusOK, map[string]any{"user": u.json(c.version)})
}

// set stores *p in dst when p is not nil.
func set[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

func (s *Server) deleteUser(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	for _, m := range u.members {
		s.forgetMember(m)
	}
	delete(s.users, u.guid)
	s.setUserID(u, "")
	s.userOrder = slices.DeleteFunc(s.userOrder, func(g string) bool { return g == u.guid })
	return ok(http.StatusNoContent, nil)
}

// ---- institutions

func (s *Server) listInstitutions(c *call) reply {
	q := c.query()
	name := strings.ToLower(strings.TrimSpace(q.Get("name")))
	if name == "" {
		return errReply(http.StatusBadRequest, "name is required")
	}
	var filters []func(*institution) bool
	if c.current() {
		wanted, rep, okay := productsFilter(q)
		if !okay {
			return rep
		}
		for _, p := range wanted {
			filters = append(filters, func(in *institution) bool { return in.supportsProduct(p) })
		}
	} else {
		for param, has := range map[string]func(*institution) bool{
			"supports_account_verification":   func(in *institution) bool { return in.supportsVerification },
			"supports_account_identification": func(in *institution) bool { return in.supportsIdentify },
			"supports_account_statement":      func(*institution) bool { return false },
			"supports_transaction_history":    func(*institution) bool { return true },
		} {
			if v := q.Get(param); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return errReply(http.StatusBadRequest, "%s must be a boolean", param)
				}
				if b {
					filters = append(filters, has)
				}
			}
		}
	}
	if countries := append(q["iso_country_code"], q["iso_country_code[]"]...); len(countries) > 0 {
		filters = append(filters, func(*institution) bool {
			return slices.ContainsFunc(countries, func(cc string) bool { return strings.EqualFold(cc, "US") })
		})
	}
	out := []any{}
	for _, in := range s.institutions {
		if !strings.Contains(strings.ToLower(in.name), name) && !strings.Contains(strings.ToLower(in.url), name) {
			continue
		}
		if !all(filters, in) {
			continue
		}
		out = append(out, in.json(c.version))
	}
	return listReply(c, "institutions", 100, out)
}

// productsFilter reads v20250224's supported_products query parameter (an
// array: repeated, as supported_products[]=, or comma-separated) as
// product names. Its values are the parameter's enum (account_verification,
// identity_verification, transactions, history, statements, investments,
// rewards); "history" is the institution's transaction_history, which is
// accepted too.
func productsFilter(q url.Values) ([]string, reply, bool) {
	var out []string
	for _, v := range append(q["supported_products"], q["supported_products[]"]...) {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == "":
				continue
			case p == "history":
				p = productTransactionHistory
			case !slices.Contains(products, p):
				return nil, errReply(http.StatusBadRequest, "supported_products: %q is not one of account_verification, "+
					"identity_verification, transactions, history, statements, investments, rewards", p), false
			}
			out = append(out, p)
		}
	}
	return out, reply{}, true
}

func all[T any](preds []func(T) bool, v T) bool {
	for _, p := range preds {
		if !p(v) {
			return false
		}
	}
	return true
}

func (s *Server) lookupInstitution(code string) (*institution, reply, bool) {
	in := s.instByCode[code]
	if in == nil {
		return nil, errReply(http.StatusNotFound, "institution %q not found", code), false
	}
	return in, reply{}, true
}

func (s *Server) readInstitution(c *call) reply {
	in, rep, okay := s.lookupInstitution(c.path("institution_code"))
	if !okay {
		return rep
	}
	return ok(http.StatusOK, map[string]any{"institution": in.json(c.version)})
}

func (s *Server) listInstitutionCredentials(c *call) reply {
	in, rep, okay := s.lookupInstitution(c.path("institution_code"))
	if !okay {
		return rep
	}
	out := make([]credentialJSON, 0, len(in.credentials))
	for _, cr := range in.credentials {
		out = append(out, cr.json())
	}
	return listReply(c, "credentials", 1000, out)
}

// ---- members

var statusMessages = map[string]string{
	statusCreated:    "Not yet connected",
	statusUpdated:    "Credentials updated, not yet connected",
	statusResumed:    "Answer received, connecting",
	statusConnected:  "Connected to %s",
	statusChallenged: "%s needs more information to connect",
	statusRejected:   "The answer was not accepted",
	statusExpired:    "The answer was not given in time",
	statusDenied:     "The credentials were not accepted by %s",
	statusLocked:     "The account is locked at %s",
	statusImpeded:    "Log in to %s's website to take care of an action",
	statusDisabled:   "Data updates for %s are disabled",
	statusFailed:     "The connection to %s failed",
	statusDegraded:   "%s is experiencing issues; try again later",
}

// statusMessage is the connection_status_message of the member's status.
func (m *member) statusMessage() string {
	if msg, isOAuth := m.oauthStatusMessage(); isOAuth {
		return msg
	}
	msg := statusMessages[m.status]
	if strings.Contains(msg, "%s") {
		msg = fmt.Sprintf(msg, m.inst.name)
	}
	return msg
}

func (m *member) json(version string) memberJSON {
	useCases := m.useCases
	if useCases == nil {
		useCases = []string{}
	}
	j := memberJSON{
		AggregatedAt:                    timestamp(m.aggregatedAt),
		BackgroundAggregationIsDisabled: m.bgAggDisabled,
		ConnectionStatus:                m.status,
		ConnectionStatusMessage:         m.statusMessage(),
		GUID:                            m.guid,
		ID:                              nullable(m.id),
		InstitutionCode:                 m.inst.code,
		InstitutionGUID:                 m.inst.guid,
		IsBeingAggregated:               m.isBeingAggregated(),
		IsOAuth:                         m.isOAuth,
		OAuthWindowURI:                  m.oauthWindowURI(),
		Metadata:                        nullable(m.metadata),
		Name:                            m.inst.name,
		NeedsUpdatedCredentials:         m.needsNewCreds,
		SuccessfullyAggregatedAt:        timestamp(m.succeededAt),
		UseCases:                        useCases,
		UserGUID:                        m.user.guid,
		UserID:                          nullable(m.user.id),
	}
	if version == VersionCurrent {
		j.MostRecentJobGUID = nullable(m.lastJobGUID)
	}
	return j
}

func memberReply(c *call, status int, m *member) reply {
	return ok(status, map[string]any{"member": m.json(c.version)})
}

// lookupMember finds the user and member of the path, brought up to now.
func (s *Server) lookupMember(c *call) (*member, reply, bool) {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return nil, rep, false
	}
	key := c.path("member_guid")
	m := u.members[key]
	if m == nil && c.identifiers() && key != "" {
		for _, guid := range u.order {
			if u.members[guid].id == key {
				m = u.members[guid]
				break
			}
		}
	}
	if m == nil {
		return nil, errReply(http.StatusNotFound, "member not found"), false
	}
	s.advance(m, c.now)
	return m, reply{}, true
}

// advance brings the member up to now (queueing the webhooks of what
// happened) and re-arms its timer. Every read goes through it, and so does
// a timer going off (apply), so state is the same whoever looks first.
func (s *Server) advance(m *member, now time.Time) {
	s.apply(m, now)
	s.schedule(m, now)
}

// apply brings the member up to now, queueing the webhooks of each outcome.
func (s *Server) apply(m *member, now time.Time) {
	m.advance(now, s.aggTime, s.mfaWindow, func(kind string, t time.Time) { s.applied(m, kind, t) })
}

// credentialValue is CredentialRequest: a credential or challenge guid and
// its value.
type credentialValue struct {
	GUID  string `json:"guid"`
	Value string `json:"value"`
}

// mergeCredentials applies given values over current ones and checks them
// against the institution's fields: every guid known, every field filled.
func mergeCredentials(in *institution, current map[string]string, given []credentialValue) (map[string]string, reply, bool) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for _, cv := range given {
		if _, known := in.credentialByGUID(cv.GUID); !known {
			return nil, errReply(http.StatusBadRequest, "credential %q is not a credential of institution %s", cv.GUID, in.code), false
		}
		out[cv.GUID] = cv.Value
	}
	for _, cr := range in.credentials {
		if out[cr.guid] == "" {
			return nil, errReply(http.StatusBadRequest, "credential %s (%s) is required", cr.fieldName, cr.guid), false
		}
	}
	return out, reply{}, true
}

var validUseCases = []string{"MONEY_MOVEMENT", "PFM"}

func checkUseCases(uc []string) (reply, bool) {
	for _, v := range uc {
		if !slices.Contains(validUseCases, v) {
			return errReply(http.StatusBadRequest, "use_cases: %q is not one of MONEY_MOVEMENT, PFM", v), false
		}
	}
	return reply{}, true
}

// callbackHeader is MX's optional request header whose value MX returns
// in the member's MEMBER and member_data_updated webhooks.
const callbackHeader = "X-CALLBACK-PAYLOAD"

// callbackPayload is the call's X-CALLBACK-PAYLOAD ("" without one): a
// base64 string (standard or URL alphabet, padded or not: the spec's own
// example is a uuid) of at most 1024 characters, else a 400.
func callbackPayload(c *call) (string, reply, bool) {
	v := strings.TrimSpace(c.r.Header.Get(callbackHeader))
	switch {
	case v == "":
		return "", reply{}, true
	case len(v) > 1024:
		return "", errReply(http.StatusBadRequest, "%s is longer than 1024 characters", callbackHeader), false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(v); err == nil {
			return v, reply{}, true
		}
	}
	return "", errReply(http.StatusBadRequest, "%s must be a base64 string", callbackHeader), false
}

// dataRequest is v20250224's DataRequest: the products to aggregate.
type dataRequest struct {
	Products *[]string `json:"products"`
}

// check is the 400 of a data request without products or with a product
// that is not one of v20250224's.
func (dr *dataRequest) check() (reply, bool) {
	if dr.Products == nil {
		return errReply(http.StatusBadRequest, "data_request.products is required"), false
	}
	for _, p := range *dr.Products {
		if !slices.Contains(products, p) {
			return errReply(http.StatusBadRequest, "data_request.products: %q is not one of %s", p, strings.Join(products, ", ")), false
		}
	}
	return reply{}, true
}

func (dr *dataRequest) has(p string) bool {
	return dr != nil && dr.Products != nil && slices.Contains(*dr.Products, p)
}

// productsPlan is what creating a member with a data request (v20250224)
// does: the job to start ("" for none) and whether a requested product
// failed because the institution does not support it. No data request is
// a standard aggregation (MX: "Once you successfully create a member, MX
// will immediately validate the provided credentials and attempt to
// aggregate data"); account_verification starts the verify job,
// identity_verification the identify job, both the verify job (whose
// results hold account numbers and owners alike), any other product alone
// a standard aggregation; an empty products list starts nothing.
func productsPlan(in *institution, dr *dataRequest) (kind string, failed bool) {
	if dr == nil {
		return kindAggregate, false
	}
	verify, identify := dr.has(productAccountVerification), dr.has(productIdentityVerification)
	failed = verify && !in.supportsVerification || identify && !in.supportsIdentify
	other := slices.ContainsFunc(*dr.Products, func(p string) bool {
		return p != productAccountVerification && p != productIdentityVerification
	})
	switch {
	case verify && in.supportsVerification:
		kind = kindVerify
	case identify && in.supportsIdentify:
		kind = kindIdentify
	case other:
		kind = kindAggregate
	}
	return kind, failed
}

func (s *Server) createMember(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	callback, rep, okay := callbackPayload(c)
	if !okay {
		return rep
	}
	var req struct {
		Member *struct {
			InstitutionCode                 string            `json:"institution_code"`
			Credentials                     []credentialValue `json:"credentials"`
			ID                              string            `json:"id"`
			Metadata                        string            `json:"metadata"`
			SkipAggregation                 *bool             `json:"skip_aggregation"`
			BackgroundAggregationIsDisabled bool              `json:"background_aggregation_is_disabled"`
			UseCases                        []string          `json:"use_cases"`
			IsOAuth                         bool              `json:"is_oauth"`
		} `json:"member"`
		DataRequest *dataRequest `json:"data_request"` // v20250224
		// OAuth options of MemberCreateRequestBody (both versions)
		ClientRedirectURL string `json:"client_redirect_url"`
		ReferralSource    string `json:"referral_source"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	mr := req.Member
	switch {
	case mr == nil:
		return errReply(http.StatusBadRequest, "member is required")
	case mr.InstitutionCode == "":
		return errReply(http.StatusBadRequest, "institution_code is required")
	case mr.IsOAuth && len(mr.Credentials) > 0:
		// MX: "you cannot include end-user credentials in your request
		// body when creating an OAuth member"
		return errReply(http.StatusBadRequest, "an OAuth member (is_oauth) takes no credentials")
	case !mr.IsOAuth && len(mr.Credentials) == 0:
		return errReply(http.StatusBadRequest, "credentials are required")
	case c.current() && mr.SkipAggregation != nil:
		return errReply(http.StatusBadRequest, "skip_aggregation is not a field of %s; use data_request.products", VersionCurrent)
	}
	if rep, okay := checkUseCases(mr.UseCases); !okay {
		return rep
	}
	dr := req.DataRequest
	if !c.current() {
		dr = nil // not a field of v20111101
	}
	if dr != nil {
		if rep, okay := dr.check(); !okay {
			return rep
		}
	}
	in, rep, okay := s.lookupInstitution(mr.InstitutionCode)
	if !okay {
		return rep
	}
	if mr.IsOAuth {
		return s.createOAuthMember(c, u, in, callback, dr, oauthMemberRequest{id: mr.ID, metadata: mr.Metadata,
			useCases: mr.UseCases, bgAggDisabled: mr.BackgroundAggregationIsDisabled,
			skipAggregation:   mr.SkipAggregation != nil && *mr.SkipAggregation,
			clientRedirectURL: req.ClientRedirectURL, referralSource: req.ReferralSource})
	}
	creds, rep, okay := mergeCredentials(in, nil, mr.Credentials)
	if !okay {
		return rep
	}
	m, rep, okay := s.addMember(u, in, creds, c.now)
	if !okay {
		return rep
	}
	m.id, m.metadata, m.useCases, m.bgAggDisabled = mr.ID, mr.Metadata, mr.UseCases, mr.BackgroundAggregationIsDisabled
	if !c.current() {
		// v20111101: an aggregation unless skip_aggregation; 200 either way
		if mr.SkipAggregation == nil || !*mr.SkipAggregation {
			_, _, _ = s.runJob(m, kindAggregate, c.now, callback) // a new member runs nothing yet
		}
		return memberReply(c, http.StatusOK, m)
	}
	// v20250224: 202 when a job was requested, 201 when a requested
	// product failed, 200 when nothing was requested
	kind, failed := productsPlan(in, dr)
	if kind != "" {
		_, _, _ = s.runJob(m, kind, c.now, callback) // supported, and a new member runs nothing yet
	}
	switch {
	case failed:
		return memberReply(c, http.StatusCreated, m)
	case kind != "":
		return memberReply(c, http.StatusAccepted, m)
	}
	return memberReply(c, http.StatusOK, m)
}

// addMember adds a member of u at in with checked credentials, unless the
// user already has one there with the same credentials (409).
func (s *Server) addMember(u *user, in *institution, creds map[string]string, now time.Time) (*member, reply, bool) {
	if duplicateOf(u, in, creds, nil) != nil {
		return nil, errReply(http.StatusConflict, "member already exists"), false
	}
	m := &member{guid: newGUID("MBR"), user: u, inst: in, creds: creds, status: statusCreated, createdAt: now}
	u.members[m.guid] = m
	u.order = append(u.order, m.guid)
	return m, reply{}, true
}

// duplicateOf is the member of u, other than except, that connects u to
// in with exactly creds: MX's duplicate member ("a member is a duplicate
// if it connects the same user to the same institution with the same
// credentials", docs.mx.com/api-reference/platform-api/reference/members),
// or nil. Static (fixture) members never count.
func duplicateOf(u *user, in *institution, creds map[string]string, except *member) *member {
	for _, other := range u.members {
		if other != except && !other.static && other.inst == in && maps.Equal(other.creds, creds) {
			return other
		}
	}
	return nil
}

func (s *Server) listMembers(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	out := make([]memberJSON, 0, len(u.order))
	for _, guid := range u.order {
		m := u.members[guid]
		s.advance(m, c.now)
		out = append(out, m.json(c.version))
	}
	return listReply(c, "members", 1000, out)
}

func (s *Server) readMember(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	return memberReply(c, http.StatusOK, m)
}

func (s *Server) updateMember(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	callback, rep, okay := callbackPayload(c)
	if !okay {
		return rep
	}
	var req struct {
		Member *struct {
			Credentials                     []credentialValue `json:"credentials"`
			ID                              *string           `json:"id"`
			Metadata                        *string           `json:"metadata"`
			SkipAggregation                 *bool             `json:"skip_aggregation"`
			BackgroundAggregationIsDisabled *bool             `json:"background_aggregation_is_disabled"`
			UseCases                        []string          `json:"use_cases"`
		} `json:"member"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	mr := req.Member
	switch {
	case mr == nil:
		return errReply(http.StatusBadRequest, "member is required")
	case c.current() && mr.SkipAggregation != nil:
		return errReply(http.StatusBadRequest, "skip_aggregation is not a field of %s", VersionCurrent)
	}
	if rep, okay := checkUseCases(mr.UseCases); !okay {
		return rep
	}
	var creds map[string]string
	aggregate := len(mr.Credentials) > 0 && (mr.SkipAggregation == nil || !*mr.SkipAggregation)
	if len(mr.Credentials) > 0 {
		if creds, rep, okay = mergeCredentials(m.inst, m.creds, mr.Credentials); !okay {
			return rep
		}
		// MX's "Creating a New Member" guide: "Updating an existing
		// member's credentials can also return a duplicate member error
		// if the user already has another member connected to the same
		// institution using the same credentials"; the duplicate status is
		// 409 (MX's errors page: "an object with the given attributes
		// already exists"). The body is {"error":{"message"}} like every
		// error here (MX's spec declares no error schema); its wording,
		// and checking this before the busy 409 below, are the
		// simulator's own. Like create's, it does not name the other
		// member (whether MX's does is unconfirmed).
		if duplicateOf(m.user, m.inst, creds, m) != nil {
			return errReply(http.StatusConflict, "member already exists: the user has another member at this institution with these credentials")
		}
		if aggregate && m.job != nil && m.job.kind != kindAggregate {
			return errReply(http.StatusConflict, "a different job is already running on this member")
		}
	}
	set(&m.id, mr.ID)
	set(&m.metadata, mr.Metadata)
	set(&m.bgAggDisabled, mr.BackgroundAggregationIsDisabled)
	if mr.UseCases != nil {
		m.useCases = mr.UseCases
	}
	if creds != nil {
		m.creds = creds
		m.credsUpdated = true
		m.needsNewCreds = false
	}
	if aggregate {
		_, _ = m.startJob(kindAggregate, c.now, callback) // checked above
		s.schedule(m, c.now)
	}
	return memberReply(c, http.StatusOK, m)
}

func (s *Server) deleteMember(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	u := m.user
	s.forgetMember(m)
	delete(u.members, m.guid)
	u.order = slices.DeleteFunc(u.order, func(g string) bool { return g == m.guid })
	return ok(http.StatusNoContent, nil)
}

func (s *Server) readMemberStatus(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	st := memberStatusJSON{
		AggregatedAt:               timestamp(m.aggregatedAt),
		ConnectionStatus:           m.status,
		GUID:                       m.guid,
		HasProcessedAccountNumbers: m.processedNumbers,
		HasProcessedAccounts:       m.processed,
		HasProcessedTransactions:   m.processedTx,
		IsAuthenticated:            m.authenticated,
		IsBeingAggregated:          m.isBeingAggregated(),
		SuccessfullyAggregatedAt:   timestamp(m.succeededAt),
	}
	if m.status == statusChallenged {
		st.Challenges = statusChallenges(m.challenges)
	}
	return ok(http.StatusOK, map[string]any{"member": st})
}

// startJob is the handler of a job endpoint (identify, verify,
// aggregate): status when it starts the job, 202 when the member already
// runs that job (MX: "a job of the same type is already running").
func (s *Server) startJob(kind string, status int) handlerFunc {
	return func(c *call) reply {
		m, rep, okay := s.lookupMember(c)
		if !okay {
			return rep
		}
		callback, rep, okay := callbackPayload(c)
		if !okay {
			return rep
		}
		started, rep, okay := s.runJob(m, kind, c.now, callback)
		if !okay {
			return rep
		}
		if !started {
			return memberReply(c, http.StatusAccepted, m)
		}
		return memberReply(c, status, m)
	}
}

// supports is whether the institution supports a job kind, and if not the
// error MX answers.
func (in *institution) supports(kind string) (reply, bool) {
	switch {
	case kind == kindVerify && !in.supportsVerification:
		return errReply(http.StatusBadRequest, "Member's institution does not support instant account verification."), false
	case kind == kindIdentify && !in.supportsIdentify:
		return errReply(http.StatusBadRequest, "Member's institution does not support account identification."), false
	}
	return reply{}, true
}

// runJob starts a job on the member as the job endpoints do, for a request
// with the X-CALLBACK-PAYLOAD callback, and says whether it started one
// (false: that job was already running).
func (s *Server) runJob(m *member, kind string, now time.Time, callback string) (bool, reply, bool) {
	if rep, okay := m.inst.supports(kind); !okay {
		return false, rep, false
	}
	if rep, okay := m.notAuthorized(); !okay {
		return false, rep, false
	}
	started, err := m.startJob(kind, now, callback)
	if errors.Is(err, errOtherJob) {
		return false, errReply(http.StatusConflict, "%s: the member is running a %s job", err, m.job.kind), false
	}
	s.schedule(m, now)
	return started, reply{}, true
}

func (s *Server) listMemberChallenges(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	if _, _, rep, okay := pageParams(c.query(), 1000); !okay {
		return rep
	}
	if m.status != statusChallenged {
		return ok(http.StatusNoContent, nil)
	}
	return listReply(c, "challenges", 1000, m.challenges)
}

func (s *Server) resumeAggregation(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	var req struct {
		Member *struct {
			Challenges []credentialValue `json:"challenges"`
		} `json:"member"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	var given []credentialValue
	if req.Member != nil {
		given = req.Member.Challenges
	}
	if rep, okay := s.resumeWith(m, given, c.now); !okay {
		return rep
	}
	return memberReply(c, http.StatusAccepted, m)
}

// resumeWith starts a resume run with answers to every outstanding
// challenge, as resumeAggregation does: 405 when the member is not
// challenged, 400 when an answer is missing or unknown.
func (s *Server) resumeWith(m *member, given []credentialValue, now time.Time) (reply, bool) {
	if m.status != statusChallenged || m.job == nil {
		return errReply(http.StatusMethodNotAllowed, "member is not challenged (connection_status %s)", m.status), false
	}
	if len(given) == 0 {
		return errReply(http.StatusBadRequest, "member.challenges is required"), false
	}
	answers := map[string]string{}
	for _, a := range given {
		if !slices.ContainsFunc(m.challenges, func(ch challengeJSON) bool { return ch.GUID == a.GUID }) {
			return errReply(http.StatusBadRequest, "challenge %q is not an outstanding challenge of this member", a.GUID), false
		}
		answers[a.GUID] = a.Value
	}
	for _, ch := range m.challenges {
		if _, answered := answers[ch.GUID]; !answered {
			return errReply(http.StatusBadRequest, "challenge %s is not answered", ch.GUID), false
		}
	}
	m.resume(answers, now)
	s.schedule(m, now)
	return reply{}, true
}

// ---- account owners and numbers

func (s *Server) listAccountOwners(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	return listReply(c, "account_owners", 1000, m.readable().owners)
}

func (s *Server) listAccountNumbersByMember(c *call) reply {
	m, rep, okay := s.lookupMember(c)
	if !okay {
		return rep
	}
	return listReply(c, "account_numbers", 1000, m.readable().numbers)
}

func (s *Server) listAccountNumbersByAccount(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	acct := c.path("account_guid")
	for _, m := range u.members {
		s.advance(m, c.now)
		if m.results == nil || !slices.Contains(m.results.accounts, acct) {
			continue
		}
		out := []accountNumberJSON{}
		for _, n := range m.readable().numbers {
			if n.AccountGUID == acct {
				out = append(out, n)
			}
		}
		return listReply(c, "account_numbers", 1000, out)
	}
	return errReply(http.StatusNotFound, "account not found")
}

// ---- widget URLs

// requestWidgetURL answers a URL of the simulator's Connect widget. Its
// mode is verification or aggregation (MX's default): in v20111101 from
// mode; in v20250224 from data_request.products when given
// (account_verification: verification), else from mode, which the
// v20250224 spec still declares. include_identity, include_transactions
// and disable_background_agg (declared by both specs) are accepted and
// ignored.
func (s *Server) requestWidgetURL(c *call) reply {
	u, rep, okay := s.lookupUser(c)
	if !okay {
		return rep
	}
	if _, rep, okay := callbackPayload(c); !okay {
		return rep
	}
	var req struct {
		WidgetURL json.RawMessage `json:"widget_url"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	var w struct {
		WidgetType             string       `json:"widget_type"`
		Mode                   string       `json:"mode"`
		CurrentMemberGUID      string       `json:"current_member_guid"`
		CurrentInstitutionCode string       `json:"current_institution_code"`
		ColorScheme            string       `json:"color_scheme"`
		DataRequest            *dataRequest `json:"data_request"` // v20250224
	}
	if len(req.WidgetURL) == 0 || string(req.WidgetURL) == "null" {
		return errReply(http.StatusBadRequest, "widget_url is required")
	}
	if err := json.Unmarshal(req.WidgetURL, &w); err != nil {
		return errReply(http.StatusBadRequest, "malformed widget_url: %v", err)
	}
	if w.WidgetType == "" {
		return errReply(http.StatusBadRequest, "widget_type is required")
	}
	mode := w.Mode
	if dr := w.DataRequest; dr != nil && c.current() {
		if rep, okay := dr.check(); !okay {
			return rep
		}
		mode = modeAggregation
		if dr.has(productAccountVerification) {
			mode = modeVerification
		}
	}
	if mode != modeVerification {
		mode = modeAggregation // MX's default
	}
	s.pruneWidgets(c.now)
	token := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	// sessionGUID is the session_guid of the page's events (MX's
	// widget-post-message-definitions require one); its SES- form is the
	// simulator's own.
	s.widgets[token] = widgetSession{token: token, sessionGUID: newGUID("SES"), userGUID: u.guid, widgetType: w.WidgetType,
		mode: mode, currentMemberGUID: w.CurrentMemberGUID, currentInstitutionCode: w.CurrentInstitutionCode,
		colorScheme: w.ColorScheme, created: c.now, request: req.WidgetURL}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return ok(http.StatusOK, map[string]any{"widget_url": widgetURLJSON{
		Type: w.WidgetType, URL: scheme + "://" + c.r.Host + "/_sim/connect/" + token, UserID: nullable(u.id)}})
}
