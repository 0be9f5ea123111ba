package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/api"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/store"
)

// The MXconnect flow end to end in headless Chromium: the API hands out a
// widget URL, an end user connects MX Bank and answers MFA in the page, the
// page emits mx/connect/memberConnected, and a follow job for that member
// succeeds without starting a new verification.
func TestWidgetFlowInChromium(t *testing.T) {
	bin := testenv.Chromium(t)
	e := newEnv(t, nil)
	code, b := e.do(t, "POST", "/v1/widget_urls", token, map[string]any{"user": map[string]string{"id": "widget-user"}, "color_scheme": "light"})
	if code != 200 {
		t.Fatalf("widget url: %d %s", code, b)
	}
	var w struct {
		UserGUID  string `json:"user_guid"`
		WidgetURL struct {
			URL string `json:"url"`
		} `json:"widget_url"`
	}
	if err := json.Unmarshal(b, &w); err != nil || w.WidgetURL.URL == "" {
		t.Fatalf("widget url body %s: %v", b, err)
	}

	ctx := testenv.Browser(t, bin)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(ctx,
		chromedp.Navigate(w.WidgetURL.URL),
		chromedp.Click(css(`button[data-institution="mxbank"]`)),
		chromedp.SendKeys(css(`input[name="username"]`), "mxuser"),
		chromedp.SendKeys(css(`input[name="password"]`), "challenge"),
		chromedp.Click(css(`#connect`)),
		chromedp.WaitVisible(css(`input[data-challenge]`)),
		chromedp.SendKeys(css(`input[data-challenge]`), "correct"),
		chromedp.Click(css(`#submit-mfa`)),
		chromedp.WaitVisible(css(`#connected`)),
	)
	if err != nil {
		t.Fatalf("widget flow: %v", err)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`#connected`), "data-member-guid"))
	if err != nil {
		t.Fatal(err)
	}
	memberGUID := attr.Value
	events, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](`window.mxEvents`))
	if err != nil {
		t.Fatal(err)
	}
	var connected map[string]any
	for _, ev := range events {
		if ev["type"] == "mx/connect/memberConnected" && ev["mx"] == true {
			connected, _ = ev["metadata"].(map[string]any)
		}
	}
	if connected == nil || connected["member_guid"] != memberGUID || memberGUID == "" {
		t.Fatalf("no memberConnected event for %q in %v", memberGUID, events)
	}

	verifies := e.f.Sim.Stats().Calls["verifyMember"]
	body := map[string]any{"kind": "follow", "id": "widget-follow", "user": map[string]string{"guid": w.UserGUID}, "member": map[string]string{"guid": memberGUID}}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("follow job: %d %s", code, b)
	}
	v := e.waitFor(t, "widget-follow", func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.Result == nil || len(v.Result.AccountNumbers) == 0 {
		t.Fatalf("follow job: %+v", v)
	}
	if n := e.f.Sim.Stats().Calls["verifyMember"]; n != verifies {
		t.Fatalf("the follow job started a verification (%d → %d)", verifies, n)
	}
	e.v.check(t)
}

// An API started without MX credentials serves jobs, and answers widget
// URLs with a 503 that says what to set (before: "this API has no MX
// credentials", which named nothing to do).
func TestWidgetURLWithoutMXCredentials(t *testing.T) {
	e := newEnv(t, nil)
	e.setHandler(api.New(e.f.Client, nil, api.Config{Tokens: []string{token}}, zerolog.Nop()))
	code, h, b := e.req(t, "POST", "/v1/widget_urls", token, map[string]any{"user": map[string]string{"id": "widget-user"}})
	if code != 503 || errCode(b) != "mx_not_configured" {
		t.Fatalf("widget url without MX credentials: %d %s, want 503 mx_not_configured", code, b)
	}
	for _, want := range []string{"mxfleet api", "MXFLEET_MX_CLIENT_ID", "MXFLEET_MX_API_KEY"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the message does not name %s: %s", want, b)
		}
	}
	if h.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q on a configuration error: retrying will not help", h.Get("Retry-After"))
	}
	if code, b := e.do(t, "POST", "/v1/jobs", token, map[string]any{"kind": "verify", "id": "no-mx", "user": map[string]string{"id": "u"}, "member": mxbank("correct")}); code != 202 {
		t.Fatalf("a job without MX credentials on the API: %d %s", code, b)
	}
	e.v.check(t)
}
