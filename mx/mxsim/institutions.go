package mxsim

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// institution is a bank the simulator knows, with its login fields.
type institution struct {
	guid                 string
	code, name, url      string
	supportsVerification bool
	supportsIdentify     bool
	supportsOAuth        bool
	credentials          []credential
	timing               *timing // run lengths (timing.go); nil: fixed
}

// credential is one login field of an institution.
type credential struct {
	guid, fieldName, fieldType, label string
	displayOrder                      int
}

// MX Bank's credential guids, as MX's own SDK samples use them.
const (
	mxbankUsernameGUID = "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1"
	mxbankPasswordGUID = "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d"
)

// The field names of the login fields: MX's, from the spec's
// CredentialResponse example (field_name LOGIN, label Username, field_type
// TEXT). The simulator finds a member's username and password by them.
const (
	fieldLogin    = "LOGIN"
	fieldPassword = "PASSWORD"
)

// loginFields are the username and password fields with the given guids.
func loginFields(userGUID, passGUID string) []credential {
	return []credential{
		{guid: userGUID, fieldName: fieldLogin, fieldType: "TEXT", label: "Username", displayOrder: 1},
		{guid: passGUID, fieldName: fieldPassword, fieldType: "PASSWORD", label: "Password", displayOrder: 2},
	}
}

