package mxsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// user is an MX user with its members.
type user struct {
	guid, id, email, metadata string
	isDisabled                bool
	members                   map[string]*member
	order                     []string // guids of the listed (non-static) members, oldest first
}

// member is a connection of a user to an institution.
type member struct {
	guid, id, metadata string
	user               *user
	inst               *institution
	static             bool              // one of MX's test members: every job connects
	creds              map[string]string // credential guid -> value
	useCases           []string
	bgAggDisabled      bool
	// callback is the X-CALLBACK-PAYLOAD of the request that started the
	// member's current (or last) job, "" when it had none: the MEMBER and
	// member_data_updated webhooks of that job carry it.
	callback    string
	lastJobGUID string // most_recent_job_guid (v20250224)

	// OAuth (oauth.go): isOAuth members have no credentials; oauth is the
	// current window (nil when none is live), oauthKind the job the
	// end user's approval starts ("" for none), oauthAuthorized whether
	// the end user approved.
	isOAuth         bool
	oauth           *oauthWindow
	oauthKind       string
	oauthAuthorized bool

	status        string
	needsNewCreds bool
	credsUpdated  bool // credentials changed since the last job started
	jobsStarted   int
	job           *job // nil when idle
	challenges    []challengeJSON
	challengedAt  time.Time
	aggregatedAt  time.Time
	succeededAt   time.Time
	authenticated bool

	// has_processed_* of the last run
	processed, processedNumbers, processedTx bool

	hasResults bool // a job has ended CONNECTED: results are readable
	results    *results
	resultsKey string

	createdAt time.Time
	deleted   bool // removed from its user: its timer must not act

	// the timer of the next deadline (only WithWebhook): timerGen tells a
	// stale timer from the armed one
	timer      *time.Timer
	timerGen   uint64
	timerAt    time.Time // the deadline it is armed for
	timerSetAt time.Time // the clock when it was armed
}

// job is the job a member is running: one run at a time, and between runs
// it waits for MFA answers (running false, member CHALLENGED).
type job struct {
	guid     string // JOB-…
	kind     string // aggregate, verify, identify
	running  bool
	started  time.Time // start of the current run
	first    bool      // the member's first job
	username string    // credentials when the job started
	password string
	resume   bool              // the current run is a resume run
	stage    stage             // the MFA round asked (and, in a resume run, answered)
	asked    []challengeJSON   // the challenges being answered
	answers  map[string]string // the answers, by challenge guid
	runTime  time.Duration     // the current run's drawn length; 0: the fixed time (timing.go)
}

// Job kinds.
const (
	kindAggregate = "aggregate"
	kindVerify    = "verify"
	kindIdentify  = "identify"
)

var errOtherJob = errors.New("a different job is already running on this member")

// newGUID is prefix + a random uuid-shaped id.
func newGUID(prefix string) string {
	a, b := rand.Uint64(), rand.Uint64()
	return fmt.Sprintf("%s-%08x-%04x-%04x-%04x-%012x", prefix, uint32(a>>32), uint16(a>>16), uint16(a), uint16(b>>48), b&0xffffffffffff)
}

// staticMembers are MX's documented test member guids.
var staticMembers = []string{"test_nexus_member", "unverified", "unidentified"}

// addStaticMembers gives u its own copies of MX's test members, connected
// and with results.
func (s *Server) addStaticMembers(u *user, now time.Time) {
	inst := s.instByCode["mxbank"]
	for _, guid := range staticMembers {
		m := &member{guid: guid, user: u, inst: inst, static: true, creds: map[string]string{},
			createdAt: now, status: statusConnected, aggregatedAt: now, succeededAt: now, authenticated: true,
			hasResults: true, processed: true}
		m.setResults(guid)
		m.processedNumbers = len(m.results.numbers) > 0
		u.members[guid] = m
	}
}

// credential returns the value of the member's credential with the field
// name (fieldLogin, fieldPassword).
func (m *member) credential(fieldName string) string {
	for _, c := range m.inst.credentials {
		if c.fieldName == fieldName {
			return m.creds[c.guid]
		}
	}
	return ""
}

// startJob starts a job of the given kind at now, for a request that
// carried the X-CALLBACK-PAYLOAD callback ("" for none), and says whether
// it started one. Asking for the kind that is already running (or waiting
// for MFA) does nothing; another kind is errOtherJob.
func (m *member) startJob(kind string, now time.Time, callback string) (bool, error) {
	if m.job != nil {
		if m.job.kind == kind {
			return false, nil
		}
		return false, errOtherJob
	}
	m.job = &job{guid: newGUID("JOB"), kind: kind, running: true, started: now, first: m.jobsStarted == 0,
		username: m.credential(fieldLogin), password: m.credential(fieldPassword)}
	m.lastJobGUID = m.job.guid
	m.callback = callback
	m.jobsStarted++
	m.beginRun(now)
	switch {
	case m.credsUpdated:
		m.status = statusUpdated
	case m.status == "":
		m.status = statusCreated
	}
	m.credsUpdated = false
	return true, nil
}

// beginRun marks the start of a run of the member's job.
func (m *member) beginRun(now time.Time) {
	m.job.running = true
	m.job.started = now
	m.aggregatedAt = now
	m.authenticated = false
	m.processed, m.processedNumbers, m.processedTx = false, false, false
	m.challenges = nil
	m.drawRunTime()
}

// resume starts a resume run with answers to the outstanding challenges.
func (m *member) resume(answers map[string]string, now time.Time) {
	j := m.job
	j.resume = true
	j.asked = m.challenges
	j.answers = answers
	m.beginRun(now)
	m.status = statusResumed
}

