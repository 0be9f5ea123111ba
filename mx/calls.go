package mx

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CreateUser creates an MX user (createUser).
func (c *Client) CreateUser(ctx context.Context, u UserCreate) (*User, error) {
	if u == (UserCreate{}) {
		return nil, errors.New("mx: createUser: the user needs at least one field (id, email or metadata)")
	}
	var out struct {
		User User `json:"user"`
	}
	if _, err := c.do(ctx, "createUser", http.MethodPost, "/users", nil, struct {
		User UserCreate `json:"user"`
	}{u}, &out, nil); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// ReadUser reads a user by guid (readUser).
func (c *Client) ReadUser(ctx context.Context, userGUID string) (*User, error) {
	var out struct {
		User User `json:"user"`
	}
	if _, err := c.do(ctx, "readUser", http.MethodGet, "/users/"+seg(userGUID), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// DeleteUser deletes a user and everything MX holds for it, for good
// (deleteUser).
func (c *Client) DeleteUser(ctx context.Context, userGUID string) error {
	_, err := c.do(ctx, "deleteUser", http.MethodDelete, "/users/"+seg(userGUID), nil, nil, nil, nil)
	return err
}

// Users lists users, optionally filtered by partner id and email (listUsers).
func (c *Client) Users(ctx context.Context, id, email string) iter.Seq2[User, error] {
	q := url.Values{}
	if id != "" {
		q.Set("id", id)
	}
	if email != "" {
		q.Set("email", email)
	}
	return list[User](c, ctx, "listUsers", "/users", "users", q, 0)
}

// SearchInstitutions lists institutions whose name or url matches s.Name
// (listInstitutions). An empty name is refused with ErrEmptySearch.
func (c *Client) SearchInstitutions(ctx context.Context, s InstitutionSearch) iter.Seq2[Institution, error] {
	q, err := c.institutionQuery(s)
	if err != nil {
		return func(yield func(Institution, error) bool) { yield(Institution{}, err) }
	}
	per := s.RecordsPerPage
	if per == 0 {
		per = 100 // listInstitutions allows 10..100
	}
	return list[Institution](c, ctx, "listInstitutions", "/institutions", "institutions", q, per)
}

// institutionQuery is listInstitutions' query for s in the client's
// version: v20250224 filters on supported_products (its supports_*
// booleans are deprecated), v20111101 on the supports_* booleans.
func (c *Client) institutionQuery(s InstitutionSearch) (url.Values, error) {
	if strings.TrimSpace(s.Name) == "" {
		return nil, ErrEmptySearch
	}
	q := url.Values{"name": {s.Name}}
	filter := func(product, legacy string) {
		if c.version == V20111101 {
			q.Set(legacy, "true")
		} else {
			q.Add("supported_products", product)
		}
	}
	if s.SupportsAccountIdentification {
		filter(ProductIdentityVerification, "supports_account_identification")
	}
	if s.SupportsAccountVerification {
		filter(ProductAccountVerification, "supports_account_verification")
	}
	return q, nil
}

// InstitutionsPage is one page of listInstitutions.
type InstitutionsPage struct {
	Institutions []Institution
	Pagination   Pagination
}

// ListInstitutions reads one page (1-based; 0 is 1) of the institutions
// whose name or url matches s.Name (listInstitutions), with the product
// filters of s as the version has them (SearchInstitutions iterates over
// every page instead). An empty name is refused with ErrEmptySearch.
func (c *Client) ListInstitutions(ctx context.Context, s InstitutionSearch, page int) (*InstitutionsPage, error) {
	const op = "listInstitutions"
	q, err := c.institutionQuery(s)
	if err != nil {
		return nil, fmt.Errorf("mx: %s: %w", op, err)
	}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if s.RecordsPerPage > 0 {
		q.Set("records_per_page", strconv.Itoa(s.RecordsPerPage))
	}
	var out struct {
		Institutions []Institution `json:"institutions"`
		Pagination   Pagination    `json:"pagination"`
	}
	if _, err := c.do(ctx, op, http.MethodGet, "/institutions", q, nil, &out, nil); err != nil {
		return nil, err
	}
	if out.Institutions == nil {
		out.Institutions = []Institution{}
	}
	return &InstitutionsPage{Institutions: out.Institutions, Pagination: out.Pagination}, nil
}

// ReadInstitution reads one institution by code (readInstitution).
func (c *Client) ReadInstitution(ctx context.Context, code string) (*Institution, error) {
	var out struct {
		Institution Institution `json:"institution"`
	}
	if _, err := c.do(ctx, "readInstitution", http.MethodGet, "/institutions/"+seg(code), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out.Institution, nil
}

// InstitutionCredentials lists the credentials an institution requires
// (listInstitutionCredentials). An unknown code is a 404.
func (c *Client) InstitutionCredentials(ctx context.Context, code string) iter.Seq2[Credential, error] {
	return list[Credential](c, ctx, "listInstitutionCredentials", "/institutions/"+seg(code)+"/credentials", "credentials", nil, 0)
}

// CreateMember connects a user to an institution (createMember). MX answers
// 200 or 202 (v20250224 adds 201: created, but a product of data_request
// failed, reported as Member.ProductsFailed); a 409 is a duplicate member
// (IsDuplicateMember). opts may carry CallbackPayload.
//
// With m.IsOAuth the member is created without credentials and waits
// PENDING for the end user at Member.OAuthWindowURI; m.OAuth shapes where
// MX sends the end user afterwards.
func (c *Client) CreateMember(ctx context.Context, userGUID string, m MemberCreate, opts ...CallOption) (*Member, error) {
	const op = "createMember"
	switch {
	case m.IsOAuth && len(m.Credentials) > 0:
		return nil, fmt.Errorf("mx: %s: an OAuth member takes no credentials (the end user authorizes at the institution)", op)
	case m.OAuth.SkipAggregation:
		return nil, fmt.Errorf("mx: %s: OAuthOptions.SkipAggregation belongs to requestOAuthWindowURI; on create use MemberCreate.SkipAggregation (%s) or data_request products (%s)", op, V20111101, V20250224)
	}
	if m.Credentials == nil {
		m.Credentials = []CredentialValue{} // required by both specs, even for OAuth
	}
	type oauthBody struct {
		ClientRedirectURL         string `json:"client_redirect_url,omitempty"`
		EnableApp2App             *bool  `json:"enable_app2app,omitempty"`
		ReferralSource            string `json:"referral_source,omitempty"`
		UIMessageWebviewURLScheme string `json:"ui_message_webview_url_scheme,omitempty"`
	}
	ob := oauthBody{m.OAuth.ClientRedirectURL, m.OAuth.EnableApp2App, m.OAuth.ReferralSource, m.OAuth.UIMessageWebviewURLScheme}
	var body any
	switch {
	case c.version == V20111101 && len(m.Products) > 0:
		return nil, fmt.Errorf("mx: %s: data_request.products needs API version %s (the client speaks %s)", op, V20250224, c.version)
	case c.version == V20111101:
		body = struct {
			Member MemberCreate `json:"member"`
			oauthBody
		}{m, ob}
	case m.SkipAggregation:
		return nil, fmt.Errorf("mx: %s: skip_aggregation does not exist in %s: name the products to aggregate instead", op, c.version)
	default:
		var dr *DataRequest
		if len(m.Products) > 0 {
			dr = &DataRequest{Products: m.Products}
		}
		body = struct {
			Member      MemberCreate `json:"member"`
			DataRequest *DataRequest `json:"data_request,omitempty"`
			oauthBody
		}{m, dr, ob}
	}
	hdr, err := callHeaders(op, opts)
	if err != nil {
		return nil, err
	}
	var out struct {
		Member Member `json:"member"`
	}
	status, err := c.do(ctx, op, http.MethodPost, "/users/"+seg(userGUID)+"/members", nil, body, &out, hdr)
	if err != nil {
		return nil, err
	}
	out.Member.ProductsFailed = status == http.StatusCreated
	return &out.Member, nil
}

// RequestOAuthWindowURI asks MX for a new oauth_window_uri for an OAuth
// member (requestOAuthWindowURI, the same in both versions): the page where
// the end user authorizes MX at the institution. MX's OAuth guides:
// "oauth_window_uris are one-time use"; ask again for a fresh one. o's
// fields go out as the query parameters the spec documents
// (client_redirect_url, enable_app2app, referral_source, skip_aggregation,
// ui_message_webview_url_scheme); unset ones are not sent.
func (c *Client) RequestOAuthWindowURI(ctx context.Context, userGUID, memberGUID string, o OAuthOptions) (*OAuthWindow, error) {
	q := url.Values{}
	if o.ClientRedirectURL != "" {
		q.Set("client_redirect_url", o.ClientRedirectURL)
	}
	if o.EnableApp2App != nil {
		q.Set("enable_app2app", strconv.FormatBool(*o.EnableApp2App))
	}
	if o.ReferralSource != "" {
		q.Set("referral_source", o.ReferralSource)
	}
	if o.SkipAggregation {
		q.Set("skip_aggregation", "true")
	}
	if o.UIMessageWebviewURLScheme != "" {
		q.Set("ui_message_webview_url_scheme", o.UIMessageWebviewURLScheme)
	}
	var out struct {
		Member OAuthWindow `json:"member"`
	}
	if _, err := c.do(ctx, "requestOAuthWindowURI", http.MethodGet, memberPath(userGUID, memberGUID)+"/oauth_window_uri", q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out.Member, nil
}

// CallOption sets an optional request header of a call.
type CallOption func(h http.Header) error

// MaxCallbackPayload is the longest X-CALLBACK-PAYLOAD MX takes (1024
// base64 characters), in bytes before encoding.
const MaxCallbackPayload = 1024 / 4 * 3

// CallbackPayload sends payload, base64-encoded, as X-CALLBACK-PAYLOAD
// (createMember, updateMember, verifyMember, aggregateMember). MX returns it
// as a header of the member and member-data-updated webhooks that the call
// causes, so a webhook can be traced to what asked for it.
func CallbackPayload(payload string) CallOption {
	return func(h http.Header) error {
		if len(payload) > MaxCallbackPayload {
			return fmt.Errorf("X-CALLBACK-PAYLOAD: %d bytes, at most %d (1024 base64 characters)", len(payload), MaxCallbackPayload)
		}
		h.Set("X-CALLBACK-PAYLOAD", base64.StdEncoding.EncodeToString([]byte(payload)))
		return nil
	}
}

func callHeaders(op string, opts []CallOption) (http.Header, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	h := http.Header{}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, fmt.Errorf("mx: %s: %w", op, err)
		}
	}
	return h, nil
}

// ReadMember reads a member (readMember).
func (c *Client) ReadMember(ctx context.Context, userGUID, memberGUID string) (*Member, error) {
	return c.member(ctx, "readMember", http.MethodGet, memberPath(userGUID, memberGUID), nil)
}

// Members lists a user's members (listMembers).
func (c *Client) Members(ctx context.Context, userGUID string) iter.Seq2[Member, error] {
	return list[Member](c, ctx, "listMembers", "/users/"+seg(userGUID)+"/members", "members", nil, 0)
}

// UpdateMember updates a member (updateMember). New credentials start an
// aggregation (unless SkipAggregation is set, which only v20111101 has).
// opts may carry CallbackPayload.
func (c *Client) UpdateMember(ctx context.Context, userGUID, memberGUID string, m MemberUpdate, opts ...CallOption) (*Member, error) {
	if m.SkipAggregation && c.version != V20111101 {
		return nil, fmt.Errorf("mx: updateMember: skip_aggregation does not exist in %s", c.version)
	}
	return c.member(ctx, "updateMember", http.MethodPut, memberPath(userGUID, memberGUID), struct {
		Member MemberUpdate `json:"member"`
	}{m}, opts...)
}

// UpdateMemberCredentials gives an existing member new credentials
// (updateMember) for re-authentication: same member guid, no new member.
// MX: "This endpoint should be used to update a member's credentials ...
// when the member's connection_status is DENIED or PREVENTED", and "An
// aggregation job will be initiated automatically when a member's
// credentials are updated unless the skip_aggregation field is used to
// prevent it" (docs.mx.com/api-reference/nexus/reference/update-member).
//
// v20111101 sends skip_aggregation: true, so the verify or identify the
// caller starts next is the only job. v20250224's MemberUpdateRequest has
// no skip_aggregation (nor data_request): the update starts a standard
// aggregation that cannot be avoided; a verify or identify started while
// it runs is MX's 409 ("a different job type is already running",
// IsConflict), so the caller waits until the member is not being
// aggregated, and starts its job only if the new credentials connected.
// opts may carry CallbackPayload.
func (c *Client) UpdateMemberCredentials(ctx context.Context, userGUID, memberGUID string, creds []CredentialValue, opts ...CallOption) (*Member, error) {
	if len(creds) == 0 {
		return nil, errors.New("mx: updateMember: no credentials")
	}
	return c.UpdateMember(ctx, userGUID, memberGUID, MemberUpdate{Credentials: creds, SkipAggregation: c.version == V20111101}, opts...)
}

// DeleteMember deletes a member (deleteMember).
func (c *Client) DeleteMember(ctx context.Context, userGUID, memberGUID string) error {
	_, err := c.do(ctx, "deleteMember", http.MethodDelete, memberPath(userGUID, memberGUID), nil, nil, nil, nil)
	return err
}

// ReadMemberStatus reads a member's connection status (readMemberStatus).
func (c *Client) ReadMemberStatus(ctx context.Context, userGUID, memberGUID string) (*MemberStatus, error) {
	var out struct {
		Member MemberStatus `json:"member"`
	}
	if _, err := c.do(ctx, "readMemberStatus", http.MethodGet, memberPath(userGUID, memberGUID)+"/status", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out.Member, nil
}

// IdentifyMember starts account-owner identification (identifyMember).
func (c *Client) IdentifyMember(ctx context.Context, userGUID, memberGUID string) (*Member, error) {
	return c.member(ctx, "identifyMember", http.MethodPost, memberPath(userGUID, memberGUID)+"/identify", nil)
}

// StartMemberJob starts the MX job that yields product's data on an
// existing member: verifyMember for account_verification, identifyMember
// for identity_verification. Both keep their shapes in v20250224.
func (c *Client) StartMemberJob(ctx context.Context, userGUID, memberGUID, product string, opts ...CallOption) (*Member, error) {
	switch product {
	case ProductAccountVerification:
		return c.VerifyMember(ctx, userGUID, memberGUID, opts...)
	case ProductIdentityVerification:
		// identifyMember takes no X-CALLBACK-PAYLOAD in either spec.
		return c.IdentifyMember(ctx, userGUID, memberGUID)
	}
	return nil, fmt.Errorf("mx: no member job yields product %q", product)
}

// VerifyMember starts instant account verification (verifyMember). opts
// may carry CallbackPayload.
func (c *Client) VerifyMember(ctx context.Context, userGUID, memberGUID string, opts ...CallOption) (*Member, error) {
	return c.member(ctx, "verifyMember", http.MethodPost, memberPath(userGUID, memberGUID)+"/verify", nil, opts...)
}

// AggregateMember starts a standard aggregation (aggregateMember).
func (c *Client) AggregateMember(ctx context.Context, userGUID, memberGUID string, opts ...CallOption) (*Member, error) {
	return c.member(ctx, "aggregateMember", http.MethodPost, memberPath(userGUID, memberGUID)+"/aggregate", nil, opts...)
}

// Challenges lists a member's outstanding MFA challenges
// (listMemberChallenges). MX answers 204 when the member is not
// challenged: the iterator then yields nothing.
func (c *Client) Challenges(ctx context.Context, userGUID, memberGUID string) iter.Seq2[Challenge, error] {
	return list[Challenge](c, ctx, "listMemberChallenges", memberPath(userGUID, memberGUID)+"/challenges", "challenges", nil, 0)
}

// ResumeMember answers MFA challenges and resumes the aggregation
// (resumeAggregation). The answers are never logged.
func (c *Client) ResumeMember(ctx context.Context, userGUID, memberGUID string, answers []ChallengeAnswer) (*Member, error) {
	if len(answers) == 0 {
		return nil, errors.New("mx: resumeAggregation: no answers")
	}
	type body struct {
		Challenges []ChallengeAnswer `json:"challenges"`
	}
	return c.member(ctx, "resumeAggregation", http.MethodPut, memberPath(userGUID, memberGUID)+"/resume", struct {
		Member body `json:"member"`
	}{body{answers}})
}

func (c *Client) member(ctx context.Context, op, method, path string, in any, opts ...CallOption) (*Member, error) {
	hdr, err := callHeaders(op, opts)
	if err != nil {
		return nil, err
	}
	var out struct {
		Member Member `json:"member"`
	}
	if _, err := c.do(ctx, op, method, path, nil, in, &out, hdr); err != nil {
		return nil, err
	}
	return &out.Member, nil
}

// AccountOwners lists the account owners MX identified on a member
// (listAccountOwnersByMember).
func (c *Client) AccountOwners(ctx context.Context, userGUID, memberGUID string) iter.Seq2[AccountOwner, error] {
	return list[AccountOwner](c, ctx, "listAccountOwnersByMember", memberPath(userGUID, memberGUID)+"/account_owners", "account_owners", nil, 0)
}

// AccountNumbers lists the account and routing numbers verified on a member
// (listAccountNumbersByMember).
func (c *Client) AccountNumbers(ctx context.Context, userGUID, memberGUID string) iter.Seq2[AccountNumber, error] {
	return list[AccountNumber](c, ctx, "listAccountNumbersByMember", memberPath(userGUID, memberGUID)+"/account_numbers", "account_numbers", nil, 0)
}

// AccountNumbersByAccount lists the numbers of one account
// (listAccountNumbersByAccount).
func (c *Client) AccountNumbersByAccount(ctx context.Context, userGUID, accountGUID string) iter.Seq2[AccountNumber, error] {
	return list[AccountNumber](c, ctx, "listAccountNumbersByAccount", "/users/"+seg(userGUID)+"/accounts/"+seg(accountGUID)+"/account_numbers", "account_numbers", nil, 0)
}

// RequestWidgetURL asks for a Connect widget URL (requestWidgetURL). The URL
// is valid for 10 minutes or one use.
func (c *Client) RequestWidgetURL(ctx context.Context, userGUID string, w WidgetURLRequest) (*WidgetURL, error) {
	if w.WidgetType == "" {
		w.WidgetType = "connect_widget"
	}
	switch {
	case c.version == V20111101 && w.DataRequest != nil:
		return nil, fmt.Errorf("mx: requestWidgetURL: data_request needs API version %s (the client speaks %s)", V20250224, c.version)
	case c.version != V20111101:
		// v20250224 names products instead of the mode and its include_*
		// switches (MX's migration guide).
		if w.DataRequest == nil {
			var products []string
			if w.Mode == "verification" {
				products = append(products, ProductAccountVerification)
			}
			if w.IncludeIdentity != nil && *w.IncludeIdentity {
				products = append(products, ProductIdentityVerification)
			}
			if w.IncludeTransactions != nil && *w.IncludeTransactions {
				products = append(products, ProductTransactions)
			}
			if len(products) > 0 {
				w.DataRequest = &DataRequest{Products: products}
			}
		}
		w.Mode, w.IncludeIdentity, w.IncludeTransactions, w.DisableBackgroundAgg = "", nil, nil, nil
	}
	var hdr http.Header
	if w.Language != "" {
		hdr = http.Header{"Accept-Language": {w.Language}}
	}
	var out struct {
		WidgetURL WidgetURL `json:"widget_url"`
	}
	if _, err := c.do(ctx, "requestWidgetURL", http.MethodPost, "/users/"+seg(userGUID)+"/widget_urls", nil, struct {
		WidgetURL WidgetURLRequest `json:"widget_url"`
	}{w}, &out, hdr); err != nil {
		return nil, err
	}
	return &out.WidgetURL, nil
}
