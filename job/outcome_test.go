package job

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// ended is the code and message d ends r with: the event's, which the
// change must write too ("" when d ends nothing).
func ended(t *testing.T, r *Record, d Decision) (string, string) {
	t.Helper()
	if d.Change == nil || d.Event == nil || d.Event.Error == nil {
		return "", ""
	}
	cur := *r
	if err := d.Change(&cur); err != nil || cur.State != StateFailed || cur.Error == nil || cur.Error.Code != d.Event.Error.Code {
		t.Fatalf("decision's event %+v, its change: %v, %+v", d.Event.Error, err, cur.Error)
	}
	return cur.Error.Code, cur.Error.Message
}

// TestEndings: each typed ending gets its code and message from package
// job, byte for byte what the fleet has always said.
func TestEndings(t *testing.T) {
	mxErr := errors.New("mx: 400 Bad Request: nope")
	_, mis := MapCredentials([]Field{{GUID: "CRD-1", FieldName: "LOGIN", Label: "Username"}}, map[string]string{"pin": "1"})
	for _, c := range []struct {
		e         Ending
		code, msg string
	}{
		{BadPayload{Err: errors.New("tasks: bad payload: x")}, CodeBadPayload, "tasks: bad payload: x"},
		{NoInstitution{Institution: "nobank"}, CodeUnknownInstitution, `MX has no institution "nobank"`},
		{NoMember{User: "USR-1", Member: "MBR-9"}, CodeUnknownMember, "MX has no member MBR-9 for user USR-1: re-authentication needs the guid of the user's existing member"},
		{CredentialsUnmapped{Mismatch: mis, Where: "institution mxbank"}, CodeUnknownCredential, `institution mxbank: no credential field "pin" (fields: Username (LOGIN))`},
		{DuplicateUnresolved{Institution: "mxbank", Members: 2}, CodeMXError, "MX reports a duplicate member and the user has 2 members at mxbank: give the member guid"},
		{DuplicateUnresolved{Institution: "mxbank"}, CodeMXError, "MX reports a duplicate member but the user has none at mxbank"},
		{Unsupported{Msg: mxErr.Error()}, CodeUnsupported, mxErr.Error()},
		{Unsupported{Msg: "no", NoFallback: true}, CodeUnsupported, "no (and the start task carries no fallback account)"},
		{ProductFailed("account_verification", "mxbank", false), CodeUnsupported, "MX created the member but could not start account_verification on it (201): mxbank does not support it"},
		{ProductFailed("identity_verification", "mxbank", true), CodeUnsupported, "MX created the OAuth member but could not request identity_verification on it (201): mxbank does not support it"},
		{OAuthRefused{Institution: "mxbank", Err: mxErr}, CodeUnsupported, "MX refused an OAuth member at mxbank (does it use OAuth? submit with credentials otherwise): " + mxErr.Error()},
		{MXRefused{Err: mxErr}, CodeMXError, mxErr.Error()},
		{MXRefused{What: "the micro-deposit", Err: mxErr}, CodeMXError, "MX refused the micro-deposit: " + mxErr.Error()},
		{ResumeRefused{Err: mxErr}, CodeResumeRefused, mxErr.Error()},
		{ResumeRefused{Err: mxErr, Expired: true}, CodeChallengeExpired, mxErr.Error() + "; new credentials can be sent for member MBR-1: a job with member.guid MBR-1 and member.credentials (CLI: --member-guid MBR-1 --credential NAME=VALUE)"},
		{RetriesSpent{Retries: 5, Err: errors.New("redis down")}, CodeRetriesExhausted, "gave up after 5 retries: redis down"},
		{RetriesSpent{Retries: 5, MXFailing: true, Err: errors.New("mx: 503")}, CodeMXUnavailable, "MX kept failing: mx: 503"},
	} {
		code, msg := ended(t, record(StateRunning), c.e.Decide(record(StateRunning)))
		if code != c.code || msg != c.msg {
			t.Errorf("%#v: %s %q, want %s %q", c.e, code, msg, c.code, c.msg)
		}
		if d := c.e.Decide(record(StateSucceeded)); d.Change(record(StateSucceeded)) != ErrNoChange {
			t.Errorf("%#v ends an ended job", c.e)
		}
	}
	// At a start, Named names what the start found in the same write.
	r := record(StatePending)
	d := Named(NoInstitution{Institution: "x"}.Decide(r), "USR-2", "MBR-2")
	if err := d.Change(r); err != nil || r.UserGUID != "USR-2" || r.MemberGUID != "MBR-2" || r.State != StateFailed {
		t.Fatalf("named: %v %+v", err, r)
	}
}

