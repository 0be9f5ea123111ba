package mx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// Micro-deposits (MX's microdeposits tag; the same five operations and
// bodies in v20250224 and v20111101): create, read, list, verify and
// delete. MX makes two small ACH deposits into the account and the end
// user confirms both amounts (docs.mx.com/products/connectivity/microdeposits).
// The flow MX describes for an API integration
// (docs.mx.com/products/connectivity/microdeposits/api-only): create with
// the account number, routing number and account type; follow the status
// (the microdeposit webhook, or polling read: "The actual status of the
// microdeposit guid updates every minute", the read's description) until
// DEPOSITED or ERRORED; at DEPOSITED ask the end user for the amounts and
// verify them; "The verification has not successfully completed until
// the status is VERIFIED" (verify's description). "After the third
// incorrect attempt, the microdeposit moves to a PREVENTED status and the
// process can no longer continue." MX soft-deletes micro-deposits left
// INITIATED, REQUESTED or DEPOSITED for 21 days
// (docs.mx.com/nexus/microdeposits): a read then answers 404
// (MicrodepositGone).
//
// Account and routing numbers and the amounts are secrets, like
// credentials: no error carries a request body (MX's messages are masked
// of every string and amount sent), the client logs only operation, status
// and duration, and the types' String, GoString and zerolog
// MarshalZerologObject methods mask them. Never log these types with
// zerolog's Interface (it JSON-encodes them whole).

// MicrodepositStatus is a micro-deposit's status. Neither spec enumerates
// it (a string linking to MX's status table); the names below are MX's.
// An integer (MX's webhook writes status as an integer, with status_name
// beside it) decodes to the name MX documents for it, else to its decimal
// text; any other value is kept as sent.
type MicrodepositStatus string

// Micro-deposit statuses MX documents.
const (
	// MicrodepositPreinitiated: created with only email and names (the
	// create's description), waiting for the Connect widget.
	MicrodepositPreinitiated MicrodepositStatus = "PREINITIATED"
	// MicrodepositInitiated: "The verification process has started."
	MicrodepositInitiated MicrodepositStatus = "INITIATED"
	// MicrodepositRequested: "Microdeposits have been requested from the
	// microdeposit provider."
	MicrodepositRequested MicrodepositStatus = "REQUESTED"
	// MicrodepositDeposited: deposited and "ready to be verified" by the
	// end user.
	MicrodepositDeposited MicrodepositStatus = "DEPOSITED"
	// MicrodepositVerified: the end user confirmed the amounts.
	MicrodepositVerified MicrodepositStatus = "VERIFIED"
	// MicrodepositErrored: the deposits failed (the API guide polls "until
	// its status is either DEPOSITED or ERRORED").
	MicrodepositErrored MicrodepositStatus = "ERRORED"
	// MicrodepositDenied: the amounts given were incorrect (MX's Connect
	// widget, const.js: "User entered incorrect amounts"); MX takes
	// amounts again (the widget shows the amounts form: "One or more of
	// the amounts was incorrect. Please try again.").
	MicrodepositDenied MicrodepositStatus = "DENIED"
	// MicrodepositPrevented: wrong amounts three times; "the process can no
	// longer continue".
	MicrodepositPrevented MicrodepositStatus = "PREVENTED"
	// MicrodepositConflicted: "There is an existing micro deposit request"
	// (the widget's const.js).
	MicrodepositConflicted MicrodepositStatus = "CONFLICTED"
	// MicrodepositRejected: "Rejected either because validation failed on
	// our side, or the provider didn't like something" (the widget's
	// const.js).
	MicrodepositRejected MicrodepositStatus = "REJECTED"
)

// microdepositStatusIDs are the integers MX uses: its Nexus status table
// (0 INITIATED, 1 REQUESTED, 2 DEPOSITED, 3 VERIFIED) and its Connect
// widget's (mxenabled/connect-widget, src/views/microdeposits/const.js:
// also 4 ERRORED, 5 DENIED, 6 PREVENTED, 7 CONFLICTED, 8 REJECTED,
// 9 PREINITIATED).
var microdepositStatusIDs = map[int64]string{0: "INITIATED", 1: "REQUESTED", 2: "DEPOSITED", 3: "VERIFIED",
	4: "ERRORED", 5: "DENIED", 6: "PREVENTED", 7: "CONFLICTED", 8: "REJECTED", 9: "PREINITIATED"}

// UnmarshalJSON reads a name, an integer or null.
func (s *MicrodepositStatus) UnmarshalJSON(b []byte) error {
	*s = MicrodepositStatus(decodeEnum(b, microdepositStatusIDs))
	return nil
}

// Account types of a micro-deposit. v20250224's spec enumerates ANY, CASH,
// CHECKING, … for the field; MX's microdeposit fields table: "Possible
// values are CHECKING and SAVINGS".
const (
	AccountTypeChecking = "CHECKING"
	AccountTypeSavings  = "SAVINGS"
)

