package mxsim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Micro-deposits, as MX documents them:
//
//   - Both specs (tag microdeposits, the same five operations in v20250224
//     and v20111101): POST /users/{user_guid}/micro_deposits creates
//     ("status of INITIATED") or, given only email, first_name and
//     last_name, pre-initiates ("PREINITIATED"); GET …/micro_deposits
//     lists; GET and DELETE …/micro_deposits/{micro_deposit_guid} read
//     (200) and delete (204); PUT /micro_deposits/{micro_deposit_guid}/verify
//     takes {"micro_deposit":{"deposit_amount_1","deposit_amount_2"}}.
//     The read's description: "The actual status of the microdeposit guid
//     updates every minute. You may force a status update by calling the
//     read microdeposit endpoint." Status is a string in both specs (no
//     enum); account_type is an enum in v20250224 only.
//   - docs.mx.com/api-reference/platform-api/reference/microdeposits (the
//     fields table): account_type "Possible values are CHECKING and
//     SAVINGS"; institution_code and institution_name "May be null for
//     institutions which are not in the MX system".
//   - docs.mx.com/products/connectivity/microdeposits: "Users can attempt
//     to verify the amounts associated with a given microdeposit guid three
//     times. After the third incorrect attempt, the microdeposit moves to a
//     PREVENTED status and the process can no longer continue"; the sample
//     response (created_at, error_code beside the spec's fields).
//   - docs.mx.com/products/connectivity/microdeposits/api-only: poll "until
//     its status is either DEPOSITED or ERRORED"; DEPOSITED means "prompt
//     the end user to verify the deposit amounts".
//   - docs.mx.com/nexus/microdeposits: "Microdeposits that remain in the
//     status INITIATED, REQUESTED, or DEPOSITED for 21 or more days, are
//     soft-deleted from the MX Platform".
//   - docs.mx.com/nexus/microdeposits/api-testing (MX's integration
//     environment): routing numbers "Must follow standard American Banking
//     Association rules for routing numbers, e.g., 091000019 but not
//     222222226 or 021000021"; "Any integer that begins with 3333 (e.g.
//     333312345) will be interpreted as a valid account number. Valid
//     account numbers produce an INITIATED status …, followed by a
//     REQUESTED status; REQUESTED will change to DEPOSITED after two
//     minutes"; account_number "between 1 and 17 characters", first_name,
//     last_name and account_name between 1 and 50, names without special
//     characters ("Dave but not D#ve"), email in standard format.
//   - docs.mx.com/api-reference/nexus/reference/microdeposits-overview: the
//     integer statuses 0 INITIATED, 1 REQUESTED, 2 DEPOSITED, 3 VERIFIED
//     and the integer account types 1 CHECKING, 2 SAVINGS.
//   - docs.mx.com/resources/webhooks/microdeposits: "notified when a
//     microdeposit is created or updated", payload {"action":"created",
//     "version":1,"micro_deposit":{account_number, account_type (integer),
//     created_at, guid, institution_guid, routing_number, status (integer),
//     status_name, updated_at, user_guid, user_id}} (verified_at in the
//     field list).
//
//   - MX's Connect widget (mxenabled/connect-widget,
//     src/views/microdeposits): the ten statuses and their integers
//     (const.js: 0 INITIATED, 1 REQUESTED, 2 DEPOSITED, 3 VERIFIED,
//     4 ERRORED, 5 DENIED "User entered incorrect amounts", 6 PREVENTED
//     "Too many invalid verification attempts", 7 CONFLICTED, 8 REJECTED,
//     9 PREINITIATED); a DENIED micro-deposit takes amounts again
//     (Microdeposits.js sends DEPOSITED and DENIED to the amounts form;
//     VerifyDeposits.js: "One or more of the amounts was incorrect. Please
//     try again."); after the amounts the widget reads the micro-deposit
//     until its status changes (Verifying.js).
//   - verifyMicrodeposit's description (both specs): "The verification has
//     not successfully completed until the status is VERIFIED. Poll the
//     read microdeposit endpoint until you see this status or an error
//     state." So the verdict on a pair is on a later read by default.
//
// The simulator's own choices (MX documents none of them):
//
//   - Timing: INITIATED for MicrodepositTiming.Refresh (default a minute,
//     MX's refresh interval), then REQUESTED for .Deposit (default two
//     minutes, the integration environment's), then DEPOSITED; statuses
//     move when read (MX: a read forces an update) and, with WithWebhook,
//     by timers.
//   - An account number not beginning with 3333 turns ERRORED where a
//     valid one would turn DEPOSITED, error_message saying the deposits
//     could not be made. The simulator never answers CONFLICTED or
//     REJECTED.
//   - The two amounts: random distinct cents from 0.01 to 0.99, readable
//     at GET /_sim/micro_deposits/{guid} and with Server.MicrodepositAmounts.
//   - Verify (at DEPOSITED or DENIED; any other status is a 409) compares
//     in cents, in either order: right amounts make it VERIFIED
//     (verified_at set), wrong ones DENIED, the third wrong pair
//     PREVENTED (MX's count), error_message naming the attempts left. The
//     verify's answer shows the micro-deposit as it was, and the verdict
//     is on the next request that reads it (read, list, verify; with
//     WithWebhook, its webhook goes out at once): the spec's "poll until".
//     Account numbers beginning 33339 have the verdict in the verify's
//     answer at once instead (as MX's Nexus verify reference shows it).
//     updated_at moves when the verdict is on.
//   - Expiry (MX's soft delete after 21 days) is MicrodepositTiming.Expiry:
//     read, verify and delete then answer 404, and the list omits it. No
//     webhook is sent for it.
//   - Webhooks: action "created" on create and "updated" at each status
//     change, the statuses as the widget's integers; institution_guid is
//     null.
//   - routing_number 091000019 (the spec's example, next to its MX Bank
//     example) is MX Bank (institution_code mxbank); any other routing
//     number has no institution, and the two fields are left out (the spec
//     types them as non-nullable strings).

