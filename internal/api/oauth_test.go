package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func oauthMember(opts map[string]string) map[string]any {
	o := map[string]any{}
	for k, v := range opts {
		o[k] = v
	}
	return map[string]any{"institution_code": "mx_bank_oauth", "oauth": o}
}

// OAuth jobs over HTTP: refusals at submit, the authorizing job with its
// URI and callback event, a fresh URI on request, answers refused, a deny
// ending oauth_denied; every exchange checked against openapi.json.
func TestOAuthJobsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	user := map[string]string{"id": "oauth-api-user"}
	for _, c := range []struct {
		name    string
		member  map[string]any
		errCode string
		msg     string
	}{
		{"oauth with credentials", map[string]any{"institution_code": "mx_bank_oauth", "credentials": map[string]string{"username": "u"}, "oauth": map[string]any{}}, "invalid_request", "no credentials"},
		{"oauth with a member guid", map[string]any{"guid": "MBR-1", "oauth": map[string]any{}}, "invalid_request", "member"},
		{"referral source", oauthMember(map[string]string{"referral_source": "WEB"}), "invalid_request", "referral_source"},
		{"redirect without APP", oauthMember(map[string]string{"client_redirect_url": "https://app.example/done"}), "invalid_request", "APP"},
		{"relative redirect", oauthMember(map[string]string{"client_redirect_url": "/done", "referral_source": "APP"}), "invalid_request", "absolute"},
		{"oauth at mxbank", map[string]any{"institution_code": "mxbank", "oauth": map[string]any{}}, "oauth_unsupported", "does not use OAuth"},
		{"credentials at mx_bank_oauth", map[string]any{"institution_code": "mx_bank_oauth", "credentials": map[string]string{"username": "u", "password": "p"}}, "oauth_required", "uses OAuth"},
	} {
		code, b := e.do(t, "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "user": user, "member": c.member})
		if code != 400 || errCode(b) != c.errCode || !strings.Contains(string(b), c.msg) {
			t.Errorf("%s: %d %s, want 400 %s (%q)", c.name, code, b, c.errCode, c.msg)
		}
	}

	events := make(chan tasks.Event, 16)
	e.events.mu.Lock()
	e.events.onEv = func(ev tasks.Event) { events <- ev }
	e.events.mu.Unlock()
	body := map[string]any{"kind": "verify", "id": "oauth-api", "user": user, "callback_url": e.events.srv.URL + "/hook",
		"member": oauthMember(map[string]string{"referral_source": "APP", "client_redirect_url": "https://app.example/oauth/done"})}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 200 {
		t.Fatalf("the same again: %d %s", code, b)
	}
	other := map[string]any{"kind": "verify", "id": "oauth-api", "user": user, "callback_url": e.events.srv.URL + "/hook", "member": oauthMember(nil)}
	if code, b := e.do(t, "POST", "/v1/jobs", token, other); code != 409 || !strings.Contains(string(b), "member.oauth") {
		t.Fatalf("the same id with other oauth options: %d %s", code, b)
	}
	v := e.waitFor(t, "oauth-api", func(v store.View) bool { return v.State != store.StatePending })
	if v.State != store.StateAuthorizing || !strings.HasPrefix(v.OAuthWindowURI, e.f.SimURL+"/_sim/oauth/") || v.OAuthWindows != 1 ||
		v.OAuth == nil || v.OAuth.ReferralSource != "APP" || v.ConnectionStatus != "PENDING" {
		t.Fatalf("authorizing job: %+v", v)
	}
	first := v.OAuthWindowURI
	ev := <-events
	if ev.Type != "job.authorizing" || ev.ID != "oauth-api.authorizing.1" || ev.Job.OAuthWindowURI != first || ev.Job.State != store.StateAuthorizing {
		t.Fatalf("authorizing event: %+v", ev)
	}
	if code, b := e.do(t, "POST", "/v1/jobs/oauth-api/answers", token, map[string]any{"answers": map[string]string{"CRD-1": "x"}}); code != 409 || errCode(b) != "not_challenged" || !strings.Contains(string(b), "oauth_window_uri") {
		t.Fatalf("answer to an authorizing job: %d %s", code, b)
	}
	code, b := e.do(t, "POST", "/v1/jobs/oauth-api/oauth", token, nil)
	var w struct {
		JobID  string `json:"job_id"`
		Window int    `json:"window"`
	}
	if code != 202 || json.Unmarshal(b, &w) != nil || w.Window != 2 || w.JobID != "oauth-api" {
		t.Fatalf("fresh window: %d %s", code, b)
	}
	v = e.waitFor(t, "oauth-api", func(v store.View) bool { return v.OAuthWindows == 2 || v.State != store.StateAuthorizing })
	if v.State != store.StateAuthorizing || v.OAuthWindowURI == first || v.OAuthWindowURI == "" {
		t.Fatalf("after the fresh window: %+v", v)
	}
	ev = <-events
	if ev.ID != "oauth-api.authorizing.2" || ev.Job.OAuthWindowURI != v.OAuthWindowURI || ev.Job.OAuthWindows != 2 {
		t.Fatalf("second authorizing event: %+v", ev)
	}
	// The end user denies: APP sends them to client_redirect_url.
	req, _ := http.NewRequest("POST", v.OAuthWindowURI, strings.NewReader("decision=deny"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "https://app.example/oauth/done?") || !strings.Contains(loc, "error_reason=DENIED") {
		t.Fatalf("deny: %d, Location %q", resp.StatusCode, loc)
	}
	v = e.waitFor(t, "oauth-api", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateFailed || v.Error == nil || v.Error.Code != "oauth_denied" || v.OAuthWindowURI != "" {
		t.Fatalf("denied job: %+v", v)
	}
	ev = <-events
	if ev.Type != "job.failed" || ev.Job.Error == nil || ev.Job.Error.Code != "oauth_denied" {
		t.Fatalf("failed event: %+v", ev)
	}
	for path, want := range map[string]int{"/v1/jobs/oauth-api/oauth": 409, "/v1/jobs/nope/oauth": 404, "/v1/jobs/-x/oauth": 400} {
		if code, b := e.do(t, "POST", path, token, nil); code != want {
			t.Errorf("POST %s: %d %s, want %d", path, code, b, want)
		}
	}
	if strings.Contains(e.log.String()+e.f.Logs.String(), "/_sim/oauth/") {
		t.Errorf("a window URI is in the logs")
	}
	e.v.check(t)
}

// The OAuth flow in headless Chromium: an identify job from the API, its
// oauth_window_uri opened in the browser, Approve clicked; MX's complete
// page shows, and the job succeeds with the account owners.
func TestOAuthFlowInChromium(t *testing.T) {
	bin := testenv.Chromium(t)
	e := newEnv(t, nil)
	body := map[string]any{"kind": "identify", "id": "oauth-browser", "user": map[string]string{"id": "oauth-browser-user"}, "member": oauthMember(nil)}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "oauth-browser", func(v store.View) bool { return v.State != store.StatePending })
	if v.State != store.StateAuthorizing || v.OAuthWindowURI == "" {
		t.Fatalf("authorizing job: %+v", v)
	}
	ctx := testenv.Browser(t, bin)
	uri := v.OAuthWindowURI
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	if err := chromedp.Do(ctx, chromedp.Navigate(uri), chromedp.WaitVisible(css(`#approve`))); err != nil {
		t.Fatalf("oauth page: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(css(`#title`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css(`#approve`)), chromedp.WaitVisible(css(`#oauth-success`))); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if !strings.Contains(title, "MX") {
		t.Errorf("page title %q", title)
	}
	msg, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`window.oauthComplete`))
	if err != nil || msg["type"] != "oauthComplete/success" {
		t.Fatalf("oauthComplete: %v %v", msg, err)
	}
	v = e.waitFor(t, "oauth-browser", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.Result == nil || len(v.Result.AccountOwners) == 0 {
		t.Fatalf("after approving in the browser: %+v", v)
	}
	// The used URI is gone (one-time use).
	if err := scenario.Decide(context.Background(), uri, "approve"); err == nil || !strings.Contains(err.Error(), "410") {
		t.Errorf("the used window URI again: %v, want HTTP 410", err)
	}
	e.v.check(t)
}
