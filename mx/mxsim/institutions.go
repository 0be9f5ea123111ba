package mxsim

import (
	"fmt"
	"hash/fnv"
)

// institution is a bank the simulator knows, with its login fields.
type institution struct {
	guid                 string
	code, name, url      string
	supportsVerification bool
	supportsIdentify     bool
	credentials          []credential
}

// credential is one login field of an institution.
type credential struct {
	guid, fieldName, fieldType, label string
	displayOrder                      int
}

const (
	mxbankUsernameGUID = "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1"
	mxbankPasswordGUID = "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d"
)

// loginFields are the username and password fields with the given guids.
func loginFields(userGUID, passGUID string) []credential {
	return []credential{
		{guid: userGUID, fieldName: "username", fieldType: "TEXT", label: "Username", displayOrder: 1},
		{guid: passGUID, fieldName: "password", fieldType: "PASSWORD", label: "Password", displayOrder: 2},
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
		{guid: fixedGUID("INS", "mxbank_noid"), code: "mxbank_noid", name: "MX Bank (no identification)", url: "https://noid.mxbank.com",
			supportsVerification: true,
			credentials:          loginFields(fixedGUID("CRD", "mxbank_noid/username"), fixedGUID("CRD", "mxbank_noid/password"))},
	}
	for i := 1; i <= 30; i++ {
		code := fmt.Sprintf("filler_bank_%02d", i)
		insts = append(insts, &institution{
			guid: fixedGUID("INS", code), code: code,
			name: fmt.Sprintf("Filler Bank %02d", i), url: fmt.Sprintf("https://www.fillerbank%02d.example.com", i),
			supportsVerification: true, supportsIdentify: i%3 != 0,
			credentials: loginFields(fixedGUID("CRD", code+"/username"), fixedGUID("CRD", code+"/password")),
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

func (in *institution) json() institutionJSON {
	return institutionJSON{
		Code:                          in.code,
		ForgotPasswordURL:             in.url + "/forgot-password",
		ForgotUsernameURL:             in.url + "/forgot-username",
		InstructionalText:             "Use the username and password of your " + in.name + " online banking.",
		InstructionalTextSteps:        []string{"Step 1: Enter your username.", "Step 2: Enter your password."},
		IsDisabledByClient:            false,
		IsoCountryCode:                "US",
		MediumLogoURL:                 "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/100x100/default_100x100.png",
		Name:                          in.name,
		SmallLogoURL:                  "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/50x50/default_50x50.png",
		SupportsAccountIdentification: in.supportsIdentify,
		SupportsAccountStatement:      false,
		SupportsAccountVerification:   in.supportsVerification,
		SupportsOAuth:                 false,
		SupportsTaxDocument:           false,
		SupportsTransactionHistory:    true,
		TroubleSigningInURL:           in.url + "/login-trouble",
		URL:                           in.url,
	}
}

func (c credential) json() credentialJSON {
	return credentialJSON{DisplayOrder: c.displayOrder, FieldName: c.fieldName, FieldType: c.fieldType,
		GUID: c.guid, Label: c.label, Type: c.fieldType}
}
