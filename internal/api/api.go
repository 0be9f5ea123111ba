// Package api is the fleet's HTTP way in for any language: jobs, answers,
// purge, Connect widget URLs, and MX webhooks that wake parked polls. Its
// OpenAPI document is openapi.json, served at /v1/openapi.json.
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/callback"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

//go:embed openapi.json
var openAPI []byte

// MaxBody bounds a request body; larger ones get 413.
const MaxBody = 64 << 10

// Config holds what the API checks.
type Config struct {
	Tokens        []string        // bearer tokens accepted
	Callbacks     *callback.Allow // nil: callback_url refused
	WebhookSecret string          // empty: MX webhooks refused
}

// Server serves the API.
type Server struct {
	c   *tasks.Client
	mx  *mx.Client
	cfg Config
	log zerolog.Logger
	mux *http.ServeMux
}

// New builds the API over a producer client and an MX client (for
// widget URLs).
func New(c *tasks.Client, mxc *mx.Client, cfg Config, log zerolog.Logger) *Server {
	s := &Server{c: c, mx: mxc, cfg: cfg, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]bool{"ok": true}) })
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	s.mux.HandleFunc("POST /v1/mx/webhooks", s.webhook)
	s.mux.Handle("POST /v1/jobs", s.auth(s.createJob))
	s.mux.Handle("GET /v1/jobs", s.auth(s.listJobs))
	s.mux.Handle("GET /v1/jobs/{id}", s.auth(s.getJob))
	s.mux.Handle("DELETE /v1/jobs/{id}", s.auth(s.deleteJob))
	s.mux.Handle("POST /v1/jobs/{id}/answers", s.auth(s.answer))
	s.mux.Handle("POST /v1/widget_urls", s.auth(s.widgetURL))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Error is the body of every error response.
type Error struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	var e Error
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func (s *Server) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokenOK(strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mxfleet"`)
			writeErr(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return
		}
		next(w, r)
	})
}

func (s *Server) tokenOK(tok string) bool {
	ok := false
	for _, t := range s.cfg.Tokens {
		if t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			ok = true
		}
	}
	return ok
}

// decode reads a JSON body strictly: size limit (413), syntax (400),
// unknown fields (400). It never quotes the body.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", MaxBody))
	case errors.As(err, &syn):
		writeErr(w, http.StatusBadRequest, "malformed_json", "malformed JSON at offset "+strconv.FormatInt(syn.Offset, 10))
	case errors.As(err, &typ):
		writeErr(w, http.StatusBadRequest, "malformed_json", fmt.Sprintf("field %q must be %s", typ.Field, typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeErr(w, http.StatusBadRequest, "unknown_field", strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.EOF):
		writeErr(w, http.StatusBadRequest, "malformed_json", "empty body")
	default:
		writeErr(w, http.StatusBadRequest, "malformed_json", "the body is not a JSON object")
	}
	return false
}

// JobRequest is the body of POST /v1/jobs.
type JobRequest struct {
	Kind string `json:"kind"` // verify | identify | follow
	ID   string `json:"id,omitempty"`
	User struct {
		ID    string `json:"id,omitempty"`
		GUID  string `json:"guid,omitempty"`
		Email string `json:"email,omitempty"`
	} `json:"user"`
	Member struct {
		GUID            string            `json:"guid,omitempty"`
		InstitutionCode string            `json:"institution_code,omitempty"`
		Credentials     map[string]string `json:"credentials,omitempty"`
	} `json:"member"`
	CallbackURL     string `json:"callback_url,omitempty"`
	CallbackResults bool   `json:"callback_results,omitempty"`
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var req JobRequest
	if !decode(w, r, &req) {
		return
	}
	kind := store.Kind(req.Kind)
	follow := req.Kind == "follow"
	if follow {
		kind = store.KindVerify
	}
	if !kind.Valid() {
		writeErr(w, http.StatusBadRequest, "invalid_kind", `kind must be "verify", "identify" or "follow"`)
		return
	}
	if req.CallbackURL != "" {
		if s.cfg.Callbacks == nil {
			writeErr(w, http.StatusBadRequest, "callback_not_allowed", "callbacks are off: MXFLEET_CALLBACK_ALLOW is empty")
			return
		}
		if err := s.cfg.Callbacks.Check(req.CallbackURL); err != nil {
			writeErr(w, http.StatusBadRequest, "callback_not_allowed", err.Error())
			return
		}
	}
	j, created, err := s.c.Submit(r.Context(), kind, tasks.Request{
		ID:          req.ID,
		User:        tasks.User{ID: req.User.ID, GUID: req.User.GUID, Email: req.User.Email},
		Member:      tasks.Member{GUID: req.Member.GUID, InstitutionCode: req.Member.InstitutionCode, Credentials: req.Member.Credentials, Follow: follow},
		CallbackURL: req.CallbackURL, CallbackResults: req.CallbackResults,
	})
	switch {
	case errors.Is(err, tasks.ErrIDConflict):
		writeErr(w, http.StatusConflict, "id_conflict", err.Error())
	case err != nil && j == nil:
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
	case err != nil:
		s.log.Error().Str("job", j.ID).Err(err).Msg("enqueue failed")
		writeErr(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	case created:
		writeJSON(w, http.StatusAccepted, j.View())
	default:
		writeJSON(w, http.StatusOK, j.View())
	}
}

func (s *Server) jobErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not_found", err.Error())
	case strings.HasPrefix(err.Error(), "invalid job id"):
		writeErr(w, http.StatusBadRequest, "invalid_id", err.Error())
	default:
		s.log.Error().Err(err).Msg("api")
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "the job store is unavailable")
	}
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.c.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		s.jobErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j.View())
}