// MicrodepositTiming is how long a micro-deposit takes at each step.
// A zero field keeps DefaultMicrodepositTiming's.
type MicrodepositTiming struct {
	Refresh time.Duration // INITIATED → REQUESTED
	Deposit time.Duration // REQUESTED → DEPOSITED (or ERRORED)
	Expiry  time.Duration // from creation to MX's soft delete, unless VERIFIED or failed
}

// DefaultMicrodepositTiming: MX refreshes statuses every minute, the
// integration environment deposits two minutes after REQUESTED, and MX
// soft-deletes micro-deposits left waiting 21 days.
var DefaultMicrodepositTiming = MicrodepositTiming{Refresh: time.Minute, Deposit: 2 * time.Minute, Expiry: 21 * 24 * time.Hour}

// WithMicrodepositTiming sets how long micro-deposits take (tests use
// milliseconds).
func WithMicrodepositTiming(t MicrodepositTiming) Option {
	return func(s *Server) { s.micro.timing = t }
}

// MicrodepositAttempts is how many verifications with wrong amounts MX
// allows: the third wrong one ends PREVENTED.
const MicrodepositAttempts = 3

// Micro-deposit statuses (MX's names).
const (
	mdPreinitiated = "PREINITIATED"
	mdInitiated    = "INITIATED"
	mdRequested    = "REQUESTED"
	mdDeposited    = "DEPOSITED"
	mdVerified     = "VERIFIED"
	mdErrored      = "ERRORED"
	mdDenied       = "DENIED"
	mdPrevented    = "PREVENTED"
)

// mdStatusIDs are the webhook's integer statuses: MX's Nexus table
// (0–3) and MX's Connect widget (const.js, all ten).
var mdStatusIDs = map[string]int{mdInitiated: 0, mdRequested: 1, mdDeposited: 2, mdVerified: 3,
	mdErrored: 4, mdDenied: 5, mdPrevented: 6, "CONFLICTED": 7, "REJECTED": 8, mdPreinitiated: 9}

