package mxsim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The credentials the simulator accepts unless WithAuth says otherwise.
const (
	DefaultClientID = "sim-client-id"
	DefaultAPIKey   = "sim-api-key"
)

// The versions of MX's Platform API the simulator speaks, chosen per
// request by the Accept-Version header.
const (
	VersionCurrent  = "v20250224" // Accept-Version: v20250224; answers application/json
	VersionPrevious = "v20111101" // Accept-Version: v20111101; Accept and answers application/vnd.mx.api.v1+json
)

// versionHeader is the request header that chooses the version.
const versionHeader = "Accept-Version"

// mediaTypeV1 is v20111101's media type (Accept and answers); v20250224
// answers mediaTypeJSON.
const (
	mediaTypeV1   = "application/vnd.mx.api.v1+json"
	mediaTypeJSON = "application/json"
)

// maxBody caps request bodies.
const maxBody = 1 << 20

// Server is the simulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	clientID, apiKey string
	aggTime          time.Duration
	timing           *timing // nil: every run lasts aggTime (timing.go)
	mfaWindow        time.Duration
	oauthWindow      time.Duration
	now              func() time.Time
	webhookURL       string
	hooks            *hookSender // nil without WithWebhook

	api *http.ServeMux // MX's routes
	sim *http.ServeMux // /_sim/ routes

	institutions []*institution
	instByCode   map[string]*institution

	mu          sync.Mutex // guards everything below
	faults      Faults
	users       map[string]*user
	userIDs     map[string]*user // partner id → user (ids are unique: userIDTaken)
	userOrder   []string
	widgets     map[string]widgetSession
	oauthTokens map[string]*member // live oauth_window_uri tokens
	calls       map[string]int
	memberCalls map[string]map[string]int
	closed      bool // Close was called: no timers, no webhooks

	micro microdepositStore // micro-deposits (microdeposits.go), under mu
}

// Option configures a Server.
type Option func(*Server)

// WithAuth sets the client id and API key the simulator accepts.
func WithAuth(clientID, apiKey string) Option {
	return func(s *Server) { s.clientID, s.apiKey = clientID, apiKey }
}

// WithAggregationTime sets how long each MX job run (aggregate, verify,
// identify, or a resume) takes; the default is 2s.
func WithAggregationTime(d time.Duration) Option {
	return func(s *Server) { s.aggTime = d }
}

// DefaultMFAWindow is how long a challenge waits for answers before the
// member turns EXPIRED unless WithMFAWindow says otherwise. MX documents
// no such window (EXPIRED is "MFA not answered within the FI's time
// limit"): this is the simulator's own choice, longer than the fleet's
// default MXFLEET_CHALLENGE_TTL (10m) plus the poll that notices a
// challenge (MXFLEET_POLL_MAX, 1m), so that by default a job the fleet
// shows parked is one MX still takes answers for.
const DefaultMFAWindow = 15 * time.Minute

// WithMFAWindow sets how long a challenge may wait for answers before the
// member turns EXPIRED; the default is DefaultMFAWindow (15m).
func WithMFAWindow(d time.Duration) Option {
	return func(s *Server) { s.mfaWindow = d }
}

// WithClock sets the clock jobs and challenges are timed by (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithFaults sets the initial faults.
func WithFaults(f Faults) Option {
	return func(s *Server) { s.faults = f }
}

// New returns a simulator with no users.
func New(opts ...Option) *Server {
	s := &Server{
		clientID: DefaultClientID, apiKey: DefaultAPIKey,
		aggTime: 2 * time.Second, mfaWindow: DefaultMFAWindow, oauthWindow: DefaultOAuthWindow, now: time.Now,
		api: http.NewServeMux(), sim: http.NewServeMux(),
		instByCode: map[string]*institution{},
		users:      map[string]*user{}, userIDs: map[string]*user{}, widgets: map[string]widgetSession{}, oauthTokens: map[string]*member{},
		calls: map[string]int{}, memberCalls: map[string]map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.webhookURL != "" {
		s.hooks = newHookSender(s, s.webhookURL)
	}
	s.institutions = newInstitutions()
	for _, in := range s.institutions {
		s.instByCode[in.code] = in
	}
	s.initTiming()
	s.apiRoutes()
	s.simRoutes()
	return s
}

// ServeHTTP serves MX's API and the simulator's /_sim/ routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.sim.ServeHTTP(w, r)
		return
	}
	if !s.injectFaults(w, r) {
		return
	}
	if id, key, ok := r.BasicAuth(); !ok || !equal(id, s.clientID) || !equal(key, s.apiKey) {
		w.Header().Set("WWW-Authenticate", `Basic realm="MX Platform API"`)
		writeReply(w, r, errReply(http.StatusUnauthorized, "invalid client id or API key"))
		return
	}
	if rep, okay := checkVersion(r); !okay {
		writeReply(w, r, rep)
		return
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		writeReply(w, r, errReply(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path))
		return
	}
	s.api.ServeHTTP(w, r)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// requestVersion is the request's Accept-Version (its first non-empty
