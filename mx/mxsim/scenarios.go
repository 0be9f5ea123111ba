package mxsim

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
)

// Scenario is one end-to-end case of the simulator: the member to use (by
// credentials at an institution, or a static test member), the answer to
// give in each MFA round, and what a fleet should conclude.
type Scenario struct {
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Kinds           []string `json:"kinds"` // "verify", "identify"
	InstitutionCode string   `json:"institution_code,omitempty"`
	// Credentials are the login values keyed "username" and "password":
	// they match the institution's credential LABELS ("Username",
	// "Password") case-insensitively, not its field names (MX's
	// field_name is LOGIN and PASSWORD).
	Credentials map[string]string `json:"credentials,omitempty"`
	MemberGUID  string            `json:"member_guid,omitempty"` // a static test member
	Answers     []string          `json:"answers"`               // one per MFA round; "@first" picks the first option
	// Person, identify scenarios only: the upstream's data about the
	// person, given with the job (the fleet's "person"); the fleet
	// matches the owners against it and Expect.Match is its verdict.
	Person *Person `json:"person,omitempty"`
	Expect Expect  `json:"expect"`
	// Source says where the behaviour comes from: SourceMXDocs (MX
	// documents it for MX Bank, so it can be run against MX's
	// integration environment too) or SourceSimulator (the simulator's
	// own invention).
	Source string `json:"source"`
	// Doc is the MX page an mx-docs scenario comes from; for a simulator
	// scenario, an optional note on what it is modelled on.
	Doc string `json:"doc,omitempty"` // OAuth, for the scenarios of OAuthScenarios: what the end user does
	// at the member's oauth_window_uri (OAuthApprove, OAuthDeny,
	// OAuthIgnore).
	OAuth string `json:"oauth,omitempty"`
	// Account is a microdeposit scenario's account: account_number,
	// routing_number, account_type (MicrodepositScenarios).
	Account map[string]string `json:"account,omitempty"`
}

// Scenario sources.
const (
	SourceMXDocs    = "mx-docs"
	SourceSimulator = "simulator"
)

// mxbankDoc is MX's page on its test institution MX Bank.
const mxbankDoc = "https://docs.mx.com/resources/test-platform/mxbank/"

// Expect is how a fleet's job should end for a scenario.
type Expect struct {
	State            string `json:"state"`
	ConnectionStatus string `json:"connection_status,omitempty"`
	ErrorCode        string `json:"error_code,omitempty"`
	// Match is the owner match's verdict (match, partial, no_match) for
	// a scenario with a Person.
	Match string `json:"match,omitempty"`
}

// Person is a scenario's KYC data, in the shape of the fleet's job
// request ("person"). The simulator imports nothing of the fleet, so it
// states the shape itself (package scenario maps it to tasks.Person).
type Person struct {
	Name    string        `json:"name,omitempty"`
	Address PersonAddress `json:"address,omitzero"`
	Email   string        `json:"email,omitempty"`
	Phone   string        `json:"phone,omitempty"`
}

