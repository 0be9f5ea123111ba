package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// All is every scenario: Scenarios, then OAuthScenarios.
func All() []mxsim.Scenario { return append(mxsim.Scenarios(), mxsim.OAuthScenarios()...) }

// Decide plays the end user at an OAuth window page without a browser: it
// posts the page's form (decision approve or deny), as a click on
// #approve or #deny does. The page answers 200 (MX's OAuth complete page)
// or 303 (referral_source APP: to client_redirect_url, not followed).
func Decide(ctx context.Context, uri, decision string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri,
		strings.NewReader(url.Values{"decision": {decision}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("oauth page: %w", err) // the URI is the end user's link: not quoted
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("oauth page: %s answered HTTP %d", decision, resp.StatusCode)
	}
	return nil
}

// oauthStep is Run's step for an OAuth scenario: once the job shows its
// window URI, the end user acts as the scenario says (once per job).
func oauthStep(ctx context.Context, sc mxsim.Scenario, j *store.View, acted *bool) error {
	if j.State != store.StateAuthorizing || j.OAuthWindowURI == "" || *acted {
		return nil
	}
	switch sc.OAuth {
	case mxsim.OAuthApprove, mxsim.OAuthDeny:
		*acted = true
		return Decide(ctx, j.OAuthWindowURI, sc.OAuth)
	}
	return nil // OAuthIgnore: the window expires
}