// value, trimmed), or "".
func requestVersion(r *http.Request) string {
	for _, v := range r.Header.Values(versionHeader) {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// checkVersion is the 406 of a request without a supported
// Accept-Version, or with an Accept the version cannot answer.
func checkVersion(r *http.Request) (reply, bool) {
	accept := r.Header.Values("Accept")
	switch v := requestVersion(r); v {
	case "":
		return errReply(http.StatusNotAcceptable, "Accept-Version header is required (e.g. %s)", VersionCurrent), false
	case VersionCurrent:
		if strings.TrimSpace(strings.Join(accept, "")) != "" && !accepts(accept, "*/*", "application/*", mediaTypeJSON, mediaTypeV1) {
			return errReply(http.StatusNotAcceptable, "%s answers %s: send Accept: %s", VersionCurrent, mediaTypeJSON, mediaTypeJSON), false
		}
	case VersionPrevious:
		if !accepts(accept, mediaTypeV1) {
			return errReply(http.StatusNotAcceptable, "%s requires Accept: %s", VersionPrevious, mediaTypeV1), false
		}
	default:
		return errReply(http.StatusNotAcceptable, "unsupported API version %q: supported versions are %s and %s",
			v, VersionCurrent, VersionPrevious), false
	}
	return reply{}, true
}

// accepts is whether Accept header values name one of the media types.
func accepts(values []string, types ...string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && slices.Contains(types, mt) {
				return true
			}
		}
	}
	return false
}

// contentType is the media type of the answers to r: v20111101's for a
// v20111101 request, else application/json (also for the errors of a
// request whose version is missing or unknown).
func contentType(r *http.Request) string {
	if requestVersion(r) == VersionPrevious {
		return mediaTypeV1
	}
	return mediaTypeJSON
}

// reply is an API answer: a status and a JSON body (none when nil).
type reply struct {
	status int
	body   any
}

func ok(status int, body any) reply { return reply{status, body} }

func errReply(status int, format string, args ...any) reply {
	var e errorJSON
	e.Error.Message = fmt.Sprintf(format, args...)
	return reply{status, e}
}

// encoded is a reply ready to write.
type encoded struct {
	status int
	body   []byte
}

func (rep reply) encode() encoded {
	if rep.body == nil {
		return encoded{status: rep.status}
	}
	b, err := json.Marshal(rep.body)
	if err != nil {
		return errReply(http.StatusInternalServerError, "encode: %v", err).encode()
	}
	return encoded{rep.status, b}
}

// writeAs writes the reply with the given Content-Type.
func (e encoded) writeAs(w http.ResponseWriter, contentType string) {
	if e.body == nil {
		w.WriteHeader(e.status)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// writeReply writes an answer to an API request r.
func writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	rep.encode().writeAs(w, contentType(r))
}

// call is one API request as a handler sees it, under the server's lock.
type call struct {
	r       *http.Request
	op      string // operationId
	version string // VersionCurrent or VersionPrevious ("" for the widget's endpoints)
	body    []byte
	now     time.Time
}

// current is whether the call is in v20250224.
func (c *call) current() bool { return c.version == VersionCurrent }

func (c *call) path(name string) string { return c.r.PathValue(name) }
func (c *call) query() url.Values       { return c.r.URL.Query() }

// decode reads the JSON body into v; a missing or malformed body is a 400.
func (c *call) decode(v any) (reply, bool) {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return errReply(http.StatusBadRequest, "request body is required"), false
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return errReply(http.StatusBadRequest, "malformed JSON body: %v", err), false
	}
	return reply{}, true
}

type handlerFunc func(c *call) reply

// route registers an MX operation. The handler runs under the lock, after
// the call is counted; the answer is written after the lock is released.
func (s *Server) route(pattern, op string, h handlerFunc) {
	s.api.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		out := func() encoded {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.count(op, r.PathValue("member_guid"))
			if err != nil {
				return errReply(http.StatusBadRequest, "request body could not be read: %v", err).encode()
			}
			return h(&call{r: r, op: op, version: requestVersion(r), body: body, now: s.now()}).encode()
		}()
		out.writeAs(w, contentType(r))
	})
}

// pageParams reads page and records_per_page: page defaults to 1,
// records_per_page to 25; below 10 it is 10, above maxPer it falls back to 25.
func pageParams(q url.Values, maxPer int) (page, per int, rep reply, okay bool) {
	page, per = 1, 25
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errReply(http.StatusBadRequest, "page must be an integer"), false
		}
		page = max(n, 1)
	}
	if v := q.Get("records_per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errReply(http.StatusBadRequest, "records_per_page must be an integer"), false
		}
		switch {
		case n > maxPer:
			per = 25
		case n < 10:
			per = 10
		default:
			per = n
		}
	}
	return page, per, reply{}, true
}

// paginate cuts one page out of items (never nil).
func paginate[T any](items []T, page, per int) ([]T, paginationJSON) {
	total := len(items)
	p := paginationJSON{CurrentPage: page, PerPage: per, TotalEntries: total, TotalPages: (total + per - 1) / per}
	lo := min((page-1)*per, total)
	hi := min(lo+per, total)
	out := make([]T, hi-lo)
	copy(out, items[lo:hi])
	return out, p
}

// listReply is a paged list under key, or the error of bad paging params.
func listReply[T any](c *call, key string, maxPer int, items []T) reply {
	page, per, rep, okay := pageParams(c.query(), maxPer)
	if !okay {
		return rep
	}
	out, p := paginate(items, page, per)
	return ok(http.StatusOK, map[string]any{key: out, "pagination": p})
}

// timestamp is t in ISO-8601 UTC, or null for the zero time.
func timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}
