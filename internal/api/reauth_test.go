package api_test

import (
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/store"
)

// Over HTTP: a denied job says how to re-authenticate its member; a job
// with that member.guid and member.credentials (the good password)
// succeeds on the same member, and MX saw no second member. A guid with
// an institution code, or follow with credentials, is a 400.
func TestReauthenticationOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	user := map[string]string{"id": "api-reauth-user"}
	if code, b := e.do(t, "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "id": "api-denied", "user": user, "member": mxbank("UNAUTHORIZED")}); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	d := e.waitFor(t, "api-denied", func(v store.View) bool { return v.State.Terminal() })
	if d.Error == nil || d.Error.Code != "denied" || !strings.Contains(d.Error.Message, "member.guid "+d.MemberGUID+" and member.credentials") {
		t.Fatalf("denied job: %+v", d)
	}
	creds := map[string]string{"username": "mxuser", "password": "correct"}
	for name, body := range map[string]map[string]any{
		"guid and institution": {"kind": "verify", "user": user, "member": map[string]any{"guid": d.MemberGUID, "institution_code": "mxbank", "credentials": creds}},
		"follow, credentials":  {"kind": "follow", "user": user, "member": map[string]any{"guid": d.MemberGUID, "credentials": creds}},
	} {
		if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 400 || errCode(b) != "invalid_request" || strings.Contains(string(b), "correct") {
			t.Errorf("%s: %d %s, want 400 invalid_request", name, code, b)
		}
	}
	body := map[string]any{"kind": "verify", "id": "api-reauth", "user": user, "member": map[string]any{"guid": d.MemberGUID, "credentials": creds}}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("re-authenticate: %d %s", code, b)
	}
	body["member"] = map[string]any{"guid": d.MemberGUID}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 409 || !strings.Contains(string(b), "member.credentials") {
		t.Fatalf("same id without credentials: %d %s", code, b)
	}
	v := e.waitFor(t, "api-reauth", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.MemberGUID != d.MemberGUID || v.Result == nil || len(v.Result.AccountNumbers) == 0 {
		t.Fatalf("re-authentication: %+v", v)
	}
	if st := e.f.Sim.Stats(); st.Calls["createMember"] != 1 || st.Calls["updateMember"] != 1 {
		t.Fatalf("MX calls: %v", st.Calls)
	}
	e.v.check(t)
}