// mdAccountTypeIDs are the webhook's integer account types (MX's Nexus table).
var mdAccountTypeIDs = map[string]int{"CHECKING": 1, "SAVINGS": 2}

// microdepositStore holds every micro-deposit; guarded by Server.mu.
type microdepositStore struct {
	timing MicrodepositTiming
	byGUID map[string]*microdeposit
	order  []string // guids, oldest first
}

// mdVerdict is a verify's outcome not shown yet.
type mdVerdict struct {
	status, errorMessage string
}

type microdeposit struct {
	guid string
	user *user
	accountName, accountNumber, accountType,
	email, firstName, lastName, routingNumber string
	amounts      [2]int // cents
	status       string
	attempts     int // wrong verifications
	errorMessage string
	verdict      *mdVerdict // on the next request that reads it
	createdAt    time.Time
	updatedAt    time.Time
	verifiedAt   time.Time
	gone         bool // deleted or expired

	timer    *time.Timer // only WithWebhook
	timerGen uint64
}

func (s *Server) mdTiming() MicrodepositTiming {
	t, d := s.micro.timing, DefaultMicrodepositTiming
	if t.Refresh <= 0 {
		t.Refresh = d.Refresh
	}
	if t.Deposit <= 0 {
		t.Deposit = d.Deposit
	}
	if t.Expiry <= 0 {
		t.Expiry = d.Expiry
	}
	return t
}

func (s *Server) microdepositRoutes() {
	s.mdRoute("POST /users/{user_guid}/micro_deposits", "createMicrodeposit", s.createMicrodeposit)
	s.mdRoute("GET /users/{user_guid}/micro_deposits", "listUserMicrodeposits", s.listUserMicrodeposits)
	s.mdRoute("GET /users/{user_guid}/micro_deposits/{micro_deposit_guid}", "readUserMicrodeposit", s.readUserMicrodeposit)
	s.mdRoute("DELETE /users/{user_guid}/micro_deposits/{micro_deposit_guid}", "deleteMicrodeposit", s.deleteMicrodeposit)
	s.mdRoute("PUT /micro_deposits/{micro_deposit_guid}/verify", "verifyMicrodeposit", s.verifyMicrodeposit)
}

// mdRoute is route for the micro-deposit operations, answered
// application/json in both versions: v20111101's spec declares
// application/json for these answers (its other operations declare
// application/vnd.mx.api.v1+json).
func (s *Server) mdRoute(pattern, op string, h handlerFunc) {
	s.api.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		out := func() encoded {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.count(op, "")
			if err != nil {
				return errReply(http.StatusBadRequest, "request body could not be read").encode()
			}
			return h(&call{r: r, op: op, version: requestVersion(r), body: body, now: s.now()}).encode()
		}()
		out.writeAs(w, mediaTypeJSON)
	})
}

func (s *Server) microdepositSimRoutes() {
	s.sim.HandleFunc("GET /_sim/micro_deposits/{guid}", func(w http.ResponseWriter, r *http.Request) {
		a1, a2, okay := s.MicrodepositAmounts(r.PathValue("guid"))
		if !okay {
			writeSimJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"message": "micro-deposit not found"}})
			return
		}
		writeSimJSON(w, http.StatusOK, map[string]any{"guid": r.PathValue("guid"), "deposit_amount_1": a1, "deposit_amount_2": a2})
	})
}

// MicrodepositAmounts are the two amounts (dollars) the simulator deposited
// for a micro-deposit, as the end user would read them on a statement: the
// simulator's own window for tests. ok is false for an unknown guid.
func (s *Server) MicrodepositAmounts(guid string) (amount1, amount2 float64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := s.micro.byGUID[guid]
	if md == nil {
		return 0, 0, false
	}
	return float64(md.amounts[0]) / 100, float64(md.amounts[1]) / 100, true
}

// ---- state

