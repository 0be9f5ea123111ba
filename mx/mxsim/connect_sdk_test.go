package mxsim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
)

// sdkHostHTML is a partner's page: it loads MX's Web Widget SDK
// (@mxenabled/web-widget-sdk 0.0.15, testdata/web-widget-sdk, whose global
// is widgetSdk), mounts the widget URL of its ?url= in the SDK's
// ConnectWidget, and records in window.calls every callback the SDK calls,
// with its payload. The SDK reads a message only when its data has mx:
// true, then decodes it with widget-post-message-definitions'
// dispatchConnectPostMessageEvent, which calls onInvalidMessageError for an
// unknown type or a missing or mistyped field. The SDK has no origin check
// (src/widgets.ts handleMXPostMessage), so it hears the simulator.
const sdkHostHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>partner</title><script src="/web-widget-sdk.js"></script></head>
<body><div id="widget"></div>
<script>
window.calls = [];
var opts = {container: "#widget", url: new URLSearchParams(location.search).get("url"),
  style: {border: "none", width: "420px", height: "720px"}};
["onLoad", "onPing", "onLoaded", "onStepChange", "onInstitutionSearch", "onSelectedInstitution",
 "onEnterCredentials", "onCreateMemberError", "onMemberStatusUpdate", "onSubmitMFA", "onMemberConnected",
 "onBackToSearch", "onUpdateCredentials", "onOAuthRequested", "onOAuthError", "onMemberDeleted",
 "onConnectedPrimaryAction", "onInvalidData"].forEach(function (name) {
  opts[name] = function (payload) { window.calls.push({name: name, payload: payload}); };
});
opts.onInvalidMessageError = function (message, error) {
  window.calls.push({name: "onInvalidMessageError", payload: {data: JSON.stringify(message.data), error: String(error)}});
};
window.widget = new widgetSdk.ConnectWidget(opts);
</script></body></html>
`

// sdkCall is a callback the SDK called.
type sdkCall struct {
	Name    string         `json:"name"`
	Payload map[string]any `json:"payload"`
}

// sdkHost serves sdkHostHTML and the vendored SDK, on an origin other than
// the simulator's (another port).
func sdkHost(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, sdkHostHTML)
	})
	mux.HandleFunc("GET /web-widget-sdk.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, "testdata/web-widget-sdk/index.js")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// The Connect page mounted by MX's own Web Widget SDK in headless Chromium:
// an end user picks MX Bank, enters credentials, answers MFA and connects;
// the SDK calls its callbacks with MX's payloads (the user's, the widget
// session's and the member's guids) and never reports an invalid message.
// A second widget session refused a duplicate member calls
// onCreateMemberError, and Back calls onBackToSearch.
func TestConnectPageWithMXWebWidgetSDK(t *testing.T) {
	bin := testenv.Chromium(t)
	e := newEnv(t)
	u := e.createUser("sdk")
	host := sdkHost(t)
	ctx := testenv.Browser(t, bin)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// waitCall waits until the SDK has called name.
	waitCall := func(name string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
			`window.calls.some(function (c) { return c.name === "`+name+`"; })`)); err != nil {
			cs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]sdkCall](`window.calls`))
			t.Fatalf("waiting for the SDK to call %s: %v; it called %v", name, err, cs)
		}
	}
	calls := func() []sdkCall {
		t.Helper()
		cs, err := chromedp.Run(ctx, chromedp.Evaluate[[]sdkCall](`window.calls`))
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	// mount opens the partner's page on a new widget URL and returns the
	// SDK's iframe once the SDK has heard mx/connect/loaded.
	mount := func() chromedp.QueryOption {
		t.Helper()
		page := host.URL + "/?url=" + url.QueryEscape(e.srv.URL+e.widgetURL(u, map[string]any{"mode": "verification"}))
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			t.Fatalf("the partner's page: %v", err)
		}
		waitCall("onLoaded")
		frames, err := chromedp.Run(ctx, chromedp.Nodes(css(`iframe[data-test-id="mx-widget-iframe"]`)))
		if err != nil || len(frames) != 1 {
			t.Fatalf("the SDK's iframe: %v %v", frames, err)
		}
		return chromedp.FromNode(frames[0])
	}

	in := mount()
	err := chromedp.Do(ctx,
		chromedp.Click(css(`button[data-institution="mxbank"]`), in),
		chromedp.SendKeys(css(`input[name="username"]`), "mxuser", in),
		chromedp.SendKeys(css(`input[name="password"]`), "challenge", in),
		chromedp.Click(css(`#connect`), in),
		chromedp.WaitVisible(css(`#progress`), in),
	)
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	e.clock.Advance(aggTime)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`input[data-challenge]`), "correct", in),
		chromedp.Click(css(`#submit-mfa`), in),
		chromedp.WaitVisible(css(`#progress`), in),
	)
	if err != nil {
		t.Fatalf("MFA: %v", err)
	}
	e.clock.Advance(aggTime)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`#connected`), in)); err != nil {
		t.Fatalf("connected: %v", err)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`#connected`), "data-member-guid", in))
	if err != nil || attr.Value == "" {
		t.Fatalf("member guid: %q %v", attr.Value, err)
	}
	m := attr.Value
	waitCall("onMemberConnected")

	got := calls()
	session := checkSDKCalls(t, got, u)
	byName := func(cs []sdkCall, name string) []map[string]any {
		var out []map[string]any
		for _, c := range cs {
			if c.Name == name {
				out = append(out, c.Payload)
			}
		}
		return out
	}
	one := func(cs []sdkCall, name string) map[string]any {
		t.Helper()
		ps := byName(cs, name)
		if len(ps) != 1 {
			t.Fatalf("%s called %d times, want once: %v", name, len(ps), cs)
		}
		return ps[0]
	}
	if p := one(got, "onLoaded"); p["type"] != "mx/connect/loaded" || p["initial_step"] != "search" {
		t.Errorf("onLoaded: %v", p)
	}
	sel := one(got, "onSelectedInstitution")
	instGUID, _ := sel["guid"].(string)
	if sel["code"] != "mxbank" || sel["name"] != "MX Bank" || !strings.HasPrefix(instGUID, "INS-") {
		t.Errorf("onSelectedInstitution: %v", sel)
	}
	if p := one(got, "onEnterCredentials"); fmt.Sprint(p["institution"]) != fmt.Sprint(map[string]any{"code": "mxbank", "guid": instGUID}) {
		t.Errorf("onEnterCredentials: %v", p)
	}
	if p := one(got, "onSubmitMFA"); p["member_guid"] != m {
		t.Errorf("onSubmitMFA: %v, want member %s", p, m)
	}
	if p := one(got, "onMemberConnected"); p["member_guid"] != m || p["user_guid"] != u || p["session_guid"] != session {
		t.Errorf("onMemberConnected: %v, want member %s, user %s, session %s", p, m, u, session)
	}
	var statuses []float64 // MX's connection_status ids, as the page saw them change
	for _, p := range byName(got, "onMemberStatusUpdate") {
		if p["member_guid"] != m {
			t.Errorf("onMemberStatusUpdate for another member: %v", p)
		}
		s, _ := p["connection_status"].(float64)
		statuses = append(statuses, s)
	}
	// CREATED (0), the first status seen, is not an update; CHALLENGED (3),
	// RESUMED (18) and CONNECTED (6) are
	if !slices.Equal(statuses, []float64{3, 18, 6}) {
		t.Errorf("onMemberStatusUpdate statuses %v, want [3 18 6]", statuses)
	}
	var steps []string
	for _, p := range byName(got, "onStepChange") {
		steps = append(steps, fmt.Sprint(p["previous"], "→", p["current"]))
	}
	if want := []string{"search→enterCreds", "enterCreds→connecting", "connecting→mfa", "mfa→connecting", "connecting→connected"}; !slices.Equal(steps, want) {
		t.Errorf("onStepChange %v, want %v", steps, want)
	}

	// another widget session: the same credentials are refused (a member of
	// the user has them), then Back
	in = mount()
	err = chromedp.Do(ctx,
		chromedp.Click(css(`button[data-institution="mxbank"]`), in),
		chromedp.SendKeys(css(`input[name="username"]`), "mxuser", in),
		chromedp.SendKeys(css(`input[name="password"]`), "challenge", in),
		chromedp.Click(css(`#connect`), in),
		chromedp.WaitVisible(css(`#error`), in),
		chromedp.Click(css(`#back`), in),
		chromedp.WaitVisible(css(`button[data-institution="mxbank"]`), in),
	)
	if err != nil {
		t.Fatalf("refused member: %v", err)
	}
	waitCall("onBackToSearch")
	got = calls()
	if s := checkSDKCalls(t, got, u); s == session {
		t.Errorf("two widget sessions share session_guid %s", s)
	}
	if p := one(got, "onCreateMemberError"); p["institution_code"] != "mxbank" || p["institution_guid"] != instGUID {
		t.Errorf("onCreateMemberError: %v", p)
	}
	one(got, "onBackToSearch")
	if ps := byName(got, "onMemberStatusUpdate"); len(ps) != 0 {
		t.Errorf("status updates without a member: %v", ps)
	}
}

// checkSDKCalls checks what every payload shares: no invalid message, the
// user's guid and one session guid, which it returns.
func checkSDKCalls(t *testing.T, calls []sdkCall, user string) string {
	t.Helper()
	session := ""
	for _, c := range calls {
		if c.Name == "onInvalidMessageError" {
			t.Errorf("the SDK refused a message: %v", c.Payload)
			continue
		}
		s, _ := c.Payload["session_guid"].(string)
		if session == "" {
			session = s
		}
		if c.Payload["user_guid"] != user || s == "" || s != session {
			t.Errorf("%s: user_guid %v session_guid %v, want %s and one session guid", c.Name, c.Payload["user_guid"], s, user)
		}
	}
	if !strings.HasPrefix(session, "SES-") {
		t.Errorf("session_guid %q", session)
	}
	return session
}