// producers is every way a job can end failed, each through the package
// job function that decides it, with the code it ends with.
func producers(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{} // code → what produced it
	add := func(name string, r *Record, d Decision) {
		if code, _ := ended(t, r, d); code != "" {
			out[code] = append(out[code], name)
		}
	}
	for _, e := range []Ending{BadPayload{Err: errors.New("x")}, NoInstitution{}, NoMember{}, DuplicateUnresolved{},
		Unsupported{}, OAuthRefused{Err: errors.New("x")}, MXRefused{Err: errors.New("x")}, ResumeRefused{Err: errors.New("x")},
		ResumeRefused{Err: errors.New("x"), Expired: true}, RetriesSpent{Err: errors.New("x")}, RetriesSpent{MXFailing: true, Err: errors.New("x")}} {
		add("Ending", record(StateRunning), e.Decide(record(StateRunning)))
	}
	for _, given := range []map[string]string{{"pin": "1"}, {}} {
		_, mis := MapCredentials([]Field{{GUID: "CRD-1", FieldName: "LOGIN"}}, given)
		add("CredentialsUnmapped", record(StatePending), CredentialsUnmapped{Mismatch: mis}.Decide(record(StatePending)))
	}
	overdue, _ := Overdue(record(StateRunning), t0.Add(2*time.Hour), cfg)
	add("Overdue", record(StateRunning), overdue)
	add("Expire", record(StateChallenged), Expire(record(StateChallenged), 1, "x"))
	add("Succeed", record(StateRunning), Succeed(record(StateRunning), 3, Read{ConnectionStatus: "CONNECTED"}, 0))
	add("Repair", record(StatePending), Repair(record(StatePending), nil, t0, cfg))
	add("DuplicateUpdate", record(StatePending), DuplicateUpdate(record(StatePending), "USR-1", "MBR-1", "mxbank", nil))
	// Every status MX documents, and none or one it does not; a restart
	// status once the attempts are spent.
	statuses := []string{"", "NOT_A_STATUS"}
	for _, s := range Statuses {
		statuses = append(statuses, s.Status)
	}
	for _, s := range statuses {
		r := record(StateRunning)
		r.Attempt = cfg.MaxAttempts
		add("Polled "+s, r, Polled(r, 3, Read{ConnectionStatus: s}, t0, cfg))
		a := record(StateAuthorizing)
		add("Authorization "+s, a, Polled(a, 3, Read{ConnectionStatus: s}, t0, cfg))
	}
	for _, st := range []MDRead{{Gone: true}, {}, {Status: "NOT_A_STATUS"}, {Status: "ERRORED"}, {Status: "PREVENTED"},
		{Status: "CONFLICTED"}, {Status: "REJECTED"}, {Status: "EXPIRED"}} {
		r := mdRecord(StateRunning)
		add("MDPolled "+st.Status, r, MDPolled(r, 3, st, t0, cfg))
	}
	add("MDExpire", mdRecord(StateChallenged), MDExpire(mdRecord(StateChallenged), 1))
	return out
}

// TestEveryCodeIsDecided: every code a failed job can carry (Codes, the
// Code* constants, the lower-cased statuses Classify fails or restarts on, the
// micro-deposit ones) is produced by some function of package job in
// producers, and those produce no other.
func TestEveryCodeIsDecided(t *testing.T) {
	want := slices.Clone(Codes) // the constants themselves: internal/metrics' TestKnownCodesMatchHandlers
	for _, s := range Statuses {
		if s.Outcome == Failed || s.Outcome == RetryLater {
			want = append(want, strings.ToLower(s.Status))
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got := producers(t)
	for _, c := range want {
		if len(got[c]) == 0 {
			t.Errorf("no function of package job in producers ends a job %q", c)
		}
	}
	for c, by := range got {
		if !slices.Contains(want, c) {
			t.Errorf("%v end jobs %q, which is neither a Code* constant nor a status code", by, c)
		}
	}
}