// JobList is the body of GET /v1/jobs.
type JobList struct {
	Jobs       []store.View `json:"jobs"`
	Pagination struct {
		Page         int `json:"page"`
		PerPage      int `json:"per_page"`
		TotalEntries int `json:"total_entries"`
	} `json:"pagination"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != string(store.StateChallenged) {
		writeErr(w, http.StatusBadRequest, "invalid_state", "list jobs with state=challenged (the jobs waiting for MFA answers); read others by id")
		return
	}
	page, per := 1, 50
	for name, dst := range map[string]*int{"page": &page, "per_page": &per} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "per_page" && n > 500) {
				writeErr(w, http.StatusBadRequest, "invalid_paging", name+" must be a positive integer (per_page at most 500)")
				return
			}
			*dst = n
		}
	}
	parked, err := s.c.Parked(r.Context())
	if err != nil {
		s.jobErr(w, err)
		return
	}
	ids := make([]string, 0, len(parked))
	for _, p := range parked {
		ids = append(ids, p.JobID)
	}
	slices.Sort(ids)
	var out JobList
	out.Jobs = []store.View{}
	out.Pagination.Page, out.Pagination.PerPage, out.Pagination.TotalEntries = page, per, len(ids)
	for i := (page - 1) * per; i < len(ids) && i < page*per; i++ {
		j, err := s.c.Status(r.Context(), ids[i])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			s.jobErr(w, err)
			return
		}
		out.Jobs = append(out.Jobs, j.View())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.c.Status(r.Context(), id); err != nil {
		s.jobErr(w, err)
		return
	}
	if _, err := s.c.Purge(r.Context(), id); err != nil {
		writeErr(w, http.StatusConflict, "purge_incomplete", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AnswerRequest is the body of POST /v1/jobs/{id}/answers.
type AnswerRequest struct {
	Answers map[string]string `json:"answers"` // challenge guid → value
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	var req AnswerRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Answers) == 0 {
		writeErr(w, http.StatusBadRequest, "invalid_request", "answers must map every challenge guid to a value")
		return
	}
	aid, err := s.c.Answer(r.Context(), r.PathValue("id"), req.Answers)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"answer_id": aid})
	case errors.Is(err, tasks.ErrNotChallenged):
		writeErr(w, http.StatusConflict, "not_challenged", err.Error())
	case errors.Is(err, tasks.ErrChallengeMismatch):
		writeErr(w, http.StatusUnprocessableEntity, "challenge_mismatch", err.Error())
	case errors.Is(err, store.ErrNotFound), strings.HasPrefix(err.Error(), "invalid job id"):
		s.jobErr(w, err)
	default:
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
	}
}

// WidgetRequest is the body of POST /v1/widget_urls.
type WidgetRequest struct {
	User struct {
		ID   string `json:"id,omitempty"`
		GUID string `json:"guid,omitempty"`
	} `json:"user"`
	ColorScheme            string `json:"color_scheme,omitempty"`
	CurrentMemberGUID      string `json:"current_member_guid,omitempty"`
	CurrentInstitutionCode string `json:"current_institution_code,omitempty"`
	IncludeIdentity        bool   `json:"include_identity,omitempty"`
	Language               string `json:"language,omitempty"`
}

// WidgetResponse is the body answering POST /v1/widget_urls.
type WidgetResponse struct {
	UserGUID  string       `json:"user_guid"`
	WidgetURL mx.WidgetURL `json:"widget_url"`
}

func (s *Server) widgetURL(w http.ResponseWriter, r *http.Request) {
	var req WidgetRequest
	if !decode(w, r, &req) {
		return
	}
	if (req.User.ID == "") == (req.User.GUID == "") {
		writeErr(w, http.StatusBadRequest, "invalid_request", "give user.id (a partner id) or user.guid")
		return
	}
	if s.mx == nil {
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "this API has no MX credentials")
		return
	}
	guid, err := s.ensureUser(r.Context(), req.User.ID, req.User.GUID)
	if err != nil {
		s.mxErr(w, err)
		return
	}
	wr := mx.WidgetURLRequest{Mode: "verification", ColorScheme: req.ColorScheme, CurrentMemberGUID: req.CurrentMemberGUID,
		CurrentInstitutionCode: req.CurrentInstitutionCode, Language: req.Language}
	if req.IncludeIdentity {
		wr.IncludeIdentity = &req.IncludeIdentity
	}
	u, err := s.mx.RequestWidgetURL(r.Context(), guid, wr)
	if err != nil {
		s.mxErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, WidgetResponse{UserGUID: guid, WidgetURL: *u})
}

func (s *Server) ensureUser(ctx context.Context, id, guid string) (string, error) {
	if guid != "" {
		return guid, nil
	}
	for u, err := range s.mx.Users(ctx, id, "") {
		if err != nil {
			return "", err
		}
		if u.ID == id {
			return u.GUID, nil
		}
	}
	u, err := s.mx.CreateUser(ctx, mx.UserCreate{ID: id})
	if err != nil {
		return "", err
	}
	return u.GUID, nil
}

func (s *Server) mxErr(w http.ResponseWriter, err error) {
	if mx.IsPermanent(err) {
		writeErr(w, http.StatusBadGateway, "mx_refused", err.Error())
		return
	}
	writeErr(w, http.StatusServiceUnavailable, "mx_unavailable", err.Error())
}

// webhook takes MX's webhooks and runs the scheduled poll of the job they
// are about now. MX documents no signature for webhooks, so the delivery
// must carry the shared secret: as HTTP basic auth (its password; MX's
// webhook settings offer basic auth), in the URL configured at MX
// (?token=…), or in the X-Mxfleet-Webhook-Token header a proxy adds.
//
// Every authenticated delivery is acknowledged with 200, also the ones the
// fleet has no use for (other types, unknown members, bodies it cannot
// read): MX retries deliveries that fail, and a retry would not be any more
// useful. Only the fleet's own trouble (Redis) answers 503, so that MX
// tries again later. The job is found by the X-CALLBACK-PAYLOAD header MX
// returns from the calls that started the member's work (the job id,
// base64), else by the member guid.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.WebhookSecret == "" {
		writeErr(w, http.StatusNotFound, "webhooks_off", "MX webhooks are off: MXFLEET_WEBHOOK_SECRET is empty")
		return
	}
	tok := r.Header.Get("X-Mxfleet-Webhook-Token")
	if _, pass, ok := r.BasicAuth(); ok && tok == "" {
		tok = pass
	}
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.WebhookSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="mxfleet MX webhooks"`)
		writeErr(w, http.StatusUnauthorized, "unauthorized", "the webhook secret is missing or wrong (basic auth password, ?token= or X-Mxfleet-Webhook-Token)")
		return
	}
	ignore := func(why string) {
		s.log.Debug().Str("reason", why).Msg("mx webhook acknowledged, not used")
		writeJSON(w, http.StatusOK, map[string]any{"job_id": "", "woke": false, "ignored": why})
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody)).Decode(&body); err != nil {
		ignore("the body is not a JSON object")
		return
	}
	var member string
	for _, k := range []string{"member_guid", "guid"} {
		if json.Unmarshal(body[k], &member) == nil && member != "" {
			break
		}
	}
	var jobID string
	if p, err := base64.StdEncoding.DecodeString(r.Header.Get("X-CALLBACK-PAYLOAD")); err == nil {
		jobID = string(p)
	}
	if member == "" && jobID == "" {
		ignore("no member_guid in the webhook")
		return
	}
	id, woke, err := s.c.Wake(r.Context(), member, jobID)
	if errors.Is(err, store.ErrNotFound) {
		ignore("no job follows this member")
		return
	}
	if err != nil {
		s.jobErr(w, err)
		return
	}
	s.log.Debug().Str("member_guid", member).Str("job", id).Bool("woke", woke).Msg("mx webhook")
	writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "woke": woke})
}
