package store

import "github.com/mxfleet/mxfleet/mx"

// The store keeps its own copies of what it records from MX, so that a
// change of MX's wire types does not change the records in Redis. Their
// JSON fields are the ones records have always had (records written before
// these types existed read the same). This file is the one place that
// maps them from package mx.

// Challenge is one MFA question of a parked round.
type Challenge struct {
	GUID         string            `json:"guid"`
	Label        string            `json:"label"`
	FieldName    string            `json:"field_name"`
	Type         string            `json:"type"` // TEXT, OPTIONS, TOKEN, IMAGE_DATA, IMAGE_OPTIONS, …
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

// AccountNumber is one account's numbers, as MX returned them.
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

// AccountOwner is one account's owner, as MX returned it.
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

// ChallengesFrom maps MX's challenges to the store's.
func ChallengesFrom(chs []mx.Challenge) []Challenge {
	if chs == nil {
		return nil
	}
	out := make([]Challenge, 0, len(chs))
	for _, c := range chs {
		sc := Challenge{GUID: c.GUID, Label: c.Label, FieldName: c.FieldName, Type: string(c.Type), ImageData: c.ImageData}
		for _, o := range c.Options {
			sc.Options = append(sc.Options, ChallengeOption(o))
		}
		for _, o := range c.ImageOptions {
			sc.ImageOptions = append(sc.ImageOptions, ImageOption(o))
		}
		out = append(out, sc)
	}
	return out
}

// ResultFrom maps what MX returned for a job to its result.
func ResultFrom(numbers []mx.AccountNumber, owners []mx.AccountOwner) *Result {
	var r Result
	for _, n := range numbers {
		r.AccountNumbers = append(r.AccountNumbers, AccountNumber(n))
	}
	for _, o := range owners {
		r.AccountOwners = append(r.AccountOwners, AccountOwner(o))
	}
	return &r
}