// PersonAddress is a Person's postal address.
type PersonAddress struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Scenarios returns the scenario table (also served at GET /_sim/scenarios).
// The slice is fresh on each call.
func Scenarios() []Scenario {
	both := []string{"verify", "identify"}
	succeeded := Expect{State: "succeeded", ConnectionStatus: "CONNECTED"}
	failed := func(status, code string) Expect {
		return Expect{State: "failed", ConnectionStatus: status, ErrorCode: code}
	}
	bank := func(name, desc, password string, answers []string, e Expect) Scenario {
		return Scenario{Name: name, Description: desc, Kinds: both, InstitutionCode: "mxbank",
			Credentials: map[string]string{"username": testUsername, "password": password},
			Answers:     answers, Expect: e, Source: SourceSimulator}
	}
	// documented is a scenario MX documents for MX Bank.
	documented := func(sc Scenario) Scenario {
		sc.Source, sc.Doc = SourceMXDocs, mxbankDoc
		return sc
	}
	static := func(name, desc string, kinds []string, e Expect) Scenario {
		return Scenario{Name: name, Description: desc, Kinds: kinds, InstitutionCode: "mxbank",
			MemberGUID: name, Answers: []string{}, Expect: e, Source: SourceSimulator,
			Doc: "modelled on the test members of MX's legacy Nexus API (docs.mx.com/nexus/test-endpoints); the Platform API has no such members"}
	}
	none := []string{}
	// kyc gives an identify scenario the upstream's data about a person;
	// the owners are the simulator's own (ownerNames: Donnie Darko first).
	kyc := func(name, desc string, p Person, verdict string) Scenario {
		sc := bank(name, desc, "correct", none, Expect{State: "succeeded", ConnectionStatus: "CONNECTED", Match: verdict})
		sc.Kinds, sc.Person = []string{"identify"}, &p
		return sc
	}
	return []Scenario{
		documented(bank("success", "any password not listed connects without MFA; 2 accounts with numbers and owners", "correct", none, succeeded)),
		documented(bank("challenge", "password challenge: one TEXT challenge, answered 'correct'", "challenge", []string{"correct"}, succeeded)),
		documented(bank("challenge_followup", "answering 'challenge' brings a follow-up TEXT round, then 'correct' (MX's multi-round MFA example)", "challenge", []string{"challenge", "correct"}, succeeded)),
		bank("challenge_again", "a correct TEXT answer is followed by a second TEXT challenge", "challenge_again", []string{"correct", "correct"}, succeeded),
		documented(bank("challenge_wrong", "any answer other than 'correct' is wrong: REJECTED", "challenge", []string{"wrong"}, failed("REJECTED", "rejected"))),
		documented(bank("options", "password options: one OPTIONS challenge; the option valued 'correct'", "options", []string{"correct"}, succeeded)),
		bank("two_step", "OPTIONS (where to send a code), then TEXT code 123456", "two_step", []string{"@first", "123456"}, succeeded),
		documented(bank("image", "password image: an image challenge answered 'correct' (sent as type IMAGE_DATA; MX's wire name for it is UNCONFIRMED)", "image", []string{"correct"}, succeeded)),
		bank("image_options", "IMAGE_OPTIONS challenge; the image valued 'correct'", "image_options", []string{"correct"}, succeeded),
		bank("token", "TOKEN challenge answered 'correct'", "token", []string{"correct"}, succeeded),
		documented(bank("denied", "password UNAUTHORIZED: credentials refused, DENIED", "UNAUTHORIZED", none, failed("DENIED", "denied"))),
		bank("locked", "the institution locked the account: LOCKED", "LOCKED", none, failed("LOCKED", "locked")),
		bank("impeded", "the user must act on the institution's site: IMPEDED", "IMPEDED", none, failed("IMPEDED", "impeded")),
		bank("disabled", "aggregation disabled: DISABLED", "DISABLED", none, failed("DISABLED", "disabled")),
		documented(bank("bad_request", "password BAD_REQUEST: the institution answered a bad request, FAILED", "BAD_REQUEST", none, failed("FAILED", "failed"))),
		bank("degraded", "the first job ends DEGRADED, a later retry connects", "DEGRADED", none, succeeded),
		bank("expired", "a TEXT challenge left unanswered past the MFA window: EXPIRED", "challenge", none,
			Expect{State: "failed", ErrorCode: "challenge_expired"}),
		bank("many", "connects with 60 account numbers and 30 account owners (several pages)", "many", none, succeeded),
		kyc("kyc_match", "identify with the upstream's data on the first owner written otherwise (nickname, St, state name, ZIP without +4, phone and email formats): match",
			Person{Name: "DARKO, DONALD", Address: PersonAddress{Line1: "100 Main St", City: "Middlesex", State: "Virginia", PostalCode: "00000", Country: "USA"},
				Email: "Donnie.Darko@Example.com", Phone: "(555) 555-1000"}, "match"),
		kyc("kyc_no_match", "identify with the data of a person who owns none of the accounts: no_match",
			Person{Name: "Alice Johnson", Address: PersonAddress{Line1: "9 Elm Road", City: "Springfield", State: "IL", PostalCode: "62701"},
				Email: "alice@example.org", Phone: "+1 217 555 0100"}, "no_match"),
		static("test_nexus_member", "MX's static test member: 2 account numbers and 2 owners", both, succeeded),
		static("unverified", "static test member without account numbers", []string{"verify"}, failed("CONNECTED", "no_results")),
		static("unidentified", "static test member without account owners", []string{"identify"}, failed("CONNECTED", "no_results")),
	}
}

