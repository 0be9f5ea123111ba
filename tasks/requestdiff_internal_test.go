package tasks

import (
	"maps"
	"slices"
	"testing"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// requestDiff is pure: the record (and the start payload while asynq holds
// it) against a new request, by field name.
func TestRequestDiff(t *testing.T) {
	creds := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			m[n] = "mxs1.k.sealed-" + n
		}
		return m
	}
	byID := Request{ID: "j", User: User{ID: "alice"}, Member: Member{InstitutionCode: "mxbank", Credentials: map[string]string{"username": "u", "password": "p"}}}
	byGUID := Request{ID: "j", User: User{GUID: "USR-1"}, Member: Member{GUID: "MBR-1"}}
	recordOf := func(r Request, state store.State) *store.Job {
		return &store.Job{Record: job.Record{ID: r.ID, State: state, UserGUID: r.User.GUID, MemberGUID: r.Member.GUID,
			InstitutionCode: r.Member.InstitutionCode, Follow: r.Member.Follow, CallbackURL: r.CallbackURL, CallbackResults: r.CallbackResults}}
	}
	payloadOf := func(r Request) *Job {
		p := &Job{V: Version, JobID: r.ID, User: r.User, Member: r.Member}
		p.Member.Credentials = creds(slices.Collect(maps.Keys(r.Member.Credentials))...)
		return p
	}
	started := func(j *store.Job) *store.Job {
		j.State, j.UserGUID, j.MemberGUID = store.StateRunning, "USR-9", "MBR-9"
		return j
	}
	with := func(r Request, f func(*Request)) Request {
		r.Member.Credentials = maps.Clone(r.Member.Credentials)
		f(&r)
		return r
	}
	for _, c := range []struct {
		name string
		job  *store.Job
		p    *Job
		r    Request
		want []string
	}{
		{"same, pending, with payload", recordOf(byID, store.StatePending), payloadOf(byID), byID, nil},
		{"same, credential values differ", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Member.Credentials["password"] = "other" }), nil},
		{"same, credential names in another case", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Member.Credentials = map[string]string{"User Name": "u", "PASSWORD": "p"} }), nil},
		{"same, started, payload gone", started(recordOf(byID, store.StatePending)), nil, byID, nil},
		{"same by guid, started", started(recordOf(byGUID, store.StatePending)), nil, with(byGUID, func(r *Request) { r.User.GUID, r.Member.GUID = "USR-9", "MBR-9" }), nil},
		{"other partner id, pending", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.User.ID = "bob" }), []string{"user.id"}},
		{"user guid for a partner id, pending", recordOf(byID, store.StatePending), nil,
			with(byID, func(r *Request) { r.User = User{GUID: "USR-1"} }), []string{"user.guid", "user.id"}},
		{"partner id for a user guid, pending", recordOf(byGUID, store.StatePending), nil,
			with(byGUID, func(r *Request) { r.User = User{ID: "alice"} }), []string{"user.id", "user.guid"}},
		{"other user guid, started", started(recordOf(byGUID, store.StatePending)), nil,
			with(byGUID, func(r *Request) { r.User.GUID, r.Member.GUID = "USR-2", "MBR-9" }), []string{"user.guid"}},
		{"other institution", started(recordOf(byID, store.StatePending)), nil,
			with(byID, func(r *Request) { r.Member.InstitutionCode = "otherbank" }), []string{"member.institution_code"}},
		{"other credential names", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Member.Credentials = map[string]string{"username": "u", "pin": "p"} }), []string{"member.credentials"}},
		{"one credential more", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Member.Credentials["otp"] = "1" }), []string{"member.credentials"}},
		{"other member guid", recordOf(byGUID, store.StatePending), nil,
			with(byGUID, func(r *Request) { r.Member.GUID = "MBR-2" }), []string{"member.guid"}},
		{"member guid for credentials", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Member = Member{GUID: "MBR-1"} }), []string{"member.guid", "member.credentials", "member.institution_code"}},
		{"follow", recordOf(byGUID, store.StatePending), nil,
			with(byGUID, func(r *Request) { r.Member.Follow = true }), []string{"member.follow"}},
		{"callback url", started(recordOf(byID, store.StatePending)), nil,
			with(byID, func(r *Request) { r.CallbackURL = "https://hooks.example.com/x" }), []string{"callback_url"}},
		{"callback results", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.CallbackResults = true }), []string{"callback_results"}},
		{"the default thresholds given", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Thresholds = &Thresholds{Match: 85, Partial: 50} }), nil},
		{"other thresholds", recordOf(byID, store.StatePending), payloadOf(byID),
			with(byID, func(r *Request) { r.Thresholds = &Thresholds{Match: 90, Partial: 50} }), []string{"thresholds"}},
		{"thresholds, then none", func() *store.Job {
			j := started(recordOf(byID, store.StatePending))
			j.Thresholds = &Thresholds{Match: 90, Partial: 60}
			return j
		}(), nil, byID, []string{"thresholds"}},
	} {
		got := requestDiff(c.job, c.p, c.r)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: differs in %q, want %q", c.name, got, c.want)
		}
	}
}