// MicrodepositCreate is createMicrodeposit's micro_deposit
// (MicrodepositElements): AccountNumber, AccountType and RoutingNumber are
// required by both specs. AccountNumber and RoutingNumber are secrets.
type MicrodepositCreate struct {
	AccountName   string `json:"account_name,omitempty"`
	AccountNumber string `json:"account_number"`
	AccountType   string `json:"account_type"`
	Email         string `json:"email,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	RoutingNumber string `json:"routing_number"`
}

// Microdeposit is MX's micro-deposit (MicrodepositResponse with
// MicrodepositElements; CreatedAt and ErrorCode from MX's sample
// response). Null fields decode to "". AccountNumber and RoutingNumber
// are secrets.
type Microdeposit struct {
	GUID            string             `json:"guid"`
	Status          MicrodepositStatus `json:"status"`
	AccountName     string             `json:"account_name"`
	AccountNumber   string             `json:"account_number"`
	AccountType     string             `json:"account_type"`
	RoutingNumber   string             `json:"routing_number"`
	Email           string             `json:"email"`
	FirstName       string             `json:"first_name"`
	LastName        string             `json:"last_name"`
	InstitutionCode string             `json:"institution_code"`
	InstitutionName string             `json:"institution_name"`
	ErrorCode       string             `json:"error_code"`
	ErrorMessage    string             `json:"error_message"`
	CreatedAt       string             `json:"created_at"`
	UpdatedAt       string             `json:"updated_at"`
	VerifiedAt      string             `json:"verified_at"`
}

// MicrodepositAmounts are the two amounts the end user read on the
// account, in cents (12 is $0.12). They are secrets.
type MicrodepositAmounts struct {
	First, Second int64
}

// mask keeps the last two characters of a number ("•••45").
func mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 4 {
		return "•••"
	}
	return "•••" + s[len(s)-2:]
}

// String masks the numbers.
func (m MicrodepositCreate) String() string {
	return fmt.Sprintf("mx.MicrodepositCreate{AccountType:%s AccountNumber:%s RoutingNumber:%s}", m.AccountType, mask(m.AccountNumber), mask(m.RoutingNumber))
}

// GoString masks the numbers.
func (m MicrodepositCreate) GoString() string { return m.String() }

// MarshalZerologObject masks the numbers.
func (m MicrodepositCreate) MarshalZerologObject(e *zerolog.Event) {
	e.Str("account_type", m.AccountType).Str("account_number", mask(m.AccountNumber)).Str("routing_number", mask(m.RoutingNumber))
}

// String masks the numbers.
func (m Microdeposit) String() string {
	return fmt.Sprintf("mx.Microdeposit{GUID:%s Status:%s AccountType:%s AccountNumber:%s RoutingNumber:%s InstitutionCode:%s ErrorMessage:%q}",
		m.GUID, m.Status, m.AccountType, mask(m.AccountNumber), mask(m.RoutingNumber), m.InstitutionCode, m.ErrorMessage)
}

// GoString masks the numbers.
func (m Microdeposit) GoString() string { return m.String() }

// MarshalZerologObject masks the numbers.
func (m Microdeposit) MarshalZerologObject(e *zerolog.Event) {
	e.Str("guid", m.GUID).Str("status", string(m.Status)).Str("account_type", m.AccountType).
		Str("account_number", mask(m.AccountNumber)).Str("routing_number", mask(m.RoutingNumber))
}

// String hides the amounts.
func (MicrodepositAmounts) String() string { return "mx.MicrodepositAmounts{[REDACTED]}" }

// GoString hides the amounts.
func (a MicrodepositAmounts) GoString() string { return a.String() }

// MarshalZerologObject hides the amounts.
func (MicrodepositAmounts) MarshalZerologObject(e *zerolog.Event) { e.Str("amounts", "[REDACTED]") }

// dollars is cents as MX's number of dollars ("0.12").
func dollars(cents int64) json.Number {
	return json.Number(strconv.FormatFloat(float64(cents)/100, 'f', 2, 64))
}

// ParseMicrodepositAmount reads an amount in dollars as an end user types
// it ("0.12", ".12", "$0.12", "0.1") into cents; "12" is refused (cents or
// dollars?). Amounts from $0.01 to $0.99 are accepted, with at most two
// decimals: the simulator's deposits are below a dollar, and MX documents
// only "two, small ACH deposits" (its examples: 0.12, 0.15, 0.09). The
// error never quotes the input.
func ParseMicrodepositAmount(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	if t == "" || strings.ContainsAny(t, "eE+-") {
		return 0, errors.New("mx: a micro-deposit amount is dollars such as 0.25")
	}
	if i := strings.IndexByte(t, '.'); i < 0 || len(t)-i-1 > 2 {
		return 0, errors.New("mx: a micro-deposit amount is dollars with two decimals such as 0.25")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, errors.New("mx: a micro-deposit amount is dollars such as 0.25") // never quote it
	}
	c := int64(math.Round(f * 100))
	if c < 1 || c > 99 {
		return 0, errors.New("mx: a micro-deposit amount is between 0.01 and 0.99")
	}
	return c, nil
}

// decodeMicrodeposit reads a MicrodepositResponseBody's micro_deposit: an
// object, as MX's guides and sample responses show it, or (the spec's
// schema gives it items) the first element of an array.
func decodeMicrodeposit(op string, raw json.RawMessage) (*Microdeposit, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []Microdeposit
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("mx: %s: decode micro_deposit: %w", op, err)
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("mx: %s: empty micro_deposit", op)
		}
		return &list[0], nil
	}
	var md Microdeposit
	if err := json.Unmarshal(raw, &md); err != nil || len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("mx: %s: no micro_deposit in the answer", op)
	}
	return &md, nil
}

func (c *Client) microdeposit(ctx context.Context, op, method, path string, in any) (*Microdeposit, error) {
	var out struct {
		MicroDeposit json.RawMessage `json:"micro_deposit"`
	}
	if _, err := c.do(ctx, op, method, path, nil, in, &out, nil); err != nil {
		return nil, err
	}
	return decodeMicrodeposit(op, out.MicroDeposit)
}

func microdepositPath(userGUID, guid string) string {
	return "/users/" + seg(userGUID) + "/micro_deposits/" + seg(guid)
}

// CreateMicrodeposit asks MX to make two micro-deposits into an account
// (createMicrodeposit); the answer is INITIATED. Account number, account
// type and routing number are required (both specs).
func (c *Client) CreateMicrodeposit(ctx context.Context, userGUID string, m MicrodepositCreate) (*Microdeposit, error) {
	const op = "createMicrodeposit"
	if m.AccountNumber == "" || m.AccountType == "" || m.RoutingNumber == "" {
		return nil, fmt.Errorf("mx: %s: account number, account type and routing number are required", op)
	}
	return c.microdeposit(ctx, op, http.MethodPost, "/users/"+seg(userGUID)+"/micro_deposits", struct {
		MicroDeposit MicrodepositCreate `json:"micro_deposit"`
	}{m})
}

// ReadMicrodeposit reads a micro-deposit (readUserMicrodeposit); a read
// also makes MX refresh its status. A 404 for a micro-deposit that
// existed means MX soft-deleted it (MicrodepositGone).
func (c *Client) ReadMicrodeposit(ctx context.Context, userGUID, guid string) (*Microdeposit, error) {
	return c.microdeposit(ctx, "readUserMicrodeposit", http.MethodGet, microdepositPath(userGUID, guid), nil)
}

// Microdeposits lists a user's micro-deposits (listUserMicrodeposits).
func (c *Client) Microdeposits(ctx context.Context, userGUID string) iter.Seq2[Microdeposit, error] {
	return list[Microdeposit](c, ctx, "listUserMicrodeposits", "/users/"+seg(userGUID)+"/micro_deposits", "micro_deposits", nil, 0)
}

// VerifyMicrodeposit sends the end user's two amounts (verifyMicrodeposit)
// and returns the micro-deposit MX answers. "The verification has not
// successfully completed until the status is VERIFIED. Poll the read
// microdeposit endpoint until you see this status or an error state"
// (its description): the answer may show the status from before the
// amounts, and the verdict come on a later ReadMicrodeposit — VERIFIED,
// DENIED (incorrect amounts: MX takes others), or PREVENTED after the
// third incorrect pair. The amounts never reach an error.
func (c *Client) VerifyMicrodeposit(ctx context.Context, guid string, a MicrodepositAmounts) (*Microdeposit, error) {
	const op = "verifyMicrodeposit"
	if a.First < 1 || a.Second < 1 {
		return nil, fmt.Errorf("mx: %s: both amounts are required", op)
	}
	type amounts struct {
		DepositAmount1 json.Number `json:"deposit_amount_1"`
		DepositAmount2 json.Number `json:"deposit_amount_2"`
	}
	body := struct {
		MicroDeposit amounts `json:"micro_deposit"`
	}{amounts{dollars(a.First), dollars(a.Second)}}
	md, err := c.microdeposit(ctx, op, http.MethodPut, "/micro_deposits/"+seg(guid)+"/verify", body)
	var e *Error
	if errors.As(err, &e) {
		for _, v := range []int64{a.First, a.Second} {
			d := string(dollars(v))
			e.Message = strings.ReplaceAll(strings.ReplaceAll(e.Message, d, "[REDACTED]"), strings.TrimPrefix(d, "0"), "[REDACTED]")
		}
	}
	return md, err
}

// DeleteMicrodeposit deletes a micro-deposit (deleteMicrodeposit, 204).
func (c *Client) DeleteMicrodeposit(ctx context.Context, userGUID, guid string) error {
	_, err := c.do(ctx, "deleteMicrodeposit", http.MethodDelete, microdepositPath(userGUID, guid), nil, nil, nil, nil)
	return err
}

// MicrodepositGone is whether err is MX's 404 for a micro-deposit: for
// one the fleet created, MX soft-deleted it (21 days INITIATED, REQUESTED
// or DEPOSITED, docs.mx.com/nexus/microdeposits) or it was deleted.
func MicrodepositGone(err error) bool { return IsNotFound(err) }
