package mx

// Wire types of the MX Platform API (v20250224 and v20111101), written from
// MX's OpenAPI specs (components/schemas) and the shapes MX's guides show. Every field MX declares nullable decodes a JSON
// null to the Go zero value. Request types carry omitempty so that only the
// fields a caller sets are sent.

// User is MX's UserResponse.
type User struct {
	GUID       string `json:"guid"`
	ID         string `json:"id"`
	Email      string `json:"email"`
	IsDisabled bool   `json:"is_disabled"`
	Metadata   string `json:"metadata"`
}

// UserCreate is the body of createUser (UserCreateRequest). MX refuses an
// empty user object.
type UserCreate struct {
	ID         string `json:"id,omitempty"`
	Email      string `json:"email,omitempty"`
	IsDisabled bool   `json:"is_disabled,omitempty"`
	Metadata   string `json:"metadata,omitempty"`
}

// Institution is MX's InstitutionResponse. GUID, CreatedAt and IsHidden
// are v20250224's; the supports_account_* and supports_transaction_history
// booleans are v20111101's (deprecated in v20250224, whose spec no longer
// has them): use Supports. SupportsOAuth is in both.
type Institution struct {
	Code                          string   `json:"code"`
	GUID                          string   `json:"guid"`
	CreatedAt                     string   `json:"created_at"`
	IsHidden                      bool     `json:"is_hidden"`
	Name                          string   `json:"name"`
	URL                           string   `json:"url"`
	ForgotPasswordURL             string   `json:"forgot_password_url"`
	ForgotUsernameURL             string   `json:"forgot_username_url"`
	TroubleSigningInURL           string   `json:"trouble_signing_in_url"`
	InstructionalText             string   `json:"instructional_text"`
	MediumLogoURL                 string   `json:"medium_logo_url"`
	SmallLogoURL                  string   `json:"small_logo_url"`
	SupportsAccountIdentification bool     `json:"supports_account_identification"`
	SupportsAccountStatement      bool     `json:"supports_account_statement"`
	SupportsAccountVerification   bool     `json:"supports_account_verification"`
	SupportsOAuth                 bool     `json:"supports_oauth"`
	SupportsTaxDocument           bool     `json:"supports_tax_document"`
	SupportsTransactionHistory    bool     `json:"supports_transaction_history"`
	IsDisabledByClient            bool     `json:"is_disabled_by_client"`
	IsoCountryCode                string   `json:"iso_country_code"`
	InstructionalTextSteps        []string `json:"instructional_text_steps"`
	// SupportedProducts is v20250224's list of products (account_verification,
	// identity_verification, …); the supports_* booleans are deprecated there.
	SupportedProducts []string `json:"supported_products"`
}

// Supports tells whether the institution offers a product: by
// supported_products when MX sent it (v20250224), else by v20111101's
// booleans.
func (in *Institution) Supports(product string) bool {
	if in.SupportedProducts != nil {
		for _, p := range in.SupportedProducts {
			if p == product {
				return true
			}
		}
		return false
	}
	switch product {
	case ProductAccountVerification:
		return in.SupportsAccountVerification
	case ProductIdentityVerification:
		return in.SupportsAccountIdentification
	case ProductTransactionHistory:
		return in.SupportsTransactionHistory
	case ProductStatements:
		return in.SupportsAccountStatement
	}
	return false
}

// InstitutionSearch holds the listInstitutions filters. Name matches an
// institution's name or url; MX answers 400 to a search without one, so the
// client refuses it locally (ErrEmptySearch).
type InstitutionSearch struct {
	Name                          string
	SupportsAccountIdentification bool
	SupportsAccountVerification   bool
	RecordsPerPage                int // 10..100; 0 means MX's default (25)
}

// Credential is MX's CredentialResponse: one field an institution requires.
// Both specs give exactly these fields; neither has options for a field
// (choices are asked as MFA challenges, ChallengeOption). Ask for the
// fields in DisplayOrder, labelled by Label; send each value by GUID.
type Credential struct {
	GUID         string    `json:"guid"`
	FieldName    string    `json:"field_name"`
	FieldType    FieldType `json:"field_type"`
	Type         FieldType `json:"type"`
	Label        string    `json:"label"`
	DisplayOrder int       `json:"display_order"`
}

// CredentialValue is one credential sent with createMember or updateMember
// (CredentialRequest). Value is a secret: it is never logged.
type CredentialValue struct {
	GUID  string `json:"guid"`
	Value string `json:"value"`
}

