package mxsim

// The JSON shapes of MX's responses (components/schemas of the OpenAPI
// documents of v20111101 and v20250224; where the two differ, the type
// says so). Nullable fields the simulator has no value for are pointers
// and go out as null; arrays the spec does not mark nullable are sent
// empty or left out, never null.

type errorJSON struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

type paginationJSON struct {
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalEntries int `json:"total_entries"`
	TotalPages   int `json:"total_pages"`
}

// userJSON is UserResponse. In v20250224 email is not nullable: a user
// without one is sent without the field (userV2JSON).
type userJSON struct {
	Email      *string `json:"email"`
	GUID       string  `json:"guid"`
	ID         *string `json:"id"`
	IsDisabled bool    `json:"is_disabled"`
	Metadata   *string `json:"metadata"`
}

// userV2JSON is v20250224's UserResponse.
type userV2JSON struct {
	Email      *string `json:"email,omitempty"`
	GUID       string  `json:"guid"`
	ID         *string `json:"id"`
	IsDisabled bool    `json:"is_disabled"`
	Metadata   *string `json:"metadata"`
}

// institutionV2JSON is v20250224's InstitutionResponse.
type institutionV2JSON struct {
	Code                   string   `json:"code"`
	CreatedAt              string   `json:"created_at"`
	ForgotPasswordURL      string   `json:"forgot_password_url"`
	ForgotUsernameURL      string   `json:"forgot_username_url"`
	GUID                   string   `json:"guid"`
	InstructionalText      string   `json:"instructional_text"`
	InstructionalTextSteps []string `json:"instructional_text_steps"`
	IsDisabledByClient     bool     `json:"is_disabled_by_client"`
	IsHidden               bool     `json:"is_hidden"`
	IsoCountryCode         string   `json:"iso_country_code"`
	MediumLogoURL          string   `json:"medium_logo_url"`
	Name                   string   `json:"name"`
	SmallLogoURL           string   `json:"small_logo_url"`
	SupportedProducts      []string `json:"supported_products"`
	SupportsOAuth          bool     `json:"supports_oauth"`
	SupportsTaxDocument    bool     `json:"supports_tax_document"`
	TroubleSigningInURL    string   `json:"trouble_signing_in_url"`
	URL                    string   `json:"url"`
}

// institutionJSON is v20111101's InstitutionResponse.
type institutionJSON struct {
	Code                          string   `json:"code"`
	ForgotPasswordURL             string   `json:"forgot_password_url"`
	ForgotUsernameURL             string   `json:"forgot_username_url"`
	InstructionalText             string   `json:"instructional_text"`
	InstructionalTextSteps        []string `json:"instructional_text_steps"`
	IsDisabledByClient            bool     `json:"is_disabled_by_client"`
	IsoCountryCode                string   `json:"iso_country_code"`
	MediumLogoURL                 string   `json:"medium_logo_url"`
	Name                          string   `json:"name"`
	SmallLogoURL                  string   `json:"small_logo_url"`
	SupportsAccountIdentification bool     `json:"supports_account_identification"`
	SupportsAccountStatement      bool     `json:"supports_account_statement"`
	SupportsAccountVerification   bool     `json:"supports_account_verification"`
	SupportsOAuth                 bool     `json:"supports_oauth"`
	SupportsTaxDocument           bool     `json:"supports_tax_document"`
	SupportsTransactionHistory    bool     `json:"supports_transaction_history"`
	TroubleSigningInURL           string   `json:"trouble_signing_in_url"`
	URL                           string   `json:"url"`
}

// credentialJSON is CredentialResponse.
type credentialJSON struct {
	DisplayOrder int    `json:"display_order"`
	FieldName    string `json:"field_name"`
	FieldType    string `json:"field_type"`
	GUID         string `json:"guid"`
	Label        string `json:"label"`
	Type         string `json:"type"`
}

// memberJSON is MemberResponse. most_recent_job_detail_text is typed
// boolean in both specs, and most_recent_job_guid in v20111101's (a spec
// bug that v20250224 corrects to string), so they are null there;
// v20250224 gets the guid of the member's most recent job (a string, or
// null before any).
type memberJSON struct {
	AggregatedAt                    *string  `json:"aggregated_at"`
	BackgroundAggregationIsDisabled bool     `json:"background_aggregation_is_disabled"`
	ConnectionStatus                string   `json:"connection_status"`
	ConnectionStatusMessage         string   `json:"connection_status_message"`
	GUID                            string   `json:"guid"`
	ID                              *string  `json:"id"`
	InstitutionCode                 string   `json:"institution_code"`
	InstitutionGUID                 string   `json:"institution_guid"`
	IsBeingAggregated               bool     `json:"is_being_aggregated"`
	IsManagedByUser                 bool     `json:"is_managed_by_user"`
	IsManual                        bool     `json:"is_manual"`
	IsOAuth                         bool     `json:"is_oauth"`
	Metadata                        *string  `json:"metadata"`
	MostRecentJobDetailCode         *int     `json:"most_recent_job_detail_code"`
	MostRecentJobDetailText         *bool    `json:"most_recent_job_detail_text"`
	MostRecentJobGUID               *string  `json:"most_recent_job_guid"`
	Name                            string   `json:"name"`
	NeedsUpdatedCredentials         bool     `json:"needs_updated_credentials"`
	OAuthWindowURI                  *string  `json:"oauth_window_uri"`
	SuccessfullyAggregatedAt        *string  `json:"successfully_aggregated_at"`
	UseCases                        []string `json:"use_cases"`
	UserGUID                        string   `json:"user_guid"`
	UserID                          *string  `json:"user_id"`
}