// advance applies everything that has happened by now: runs that ended,
// challenges that expired. After each, applied (when not nil) is called
// with the job's kind and the time it happened, the member in the state it
// left.
func (m *member) advance(now time.Time, aggTime, mfaWindow time.Duration, applied func(kind string, t time.Time)) {
	if at, expired := m.expireOAuth(now); expired && applied != nil {
		applied("", at)
	}
	for m.job != nil {
		j := m.job
		if !j.running {
			if end := m.challengedAt.Add(mfaWindow); m.status == statusChallenged && !now.Before(end) {
				m.status = statusExpired
				m.challenges = nil
				m.job = nil
				if applied != nil {
					applied(j.kind, end)
				}
			}
			return
		}
		end := j.started.Add(j.length(aggTime))
		if now.Before(end) {
			return
		}
		m.finishRun(end)
		if applied != nil {
			applied(j.kind, end)
		}
	}
}

// finishRun applies the outcome of the running job's current run at t.
func (m *member) finishRun(t time.Time) {
	j := m.job
	var o outcome
	switch {
	case m.static, m.isOAuth: // an OAuth member's end user has authorized
		o = ended(statusConnected)
	case j.resume:
		o = resumeOutcome(j.stage, j.asked, j.answers)
	default:
		o = firstOutcome(j.username, j.password, j.first)
	}
	j.running, j.resume, j.asked, j.answers = false, false, nil, nil
	m.status = o.status
	if o.status == statusChallenged {
		j.stage = o.stage
		m.challenges = newChallenges(o.stage)
		m.challengedAt = t
		return
	}
	m.job = nil
	m.challenges = nil
	switch o.status {
	case statusConnected:
		m.authenticated = true
		m.succeededAt = t
		m.hasResults = true
		if !m.static {
			key := "standard"
			if j.password == "many" {
				key = "many"
			}
			m.setResults(key)
		}
		m.processed = true
		m.processedNumbers = len(m.results.numbers) > 0
		m.processedTx = j.kind == kindAggregate
	case statusDenied:
		m.needsNewCreds = true
	}
}

// isBeingAggregated is the member's is_being_aggregated in MX's answers
// (member, status, MEMBER webhook): whether it has a job, running or
// paused CHALLENGED waiting for answers. MX's MFA guide shows a CHALLENGED
// member with is_being_aggregated true.
func (m *member) isBeingAggregated() bool { return m.job != nil }

// running is whether a run of the member's job is in progress (not paused
// for MFA): the is_being_aggregated of the Connect widget's own JSON.
func (m *member) running() bool { return m.job != nil && m.job.running }

// results are a member's accounts, account numbers and owners.
type results struct {
	accounts []string // account guids
	numbers  []accountNumberJSON
	owners   []accountOwnerJSON
}

// setResults (re)builds the member's results for a data set, unless it
// already holds that set (account guids stay stable across jobs).
func (m *member) setResults(key string) {
	if m.results != nil && m.resultsKey == key {
		return
	}
	var nAccounts, nNumbers, nOwners int
	switch key {
	case "many":
		nAccounts, nNumbers, nOwners = 60, 60, 30
	case "unverified":
		nAccounts, nOwners = 2, 2
	case "unidentified":
		nAccounts, nNumbers = 2, 2
	default: // standard, test_nexus_member
		nAccounts, nNumbers, nOwners = 2, 2, 2
	}
	r := &results{numbers: []accountNumberJSON{}, owners: []accountOwnerJSON{}}
	for range nAccounts {
		r.accounts = append(r.accounts, newGUID("ACT"))
	}
	for i := range nNumbers {
		r.numbers = append(r.numbers, accountNumberJSON{
			AccountGUID:      r.accounts[i%nAccounts],
			AccountNumber:    fmt.Sprintf("%010d", 1_000_000_000+rand.IntN(1_000_000_000)),
			GUID:             newGUID("ACN"),
			MemberGUID:       m.guid,
			PassedValidation: true,
			RoutingNumber:    "091000019",
			UserGUID:         m.user.guid,
		})
	}
	for i := range nOwners {
		first, last := ownerNames[i%len(ownerNames)][0], ownerNames[i%len(ownerNames)][1]
		r.owners = append(r.owners, accountOwnerJSON{
			AccountGUID: r.accounts[i%nAccounts],
			Address:     fmt.Sprintf("%d Main Street", 100+i),
			City:        "Middlesex",
			Country:     "US",
			Email:       fmt.Sprintf("%s.%s@example.com", strings.ToLower(first), strings.ToLower(last)),
			FirstName:   first,
			GUID:        newGUID("ACO"),
			LastName:    last,
			MemberGUID:  m.guid,
			OwnerName:   first + " " + last,
			Phone:       fmt.Sprintf("555-555-%04d", 1000+i),
			PostalCode:  "00000-0000",
			State:       "VA",
			UserGUID:    m.user.guid,
		})
	}
	m.results, m.resultsKey = r, key
}

var ownerNames = [][2]string{{"Donnie", "Darko"}, {"Gretchen", "Ross"}, {"Frank", "Anderson"}, {"Karen", "Pomeroy"}}

// readable is what account owners and numbers show: the results once a job
// has ended CONNECTED, else nothing.
func (m *member) readable() *results {
	if !m.hasResults || m.results == nil {
		return &results{numbers: []accountNumberJSON{}, owners: []accountOwnerJSON{}}
	}
	return m.results
}