// settle applies what the clock says has happened: the timed steps, then
// MX's soft delete. It queues a webhook for each status change.
func (s *Server) settleMicrodeposit(md *microdeposit, now time.Time) {
	if md.gone {
		return
	}
	t := s.mdTiming()
	step := func(status string, at time.Time) {
		md.status, md.updatedAt = status, at
		s.microdepositHook(md, "updated")
	}
	if v := md.verdict; v != nil {
		md.verdict, md.errorMessage = nil, v.errorMessage
		if v.status == mdVerified {
			md.verifiedAt = now
		}
		step(v.status, now)
	}
	if md.status == mdInitiated && !now.Before(md.createdAt.Add(t.Refresh)) {
		step(mdRequested, md.createdAt.Add(t.Refresh))
	}
	if at := md.createdAt.Add(t.Refresh + t.Deposit); md.status == mdRequested && !now.Before(at) {
		if strings.HasPrefix(md.accountNumber, "3333") {
			step(mdDeposited, at)
		} else {
			md.errorMessage = "The deposits could not be made to this account."
			step(mdErrored, at)
		}
	}
	switch md.status {
	case mdInitiated, mdRequested, mdDeposited:
		if !now.Before(md.createdAt.Add(t.Expiry)) {
			s.dropMicrodeposit(md)
		}
	}
}

// nextMicrodepositChange is when md next changes by itself.
func (s *Server) nextMicrodepositChange(md *microdeposit) (time.Time, bool) {
	t := s.mdTiming()
	switch {
	case md.verdict != nil:
		return time.Time{}, true // at once
	}
	switch md.status {
	case mdInitiated:
		return md.createdAt.Add(t.Refresh), true
	case mdRequested:
		return md.createdAt.Add(t.Refresh + t.Deposit), true
	case mdDeposited:
		return md.createdAt.Add(t.Expiry), true
	}
	return time.Time{}, false
}

// scheduleMicrodeposit arms md's timer (only WithWebhook, until Close), so
// that its webhooks go out without anyone reading it. The caller holds s.mu.
func (s *Server) scheduleMicrodeposit(md *microdeposit, now time.Time) {
	if s.hooks == nil || s.closed || md.gone {
		return
	}
	if md.timer != nil {
		md.timer.Stop()
	}
	md.timerGen++
	at, due := s.nextMicrodepositChange(md)
	if !due {
		md.timer = nil
		return
	}
	gen := md.timerGen
	md.timer = time.AfterFunc(max(at.Sub(now), 0), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || md.gone || md.timerGen != gen {
			return
		}
		now := s.now()
		before := md.status
		s.settleMicrodeposit(md, now)
		if md.status != before || md.gone {
			s.scheduleMicrodeposit(md, now)
		} // else the clock (WithClock) did not move: leave it to reads
	})
}

// dropMicrodeposit removes md (deleted, or soft-deleted by MX).
func (s *Server) dropMicrodeposit(md *microdeposit) {
	md.gone = true
	md.timerGen++
	if md.timer != nil {
		md.timer.Stop()
		md.timer = nil
	}
	delete(s.micro.byGUID, md.guid)
	for i, g := range s.micro.order {
		if g == md.guid {
			s.micro.order = append(s.micro.order[:i:i], s.micro.order[i+1:]...)
			break
		}
	}
}

// ---- JSON (the spec's MicrodepositResponse with MicrodepositElements, and
// created_at and error_code from MX's sample response)

type microdepositJSON struct {
	AccountName     string  `json:"account_name,omitempty"`
	AccountNumber   string  `json:"account_number"`
	AccountType     *string `json:"account_type,omitempty"` // none when pre-initiated (v20111101's is not nullable)
	CreatedAt       string  `json:"created_at"`
	Email           string  `json:"email,omitempty"`
	ErrorCode       *string `json:"error_code"`
	ErrorMessage    *string `json:"error_message"`
	FirstName       string  `json:"first_name,omitempty"`
	GUID            string  `json:"guid"`
	InstitutionCode string  `json:"institution_code,omitempty"`
	InstitutionName string  `json:"institution_name,omitempty"`
	LastName        string  `json:"last_name,omitempty"`
	RoutingNumber   string  `json:"routing_number,omitempty"`
	Status          string  `json:"status"`
	UpdatedAt       string  `json:"updated_at"`
	VerifiedAt      *string `json:"verified_at"`
}