// memberStatusJSON is MemberStatusResponse; challenges only when
// CHALLENGED, each a statusTextChallengeJSON (TEXT) or a challengeJSON.
type memberStatusJSON struct {
	AggregatedAt               *string `json:"aggregated_at"`
	Challenges                 []any   `json:"challenges,omitempty"`
	ConnectionStatus           string  `json:"connection_status"`
	GUID                       string  `json:"guid"`
	HasProcessedAccountNumbers bool    `json:"has_processed_account_numbers"`
	HasProcessedAccounts       bool    `json:"has_processed_accounts"`
	HasProcessedTransactions   bool    `json:"has_processed_transactions"`
	IsAuthenticated            bool    `json:"is_authenticated"`
	IsBeingAggregated          bool    `json:"is_being_aggregated"`
	SuccessfullyAggregatedAt   *string `json:"successfully_aggregated_at"`
}

// challengeJSON is ChallengeResponse: options only for OPTIONS,
// image_options only for IMAGE_OPTIONS, image_data only for IMAGE_DATA.
type challengeJSON struct {
	FieldName    string            `json:"field_name"`
	GUID         string            `json:"guid"`
	ImageData    *string           `json:"image_data"`
	ImageOptions []imageOptionJSON `json:"image_options,omitempty"`
	Label        string            `json:"label"`
	Options      []optionJSON      `json:"options,omitempty"`
	Type         string            `json:"type"`
}

// statusTextChallengeJSON is a TEXT challenge in the read member status
// response as MX's MFA guide shows it (docs.mx.com/aggregation/guides/mfa,
// docs.mx.com/products/connectivity/overview/mfa): {"field_name":null,
// "guid":"CRD-…","label":"What city were you born in?","type":0}. The
// integer type is MX's documented wire value, against the spec's string
// type; every other challenge, and every challenge of GET …/challenges,
// is a challengeJSON with the spec's string type.
type statusTextChallengeJSON struct {
	FieldName *string `json:"field_name"`
	GUID      string  `json:"guid"`
	Label     string  `json:"label"`
	Type      int     `json:"type"`
}

// statusChallenges are the challenges as the read member status response
// writes them.
func statusChallenges(chs []challengeJSON) []any {
	out := make([]any, 0, len(chs))
	for _, ch := range chs {
		if ch.Type == "TEXT" {
			out = append(out, statusTextChallengeJSON{GUID: ch.GUID, Label: ch.Label, Type: 0})
			continue
		}
		out = append(out, ch)
	}
	return out
}

// optionJSON is OptionResponse.
type optionJSON struct {
	GUID  string `json:"guid"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// imageOptionJSON is ImageOptionResponse.
type imageOptionJSON struct {
	DataURI string `json:"data_uri"`
	GUID    string `json:"guid"`
	Label   string `json:"label"`
	Value   string `json:"value"`
}

// accountOwnerJSON is AccountOwnerResponse, every field filled.
type accountOwnerJSON struct {
	AccountGUID string `json:"account_guid"`
	Address     string `json:"address"`
	City        string `json:"city"`
	Country     string `json:"country"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	GUID        string `json:"guid"`
	LastName    string `json:"last_name"`
	MemberGUID  string `json:"member_guid"`
	OwnerName   string `json:"owner_name"`
	Phone       string `json:"phone"`
	PostalCode  string `json:"postal_code"`
	State       string `json:"state"`
	UserGUID    string `json:"user_guid"`
}

// accountNumberJSON is AccountNumberResponse; the Canadian and loan fields
// are null for these US deposit accounts.
type accountNumberJSON struct {
	AccountGUID         string  `json:"account_guid"`
	AccountNumber       string  `json:"account_number"`
	GUID                string  `json:"guid"`
	InstitutionNumber   *string `json:"institution_number"`
	LoanGuarantor       *string `json:"loan_guarantor"`
	LoanReferenceNumber *string `json:"loan_reference_number"`
	MemberGUID          string  `json:"member_guid"`
	PassedValidation    bool    `json:"passed_validation"`
	RoutingNumber       string  `json:"routing_number"`
	SequenceNumber      *string `json:"sequence_number"`
	TransitNumber       *string `json:"transit_number"`
	UserGUID            string  `json:"user_guid"`
}

// widgetURLJSON is WidgetResponse.
type widgetURLJSON struct {
	Type   string  `json:"type"`
	URL    string  `json:"url"`
	UserID *string `json:"user_id"`
}

// nullable is nil for "" (sent as null), else a pointer to s.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
