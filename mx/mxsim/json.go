package mxsim

// The JSON shapes of MX's v20111101 responses (components/schemas of the
// OpenAPI document). Nullable fields the simulator has no value for are
// pointers and go out as null; arrays the spec does not mark nullable are
// sent empty or left out, never null.

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

// userJSON is UserResponse.
type userJSON struct {
	Email      *string `json:"email"`
	GUID       string  `json:"guid"`
	ID         *string `json:"id"`
	IsDisabled bool    `json:"is_disabled"`
	Metadata   *string `json:"metadata"`
}

// institutionJSON is InstitutionResponse.
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

// memberJSON is MemberResponse. most_recent_job_guid and
// most_recent_job_detail_text are typed boolean in this version of the
// spec (a spec bug), so they are always null.
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
	MostRecentJobGUID               *bool    `json:"most_recent_job_guid"`
	Name                            string   `json:"name"`
	NeedsUpdatedCredentials         bool     `json:"needs_updated_credentials"`
	OAuthWindowURI                  *string  `json:"oauth_window_uri"`
	SuccessfullyAggregatedAt        *string  `json:"successfully_aggregated_at"`
	UseCases                        []string `json:"use_cases"`
	UserGUID                        string   `json:"user_guid"`
	UserID                          *string  `json:"user_id"`
}

// memberStatusJSON is MemberStatusResponse; challenges only when CHALLENGED.
type memberStatusJSON struct {
	AggregatedAt               *string         `json:"aggregated_at"`
	Challenges                 []challengeJSON `json:"challenges,omitempty"`
	ConnectionStatus           string          `json:"connection_status"`
	GUID                       string          `json:"guid"`
	HasProcessedAccountNumbers bool            `json:"has_processed_account_numbers"`
	HasProcessedAccounts       bool            `json:"has_processed_accounts"`
	HasProcessedTransactions   bool            `json:"has_processed_transactions"`
	IsAuthenticated            bool            `json:"is_authenticated"`
	IsBeingAggregated          bool            `json:"is_being_aggregated"`
	SuccessfullyAggregatedAt   *string         `json:"successfully_aggregated_at"`
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
