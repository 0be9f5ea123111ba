package mxsim

// What the end user does at an OAuth scenario's window page.
const (
	OAuthApprove = "approve" // clicks Approve (#approve)
	OAuthDeny    = "deny"    // clicks Deny (#deny)
	OAuthIgnore  = "ignore"  // never opens it: the window expires (WithOAuthWindow)
)

// OAuthInstitution is the OAuth institution of MX's integration
// environment, the one the simulator serves.
const OAuthInstitution = "mx_bank_oauth"

// oauthDoc is MX's OAuth workflow guide.
const oauthDoc = "https://docs.mx.com/oauth/guides/workflow"

// OAuthScenarios returns the OAuth scenarios: a member created with
// is_oauth at mx_bank_oauth, no credentials, the end user acting at its
// oauth_window_uri. They are kept apart from Scenarios because a driver
// needs a browser (or a POST to the page's form) to play them; drivers
// that only send credentials and answers run Scenarios. The slice is fresh
// on each call.
func OAuthScenarios() []Scenario {
	both := []string{"verify", "identify"}
	oauth := func(name, desc, action string, e Expect, source string) Scenario {
		sc := Scenario{Name: name, Description: desc, Kinds: both, InstitutionCode: OAuthInstitution,
			Answers: []string{}, Expect: e, Source: source, OAuth: action}
		if source == SourceMXDocs {
			sc.Doc = oauthDoc
		}
		return sc
	}
	return []Scenario{
		oauth("oauth_approve", "OAuth: the end user approves at the window page; MX aggregates and the member connects",
			OAuthApprove, Expect{State: "succeeded", ConnectionStatus: "CONNECTED"}, SourceMXDocs),
		oauth("oauth_deny", "OAuth: the end user denies at the window page: DENIED",
			OAuthDeny, Expect{State: "failed", ConnectionStatus: "DENIED", ErrorCode: "oauth_denied"}, SourceSimulator),
		oauth("oauth_expired", "OAuth: the window URI is never used; it expires (the simulator's --oauth-window): EXPIRED",
			OAuthIgnore, Expect{State: "failed", ConnectionStatus: "EXPIRED", ErrorCode: "oauth_expired"}, SourceSimulator),
	}
}