// testUsername is MX Bank's documented username, that of every scenario;
// any other is DENIED (the simulator's own rule).
const testUsername = "mxuser"

// Connection statuses the simulator uses.
const (
	statusCreated    = "CREATED"
	statusUpdated    = "UPDATED"
	statusResumed    = "RESUMED"
	statusConnected  = "CONNECTED"
	statusChallenged = "CHALLENGED"
	statusRejected   = "REJECTED"
	statusExpired    = "EXPIRED"
	statusDenied     = "DENIED"
	statusLocked     = "LOCKED"
	statusImpeded    = "IMPEDED"
	statusDisabled   = "DISABLED"
	statusFailed     = "FAILED"
	statusDegraded   = "DEGRADED"
)

// stage names an MFA round.
type stage string

const (
	stageCity         stage = "city"          // challenge: TEXT
	stageFollowup     stage = "followup"      // challenge answered "challenge": TEXT
	stageAgainFirst   stage = "again_first"   // challenge_again round 1: TEXT
	stageAgainSecond  stage = "again_second"  // challenge_again round 2: TEXT
	stageOptions      stage = "options"       // options: OPTIONS
	stageSendCode     stage = "send_code"     // two_step round 1: OPTIONS
	stageEnterCode    stage = "enter_code"    // two_step round 2: TEXT
	stageImage        stage = "image"         // image: IMAGE_DATA
	stageImageOptions stage = "image_options" // image_options: IMAGE_OPTIONS
	stageToken        stage = "token"         // token: TOKEN
)

// outcome is how one run of a job ends: a connection status, and for
// CHALLENGED the round to ask.
type outcome struct {
	status string
	stage  stage
}

func ended(status string) outcome { return outcome{status: status} }
func ask(st stage) outcome        { return outcome{status: statusChallenged, stage: st} }

// firstOutcome is how a job's first run ends for these credentials.
// firstJob is whether this is the member's first job ever. MX documents
// (for MX Bank, username mxuser) challenge, options, image, BAD_REQUEST,
// UNAUTHORIZED and "any other password connects"; the other passwords,
// and DENIED for another username, are the simulator's own.
func firstOutcome(username, password string, firstJob bool) outcome {
	username, password = untag(username), untag(password)
	if username != testUsername {
		return ended(statusDenied) // simulator's own
	}
	switch password {
	case "challenge": // MX
		return ask(stageCity)
	case "challenge_again":
		return ask(stageAgainFirst)
	case "options": // MX
		return ask(stageOptions)
	case "two_step":
		return ask(stageSendCode)
	case "image": // MX (wire type IMAGE_DATA: UNCONFIRMED)
		return ask(stageImage)
	case "image_options":
		return ask(stageImageOptions)
	case "token":
		return ask(stageToken)
	case "UNAUTHORIZED": // MX
		return ended(statusDenied)
	case "LOCKED":
		return ended(statusLocked)
	case "IMPEDED":
		return ended(statusImpeded)
	case "DISABLED":
		return ended(statusDisabled)
	case "BAD_REQUEST": // MX
		return ended(statusFailed)
	case "DEGRADED":
		if firstJob {
			return ended(statusDegraded)
		}
	}
	return ended(statusConnected)
}

// untag drops a "+tag" suffix: "challenge+a1b2" reads as "challenge".
// Credentials and typed answers may carry one so that tests can make every
// secret they send unique, and then search for it where it must not be.
func untag(s string) string {
	if i := strings.LastIndexByte(s, '+'); i > 0 {
		return s[:i]
	}
	return s
}