// fixedGUID derives a stable, uuid-shaped guid from a seed.
func fixedGUID(prefix, seed string) string {
	h := fnv.New128a()
	h.Write([]byte(seed))
	b := h.Sum(nil)
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newInstitutions is the simulator's institution list, in search order.
func newInstitutions() []*institution {
	insts := []*institution{
		{guid: fixedGUID("INS", "mxbank"), code: "mxbank", name: "MX Bank", url: "https://www.mxbank.com",
			supportsVerification: true, supportsIdentify: true,
			credentials: loginFields(mxbankUsernameGUID, mxbankPasswordGUID)},
		// MX's one OAuth test institution (docs.mx.com/oauth/guides/introduction:
		// "there is only one OAuth institution available in the integrations
		// environment: mx_bank_oauth"). Its name and its empty credential
		// list are the simulator's own: an OAuth member has no credentials.
		{guid: fixedGUID("INS", "mx_bank_oauth"), code: "mx_bank_oauth", name: "MX Bank (OAuth)", url: "https://oauth.mxbank.com",
			supportsVerification: true, supportsIdentify: true, supportsOAuth: true, credentials: []credential{}},
		{guid: fixedGUID("INS", "mxbank_noid"), code: "mxbank_noid", name: "MX Bank (no identification)", url: "https://noid.mxbank.com",
			supportsVerification: true,
			credentials:          loginFields(fixedGUID("CRD", "mxbank_noid/username"), fixedGUID("CRD", "mxbank_noid/password"))},
		// An institution without instant account verification (identity
		// only): MX answers a verify there as for any institution whose
		// supported_products lacks account_verification (v20250224: 201,
		// the product failed; v20111101: 400). The bank is the simulator's
		// own; it is where verify jobs fall back to micro-deposits.
		{guid: fixedGUID("INS", "mxbank_noverify"), code: "mxbank_noverify", name: "MX Bank (no verification)", url: "https://noverify.mxbank.com",
			supportsIdentify: true,
			credentials:      loginFields(fixedGUID("CRD", "mxbank_noverify/username"), fixedGUID("CRD", "mxbank_noverify/password"))},
	}
	// Filler banks, for paging and variety. MX's institutions overview
	// (docs.mx.com/api-reference/platform-api/reference/institutions): "Each
	// institution can offer multiple connection methods such as: An email
	// and a password; A username and a password; OAuth". So every fifth
	// logs in with an email (label Email; its field_name LOGIN is the
	// simulator's guess), every fourth also offers OAuth, every third lacks
	// identification: the choice of which is the simulator's own.
	for i := 1; i <= 30; i++ {
		code := fmt.Sprintf("filler_bank_%02d", i)
		fields := loginFields(fixedGUID("CRD", code+"/username"), fixedGUID("CRD", code+"/password"))
		if i%5 == 0 {
			fields[0].label = "Email"
		}
		insts = append(insts, &institution{
			guid: fixedGUID("INS", code), code: code,
			name: fmt.Sprintf("Filler Bank %02d", i), url: fmt.Sprintf("https://www.fillerbank%02d.example.com", i),
			supportsVerification: true, supportsIdentify: i%3 != 0, supportsOAuth: i%4 == 0,
			credentials: fields,
		})
	}
	return insts
}

func (in *institution) credentialByGUID(guid string) (credential, bool) {
	for _, c := range in.credentials {
		if c.guid == guid {
			return c, true
		}
	}
	return credential{}, false
}

// credentialByName finds a login field by what a caller calls it: its
// label ("username" matches label "Username") or its field_name, case
// insensitively.
func (in *institution) credentialByName(name string) (credential, bool) {
	for _, c := range in.credentials {
		if strings.EqualFold(c.label, name) || strings.EqualFold(c.fieldName, name) {
			return c, true
		}
	}
	return credential{}, false
}

// Products of v20250224 (the spec's SupportedProducts).
const (
	productAccountVerification  = "account_verification"
	productIdentityVerification = "identity_verification"
	productTransactions         = "transactions"
	productTransactionHistory   = "transaction_history"
	productStatements           = "statements"
	productInvestments          = "investments"
	productRewards              = "rewards"
)

// products are v20250224's products, in the spec's order.
var products = []string{productAccountVerification, productIdentityVerification, productTransactions,
	productTransactionHistory, productStatements, productInvestments, productRewards}

// supportedProducts is the institution's supported_products: verification
// and identification as it supports them, transactions and history always,
// never statements, investments or rewards (the simulator has none).
func (in *institution) supportedProducts() []string {
	var out []string
	if in.supportsVerification {
		out = append(out, productAccountVerification)
	}
	if in.supportsIdentify {
		out = append(out, productIdentityVerification)
	}
	return append(out, productTransactions, productTransactionHistory)
}

func (in *institution) supportsProduct(p string) bool {
	return slices.Contains(in.supportedProducts(), p)
}

// institutionCreatedAt is every institution's created_at (v20250224).
var institutionCreatedAt = time.Date(2016, 10, 13, 18, 7, 57, 0, time.UTC)

// json is the institution as InstitutionResponse of the version: in
// v20111101 with the supports_* booleans, in v20250224 with guid,
// created_at, is_hidden and supported_products instead (its schema has no
// supports_account_* or supports_transaction_history).
func (in *institution) json(version string) any {
	if version == VersionCurrent {
		return institutionV2JSON{
			Code:                   in.code,
			CreatedAt:              *timestamp(institutionCreatedAt),
			ForgotPasswordURL:      in.url + "/forgot-password",
			ForgotUsernameURL:      in.url + "/forgot-username",
			GUID:                   in.guid,
			InstructionalText:      in.instructionalText(),
			InstructionalTextSteps: instructionalSteps(),
			IsDisabledByClient:     false,
			IsHidden:               false,
			IsoCountryCode:         "US",
			MediumLogoURL:          mediumLogoURL,
			Name:                   in.name,
			SmallLogoURL:           smallLogoURL,
			SupportedProducts:      in.supportedProducts(),
			SupportsOAuth:          in.supportsOAuth,
			SupportsTaxDocument:    false,
			TroubleSigningInURL:    in.url + "/login-trouble",
			URL:                    in.url,
		}
	}
	return institutionJSON{
		Code:                          in.code,
		ForgotPasswordURL:             in.url + "/forgot-password",
		ForgotUsernameURL:             in.url + "/forgot-username",
		InstructionalText:             in.instructionalText(),
		InstructionalTextSteps:        instructionalSteps(),
		IsDisabledByClient:            false,
		IsoCountryCode:                "US",
		MediumLogoURL:                 mediumLogoURL,
		Name:                          in.name,
		SmallLogoURL:                  smallLogoURL,
		SupportsAccountIdentification: in.supportsIdentify,
		SupportsAccountStatement:      false,
		SupportsAccountVerification:   in.supportsVerification,
		SupportsOAuth:                 in.supportsOAuth,
		SupportsTaxDocument:           false,
		SupportsTransactionHistory:    true,
		TroubleSigningInURL:           in.url + "/login-trouble",
		URL:                           in.url,
	}
}

const (
	mediumLogoURL = "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/100x100/default_100x100.png"
	smallLogoURL  = "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/50x50/default_50x50.png"
)

func (in *institution) instructionalText() string {
	return "Use the username and password of your " + in.name + " online banking."
}

func instructionalSteps() []string {
	return []string{"Step 1: Enter your username.", "Step 2: Enter your password."}
}

func (c credential) json() credentialJSON {
	return credentialJSON{DisplayOrder: c.displayOrder, FieldName: c.fieldName, FieldType: c.fieldType,
		GUID: c.guid, Label: c.label, Type: c.fieldType}
}