// MemberCreate is what createMember sends: the member object
// (MemberCreateRequest) and, in v20250224, the data request.
//
// In v20250224 MX starts aggregating the Products as soon as the member is
// created ("Once you successfully create a member, MX will immediately
// validate the provided credentials and attempt to aggregate data",
// docs.mx.com/api-reference/platform-api/reference/create-member), and
// skip_aggregation no longer exists. In v20111101 Products must be empty;
// SkipAggregation stops the standard aggregation a create starts.
//
// An OAuth member (IsOAuth) has no credentials: MX's OAuth guides ("you
// cannot include end-user credentials in your request body when creating an
// OAuth member", docs.mx.com/resources/oauth-guide/oauth-in-mobile-apps).
// Both specs mark credentials required, so it goes out as an empty array.
// The member then waits PENDING until the end user authorizes at its
// oauth_window_uri (Member.OAuthWindowURI, or RequestOAuthWindowURI).
type MemberCreate struct {
	InstitutionCode                 string            `json:"institution_code"`
	Credentials                     []CredentialValue `json:"credentials"`
	IsOAuth                         bool              `json:"is_oauth,omitempty"`
	ID                              string            `json:"id,omitempty"`
	Metadata                        string            `json:"metadata,omitempty"`
	SkipAggregation                 bool              `json:"skip_aggregation,omitempty"` // v20111101 only
	BackgroundAggregationIsDisabled bool              `json:"background_aggregation_is_disabled,omitempty"`
	// Products go out as the body's data_request.products (v20250224 only).
	Products []string `json:"-"`
	// OAuth options of the request body (MemberCreateRequestBody, both
	// versions): where MX sends the end user at the end of OAuth.
	OAuth OAuthOptions `json:"-"`
}

// OAuthOptions shape the OAuth window of a member, in createMember's body
// and as the query of requestOAuthWindowURI (both versions).
type OAuthOptions struct {
	// ClientRedirectURL is where MX redirects at the end of OAuth, with
	// query parameters saying how it ended. The spec: "Only available with
	// referral_source=APP".
	ClientRedirectURL string
	// ReferralSource is BROWSER (MX's default) or APP. MX's OAuth in
	// Browsers guide: do not set APP in browser implementations.
	ReferralSource string
	// EnableApp2App false keeps the end user out of the institution's
	// mobile app (MX: "currently only affects Chase institutions"); nil
	// leaves MX's default (true).
	EnableApp2App *bool
	// UIMessageWebviewURLScheme routes the user back to the app (APP only).
	UIMessageWebviewURLScheme string
	// SkipAggregation (requestOAuthWindowURI only) stops the aggregation
	// MX starts by itself once the end user has authorized.
	SkipAggregation bool
}

// OAuthWindow is requestOAuthWindowURI's answer (OAuthWindowResponse).
type OAuthWindow struct {
	GUID           string `json:"guid"`
	OAuthWindowURI string `json:"oauth_window_uri"`
}

// MemberUpdate is the member object of updateMember (MemberUpdateRequest).
type MemberUpdate struct {
	Credentials                     []CredentialValue `json:"credentials,omitempty"`
	ID                              string            `json:"id,omitempty"`
	Metadata                        string            `json:"metadata,omitempty"`
	SkipAggregation                 bool              `json:"skip_aggregation,omitempty"` // v20111101 only
	BackgroundAggregationIsDisabled bool              `json:"background_aggregation_is_disabled,omitempty"`
}

// Member is MX's MemberResponse. most_recent_job_guid is typed boolean in
// v20111101 but carries a JOB- string in practice, so it is not decoded.
type Member struct {
	GUID                            string `json:"guid"`
	ID                              string `json:"id"`
	UserGUID                        string `json:"user_guid"`
	UserID                          string `json:"user_id"`
	InstitutionCode                 string `json:"institution_code"`
	Name                            string `json:"name"`
	Metadata                        string `json:"metadata"`
	ConnectionStatus                string `json:"connection_status"`
	IsBeingAggregated               bool   `json:"is_being_aggregated"`
	IsManagedByUser                 bool   `json:"is_managed_by_user"`
	IsOAuth                         bool   `json:"is_oauth"`
	OAuthWindowURI                  string `json:"oauth_window_uri"`
	NeedsUpdatedCredentials         bool   `json:"needs_updated_credentials"`
	AggregatedAt                    string `json:"aggregated_at"`
	SuccessfullyAggregatedAt        string `json:"successfully_aggregated_at"`
	BackgroundAggregationIsDisabled bool   `json:"background_aggregation_is_disabled"`

	// ProductsFailed is set by CreateMember when MX answered 201: in
	// v20250224 "member created, but one or more products in data_request
	// failed" (MX's create member reference). Not a wire field.
	ProductsFailed bool `json:"-"`
}

// MemberStatus is MX's MemberStatusResponse (readMemberStatus).
type MemberStatus struct {
	GUID                       string      `json:"guid"`
	ConnectionStatus           string      `json:"connection_status"`
	IsAuthenticated            bool        `json:"is_authenticated"`
	IsBeingAggregated          bool        `json:"is_being_aggregated"`
	AggregatedAt               string      `json:"aggregated_at"`
	SuccessfullyAggregatedAt   string      `json:"successfully_aggregated_at"`
	HasProcessedAccountNumbers bool        `json:"has_processed_account_numbers"`
	HasProcessedAccounts       bool        `json:"has_processed_accounts"`
	HasProcessedTransactions   bool        `json:"has_processed_transactions"`
	Challenges                 []Challenge `json:"challenges"`
}