// resumeOutcome is how a resume run ends, given the round asked and the
// answers (by challenge guid, already checked to cover every challenge).
func resumeOutcome(st stage, asked []challengeJSON, answers map[string]string) outcome {
	ch := asked[0] // every round asks one question
	a := untag(answers[ch.GUID])
	ok := func(next outcome) outcome {
		if a == "correct" {
			return next
		}
		return ended(statusRejected)
	}
	switch st {
	case stageCity:
		if a == "challenge" {
			return ask(stageFollowup)
		}
		return ok(ended(statusConnected))
	case stageAgainFirst:
		return ok(ask(stageAgainSecond))
	case stageSendCode:
		if slices.ContainsFunc(ch.Options, func(o optionJSON) bool { return o.Value == a }) {
			return ask(stageEnterCode)
		}
		return ended(statusRejected)
	case stageEnterCode:
		if a == "123456" {
			return ended(statusConnected)
		}
		return ended(statusRejected)
	case stageImageOptions:
		for _, o := range ch.ImageOptions {
			if o.Value == "correct" && a == o.DataURI {
				return ended(statusConnected)
			}
		}
		return ok(ended(statusConnected))
	default: // followup, again_second, options, image, token
		return ok(ended(statusConnected))
	}
}

// newChallenges builds the round's challenges, with fresh guids.
func newChallenges(st stage) []challengeJSON {
	text := func(typ, label string) challengeJSON {
		return challengeJSON{FieldName: label, GUID: newGUID("CRD"), Label: label, Type: typ}
	}
	opt := func(label, value string) optionJSON {
		return optionJSON{GUID: newGUID("CRD"), Label: label, Value: value}
	}
	var ch challengeJSON
	switch st {
	case stageCity, stageAgainFirst:
		ch = text("TEXT", "What city were you born in?")
	case stageFollowup:
		ch = text("TEXT", "What was the name of your first pet?")
	case stageAgainSecond:
		ch = text("TEXT", "What is your mother's maiden name?")
	case stageOptions:
		ch = text("OPTIONS", "Which of these did you own?")
		ch.Options = []optionJSON{opt("A yellow submarine", "submarine"), opt("A blue pickup truck", "correct"), opt("A green tractor", "tractor")}
	case stageSendCode:
		ch = text("OPTIONS", "Where should we send your code?")
		ch.Options = []optionJSON{opt("Text (***) ***-1234", "phone_1234"), opt("Text (***) ***-5678", "phone_5678")}
	case stageEnterCode:
		ch = text("TEXT", "Enter the code we sent")
	case stageImage:
		ch = text("IMAGE_DATA", "What do you see in this image?")
		data := imageData
		ch.ImageData = &data
	case stageImageOptions:
		ch = text("IMAGE_OPTIONS", "Which one is your security image?")
		for i, v := range []string{"image_1", "correct", "image_3"} {
			ch.ImageOptions = append(ch.ImageOptions, imageOptionJSON{DataURI: imageChoices[i], GUID: newGUID("CRD"),
				Label: "IMAGE_" + string(rune('1'+i)), Value: v})
		}
	case stageToken:
		ch = text("TOKEN", "Enter the token from your authenticator app")
	}
	return []challengeJSON{ch}
}

// The pictures of the image challenges: tiny PNG data URIs.
var (
	imageData    = pixelDataURI(color.RGBA{R: 200, G: 30, B: 30, A: 255})
	imageChoices = []string{
		pixelDataURI(color.RGBA{R: 30, G: 160, B: 30, A: 255}),
		pixelDataURI(color.RGBA{R: 30, G: 30, B: 200, A: 255}),
		pixelDataURI(color.RGBA{R: 220, G: 200, B: 20, A: 255}),
	}
)

// pixelDataURI is a 2x2 PNG of one colour as a data URI.
func pixelDataURI(c color.Color) string {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for x := range 2 {
		for y := range 2 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