// mdTime is MX's micro-deposit timestamp (the sample's "2023-06-01T21:12:49Z").
func mdTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (md *microdeposit) json() microdepositJSON {
	j := microdepositJSON{AccountName: md.accountName, AccountNumber: md.accountNumber, AccountType: nullable(md.accountType),
		CreatedAt: mdTime(md.createdAt), Email: md.email, ErrorMessage: nullable(md.errorMessage), FirstName: md.firstName,
		GUID: md.guid, LastName: md.lastName, RoutingNumber: md.routingNumber, Status: md.status, UpdatedAt: mdTime(md.updatedAt)}
	if md.routingNumber == "091000019" {
		j.InstitutionCode, j.InstitutionName = "mxbank", "MX Bank"
	}
	if !md.verifiedAt.IsZero() {
		v := mdTime(md.verifiedAt)
		j.VerifiedAt = &v
	}
	return j
}

func microdepositReply(md *microdeposit) reply {
	return ok(http.StatusOK, map[string]any{"micro_deposit": md.json()})
}

// ---- webhooks

type microdepositHookJSON struct {
	Action       string `json:"action"`
	Version      int    `json:"version"`
	MicroDeposit struct {
		AccountNumber   string  `json:"account_number"`
		AccountType     int     `json:"account_type"`
		CreatedAt       string  `json:"created_at"`
		GUID            string  `json:"guid"`
		InstitutionGUID *string `json:"institution_guid"`
		RoutingNumber   string  `json:"routing_number"`
		Status          int     `json:"status"`
		StatusName      string  `json:"status_name"`
		UpdatedAt       string  `json:"updated_at"`
		UserGUID        string  `json:"user_guid"`
		UserID          *string `json:"user_id"`
		VerifiedAt      *string `json:"verified_at"`
	} `json:"micro_deposit"`
}

// hookTime is the webhook's timestamp ("2021-10-22T21:44:38.000+00:00").
func hookTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+00:00") }

// microdepositHook queues MX's microdeposit webhook. The caller holds s.mu.
func (s *Server) microdepositHook(md *microdeposit, action string) {
	if s.hooks == nil || s.closed {
		return
	}
	var h microdepositHookJSON
	h.Action, h.Version = action, 1
	m := &h.MicroDeposit
	m.AccountNumber, m.AccountType, m.CreatedAt, m.GUID = md.accountNumber, mdAccountTypeIDs[md.accountType], hookTime(md.createdAt), md.guid
	m.RoutingNumber, m.Status, m.StatusName, m.UpdatedAt = md.routingNumber, mdStatusIDs[md.status], md.status, hookTime(md.updatedAt)
	m.UserGUID, m.UserID = md.user.guid, nullable(md.user.id)
	if !md.verifiedAt.IsZero() {
		v := hookTime(md.verifiedAt)
		m.VerifiedAt = &v
	}
	b, err := json.Marshal(h)
	if err != nil {
		return // cannot happen: a plain struct
	}
	s.hooks.enqueue(delivery{body: b})
}

// ---- handlers

// mdUser is the user of a micro-deposit path: {user_guid} is a guid in
// both specs.
func (s *Server) mdUser(c *call) (*user, reply, bool) {
	u := s.users[c.path("user_guid")]
	if u == nil {
		return nil, errReply(http.StatusNotFound, "user not found"), false
	}
	return u, reply{}, true
}

// lookupMicrodeposit is the live micro-deposit of the path (of u unless
// nil), settled by now.
func (s *Server) lookupMicrodeposit(c *call, u *user) (*microdeposit, reply, bool) {
	md := s.micro.byGUID[c.path("micro_deposit_guid")]
	if md != nil {
		s.settleMicrodeposit(md, c.now)
	}
	if md == nil || md.gone || (u != nil && md.user != u) {
		return nil, errReply(http.StatusNotFound, "micro_deposit not found"), false
	}
	return md, reply{}, true
}