// Challenge is MX's ChallengeResponse: one MFA question.
type Challenge struct {
	GUID         string            `json:"guid"`
	Label        string            `json:"label"`
	FieldName    string            `json:"field_name"`
	Type         ChallengeType     `json:"type"`
	ImageData    string            `json:"image_data,omitempty"`
	Options      []ChallengeOption `json:"options,omitempty"`
	ImageOptions []ImageOption     `json:"image_options,omitempty"`
}

// ChallengeOption is one choice of an OPTIONS challenge; answer with its Value.
type ChallengeOption struct {
	GUID  string `json:"guid,omitempty"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// ImageOption is one choice of an IMAGE_OPTIONS challenge.
type ImageOption struct {
	GUID    string `json:"guid,omitempty"`
	Label   string `json:"label"`
	Value   string `json:"value"`
	DataURI string `json:"data_uri,omitempty"`
}

// ChallengeAnswer answers one challenge in resumeAggregation. Value is a
// secret: it is never logged.
type ChallengeAnswer struct {
	GUID  string `json:"guid"`
	Value string `json:"value"`
}

// AccountOwner is MX's AccountOwnerResponse.
type AccountOwner struct {
	GUID        string `json:"guid"`
	AccountGUID string `json:"account_guid"`
	MemberGUID  string `json:"member_guid"`
	UserGUID    string `json:"user_guid"`
	OwnerName   string `json:"owner_name"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Address     string `json:"address"`
	City        string `json:"city"`
	State       string `json:"state"`
	PostalCode  string `json:"postal_code"`
	Country     string `json:"country"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
}

// AccountNumber is MX's AccountNumberResponse.
type AccountNumber struct {
	GUID                string `json:"guid"`
	AccountGUID         string `json:"account_guid"`
	MemberGUID          string `json:"member_guid"`
	UserGUID            string `json:"user_guid"`
	AccountNumber       string `json:"account_number"`
	RoutingNumber       string `json:"routing_number"`
	InstitutionNumber   string `json:"institution_number"`
	TransitNumber       string `json:"transit_number"`
	PassedValidation    bool   `json:"passed_validation"`
	LoanGuarantor       string `json:"loan_guarantor"`
	LoanReferenceNumber string `json:"loan_reference_number"`
	SequenceNumber      string `json:"sequence_number"`
}

// WidgetURLRequest is the widget_url object of requestWidgetURL
// (WidgetRequest). WidgetType defaults to "connect_widget"; for the fleet,
// Mode is "verification". Pointer booleans distinguish "unset" from false
// where MX's default depends on the mode.
type WidgetURLRequest struct {
	WidgetType string `json:"widget_type"`
	Mode       string `json:"mode,omitempty"` // aggregation | verification (v20111101)
	// DataRequest (v20250224) names the products the widget aggregates; when
	// it is nil the client derives it from Mode and IncludeIdentity, which
	// v20250224 no longer uses (MX's migration guide).
	DataRequest               *DataRequest `json:"data_request,omitempty"`
	ColorScheme               string       `json:"color_scheme,omitempty"` // light | dark | browser
	CurrentMemberGUID         string       `json:"current_member_guid,omitempty"`
	CurrentInstitutionCode    string       `json:"current_institution_code,omitempty"`
	CurrentInstitutionGUID    string       `json:"current_institution_guid,omitempty"`
	UpdateCredentials         bool         `json:"update_credentials,omitempty"`
	IncludeIdentity           *bool        `json:"include_identity,omitempty"`
	IncludeTransactions       *bool        `json:"include_transactions,omitempty"`
	DisableBackgroundAgg      *bool        `json:"disable_background_agg,omitempty"`
	DisableInstitutionSearch  bool         `json:"disable_institution_search,omitempty"`
	ConnectionsUseCaseFilter  *bool        `json:"connections_use_case_filter,omitempty"`
	IsMobileWebview           bool         `json:"is_mobile_webview,omitempty"`
	OAuthReferralSource       string       `json:"oauth_referral_source,omitempty"` // APP | BROWSER
	ClientRedirectURL         string       `json:"client_redirect_url,omitempty"`
	UIMessageWebviewURLScheme string       `json:"ui_message_webview_url_scheme,omitempty"`
	UIMessageVersion          int          `json:"ui_message_version,omitempty"`
	EnableApp2App             *bool        `json:"enable_app2app,omitempty"`
	IsoCountryCode            []string     `json:"iso_country_code,omitempty"`
	UseCases                  []string     `json:"use_cases,omitempty"` // MONEY_MOVEMENT | PFM
	InsightGUID               string       `json:"insight_guid,omitempty"`
	MicrowidgetInstanceID     string       `json:"microwidget_instance_id,omitempty"`
	// Language is sent as the Accept-Language header (e.g. "en-US").
	Language string `json:"-"`
}

// WidgetURL is MX's WidgetResponse.
type WidgetURL struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	UserID string `json:"user_id"`
}

// Pagination is MX's PaginationResponse.
type Pagination struct {
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalEntries int `json:"total_entries"`
	TotalPages   int `json:"total_pages"`
}