var (
	mdNameRE  = regexp.MustCompile(`^[\p{L}\p{M}0-9 .'\-]{1,50}$`) // the simulator's reading of "no special characters"
	mdEmailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	mdDigits  = regexp.MustCompile(`^[0-9]+$`)
)

// mdRejectedRouting are the routing numbers MX's testing page names as
// refused although their checksum is right.
var mdRejectedRouting = map[string]bool{"222222226": true, "021000021": true}

// abaValid is the ABA checksum of a nine-digit routing number.
func abaValid(r string) bool {
	if len(r) != 9 || !mdDigits.MatchString(r) {
		return false
	}
	d := func(i int) int { return int(r[i] - '0') }
	return (3*(d(0)+d(3)+d(6))+7*(d(1)+d(4)+d(7))+d(2)+d(5)+d(8))%10 == 0
}

type microdepositRequest struct {
	AccountName   string `json:"account_name"`
	AccountNumber string `json:"account_number"`
	AccountType   string `json:"account_type"`
	Email         string `json:"email"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	RoutingNumber string `json:"routing_number"`
}

// check is the 400 of a request MX's validation refuses, and whether it
// pre-initiates. Messages never repeat the numbers.
func (r *microdepositRequest) check() (preinitiate bool, rep reply, okay bool) {
	preinitiate = r.AccountNumber == "" && r.RoutingNumber == "" && r.AccountType == "" && r.AccountName == ""
	bad := func(format string, args ...any) (bool, reply, bool) {
		return false, errReply(http.StatusBadRequest, format, args...), false
	}
	for _, f := range []struct{ name, v string }{{"first_name", r.FirstName}, {"last_name", r.LastName}} {
		if (f.v != "" || preinitiate) && !mdNameRE.MatchString(f.v) {
			return bad("%s must be 1 to 50 characters without special characters", f.name)
		}
	}
	if (r.Email != "" || preinitiate) && !mdEmailRE.MatchString(r.Email) {
		return bad("email must be a valid email address")
	}
	if preinitiate {
		return true, reply{}, true
	}
	switch {
	case r.AccountNumber == "" || r.RoutingNumber == "" || r.AccountType == "":
		return bad("account_number, account_type and routing_number are required")
	case len(r.AccountNumber) > 17 || !mdDigits.MatchString(r.AccountNumber):
		return bad("account_number must be 1 to 17 digits")
	case !abaValid(r.RoutingNumber) || mdRejectedRouting[r.RoutingNumber]:
		return bad("routing_number is not a valid ABA routing number")
	case mdAccountTypeIDs[r.AccountType] == 0:
		return bad("account_type must be CHECKING or SAVINGS")
	case r.AccountName != "" && len([]rune(r.AccountName)) > 50:
		return bad("account_name must be 1 to 50 characters")
	}
	return false, reply{}, true
}

func (s *Server) createMicrodeposit(c *call) reply {
	u, rep, okay := s.mdUser(c)
	if !okay {
		return rep
	}
	var req struct {
		MicroDeposit *microdepositRequest `json:"micro_deposit"`
	}
	if rep, okay := c.decode(&req); !okay {
		return rep
	}
	if req.MicroDeposit == nil {
		return errReply(http.StatusBadRequest, "micro_deposit is required")
	}
	r := req.MicroDeposit
	pre, rep, okay := r.check()
	if !okay {
		return rep
	}
	a := 1 + rand.IntN(99)
	b := 1 + rand.IntN(98)
	if b >= a {
		b++ // distinct
	}
	md := &microdeposit{guid: newGUID("MIC"), user: u, accountName: r.AccountName, accountNumber: r.AccountNumber,
		accountType: r.AccountType, email: r.Email, firstName: r.FirstName, lastName: r.LastName, routingNumber: r.RoutingNumber,
		amounts: [2]int{a, b}, status: mdInitiated, createdAt: c.now, updatedAt: c.now}
	if pre {
		md.status = mdPreinitiated
	}
	if s.micro.byGUID == nil {
		s.micro.byGUID = map[string]*microdeposit{}
	}
	s.micro.byGUID[md.guid] = md
	s.micro.order = append(s.micro.order, md.guid)
	s.microdepositHook(md, "created")
	s.scheduleMicrodeposit(md, c.now)
	return microdepositReply(md)
}

func (s *Server) listUserMicrodeposits(c *call) reply {
	u, rep, okay := s.mdUser(c)
	if !okay {
		return rep
	}
	var mine []*microdeposit
	for _, g := range s.micro.order {
		if md := s.micro.byGUID[g]; md.user == u {
			mine = append(mine, md)
		}
	}
	items := []microdepositJSON{}
	for _, md := range mine {
		s.settleMicrodeposit(md, c.now)
		if !md.gone {
			items = append(items, md.json())
		}
	}
	return listReply(c, "micro_deposits", 100, items)
}

func (s *Server) readUserMicrodeposit(c *call) reply {
	u, rep, okay := s.mdUser(c)
	if !okay {
		return rep
	}
	md, rep, okay := s.lookupMicrodeposit(c, u)
	if !okay {
		return rep
	}
	s.scheduleMicrodeposit(md, c.now)
	return microdepositReply(md)
}

func (s *Server) deleteMicrodeposit(c *call) reply {
	u, rep, okay := s.mdUser(c)
	if !okay {
		return rep
	}
	md, rep, okay := s.lookupMicrodeposit(c, u)
	if !okay {
		return rep
	}
	s.dropMicrodeposit(md)
	return ok(http.StatusNoContent, nil)
}

func (s *Server) verifyMicrodeposit(c *call) reply {
	md, rep, okay := s.lookupMicrodeposit(c, nil)
	if !okay {
		return rep
	}
	var req struct {
		MicroDeposit *struct {
			Amount1 *float64 `json:"deposit_amount_1"`
			Amount2 *float64 `json:"deposit_amount_2"`
		} `json:"micro_deposit"`
	}
	if json.Unmarshal(c.body, &req) != nil { // c.decode's message could quote the amounts
		return errReply(http.StatusBadRequest, "request body must be {\"micro_deposit\":{\"deposit_amount_1\",\"deposit_amount_2\"}}")
	}
	if req.MicroDeposit == nil || req.MicroDeposit.Amount1 == nil || req.MicroDeposit.Amount2 == nil {
		return errReply(http.StatusBadRequest, "micro_deposit.deposit_amount_1 and deposit_amount_2 are required")
	}
	if md.status != mdDeposited && md.status != mdDenied {
		return errReply(http.StatusConflict, "the micro_deposit is %s: amounts can be verified only when it is DEPOSITED or DENIED", md.status)
	}
	cents := func(f float64) int { return int(math.Round(f * 100)) }
	x, y := cents(*req.MicroDeposit.Amount1), cents(*req.MicroDeposit.Amount2)
	a, b := md.amounts[0], md.amounts[1]
	v := &mdVerdict{status: mdVerified}
	if x != a || y != b {
		if x != b || y != a {
			md.attempts++
			v.status = mdDenied
			v.errorMessage = fmt.Sprintf("The amounts entered do not match the deposits. Attempts left: %d.", MicrodepositAttempts-md.attempts)
			if md.attempts >= MicrodepositAttempts {
				v.status, v.errorMessage = mdPrevented, "The amounts were entered incorrectly too many times."
			}
		}
	}
	md.verdict = v
	if strings.HasPrefix(md.accountNumber, mdVerdictInAnswer) {
		s.settleMicrodeposit(md, c.now)
	}
	s.scheduleMicrodeposit(md, c.now)
	return microdepositReply(md)
}

// mdVerdictInAnswer starts the account numbers whose verify answers with
// its verdict (the simulator's own switch).
const mdVerdictInAnswer = "33339"
