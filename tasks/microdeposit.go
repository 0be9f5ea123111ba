package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
)

// TypeMicrodeposit starts a micro-deposit job: MX deposits two small
// amounts into the account, the end user answers them, MX verifies them
// (see package job's microdeposit.go).
const TypeMicrodeposit = "mx:microdeposit"

// Account is the account a micro-deposit job verifies, and the account
// holder MX writes to. On the wire (in Redis) every value but AccountType
// is sealed, as credentials are: NewMicrodepositTask seals and Open opens.
type Account struct {
	AccountNumber string `json:"account_number"`
	RoutingNumber string `json:"routing_number"`
	AccountType   string `json:"account_type"` // CHECKING or SAVINGS
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	Email         string `json:"email,omitempty"`
}

// String never shows the values.
func (a Account) String() string { return "tasks.Account{" + a.AccountType + " [REDACTED]}" }

// GoString never shows the values.
func (a Account) GoString() string { return a.String() }

// sealedFields are the account's secret fields by name, for sealing and
// opening in place.
func (a *Account) sealedFields() map[string]*string {
	return map[string]*string{"account_number": &a.AccountNumber, "routing_number": &a.RoutingNumber,
		"first_name": &a.FirstName, "last_name": &a.LastName, "email": &a.Email}
}

// MicrodepositJob is the payload of mx:microdeposit.
type MicrodepositJob struct {
	V       int     `json:"v"`
	JobID   string  `json:"job_id"`
	User    User    `json:"user"`
	Account Account `json:"account"`
}

func (p *MicrodepositJob) version() int { return p.V }

func accountContext(jobID, field string) string { return "job/" + jobID + "/account/" + field }

// ValidateAccount checks an account in the clear, as MX's micro-deposit
// create does (docs.mx.com/nexus/microdeposits/api-testing): an account
// number of 1 to 17 digits, a nine-digit routing number whose ABA checksum
// holds, account type CHECKING or SAVINGS (MX's microdeposit fields
// table), names of at most 50 characters, an email address. Errors never
// quote the numbers.
func ValidateAccount(a Account) error {
	switch {
	case a.AccountNumber == "" || len(a.AccountNumber) > 17 || !allDigits(a.AccountNumber):
		return errors.New("account: account_number must be 1 to 17 digits")
	case !ABAValid(a.RoutingNumber):
		return errors.New("account: routing_number must be 9 digits with a valid ABA checksum")
	case a.AccountType != mx.AccountTypeChecking && a.AccountType != mx.AccountTypeSavings:
		return fmt.Errorf("account: account_type must be %s or %s", mx.AccountTypeChecking, mx.AccountTypeSavings)
	}
	for name, v := range map[string]string{"first_name": a.FirstName, "last_name": a.LastName} {
		if len([]rune(v)) > 50 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return fmt.Errorf("account: %s must be at most 50 characters, no control characters", name)
		}
	}
	if a.Email != "" {
		if e, err := mail.ParseAddress(a.Email); err != nil || e.Address != a.Email || len(a.Email) > 254 {
			return errors.New("account: email must be a plain email address such as name@example.com")
		}
	}
	return nil
}

func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// ABAValid tells whether r is a nine-digit routing number whose ABA
// checksum holds: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
func ABAValid(r string) bool {
	if len(r) != 9 || !allDigits(r) {
		return false
	}
	d := func(i int) int { return int(r[i] - '0') }
	return (3*(d(0)+d(3)+d(6))+7*(d(1)+d(4)+d(7))+d(2)+d(5)+d(8))%10 == 0
}

// Validate checks a micro-deposit payload: the user as a job's, the
// account's secret values sealed.
func (p *MicrodepositJob) Validate() error {
	if err := (&Job{JobID: p.JobID, User: p.User, Member: Member{GUID: "-"}}).Validate(); err != nil {
		return err
	}
	return validSealedAccount("account", p.Account)
}

// validSealedAccount checks an account as it is in Redis: its type, its
// secret values sealed.
func validSealedAccount(what string, a Account) error {
	if a.AccountType != mx.AccountTypeChecking && a.AccountType != mx.AccountTypeSavings {
		return fmt.Errorf("%s: account_type must be %s or %s", what, mx.AccountTypeChecking, mx.AccountTypeSavings)
	}
	for name, v := range a.sealedFields() {
		required := name == "account_number" || name == "routing_number"
		if (*v != "" || required) && (!seal.IsSealed(*v) || len(*v) > maxSealedLen) {
			return fmt.Errorf("%s: %s is not a sealed value", what, name)
		}
	}
	return nil
}

// sealAccount seals a's secret values for job jobID.
func sealAccount(k *Keyring, jobID string, a *Account) {
	for name, v := range a.sealedFields() {
		if *v != "" {
			*v = k.Seal(accountContext(jobID, name), *v)
		}
	}
}

// openAccount returns a, sealed for job jobID, in the clear.
func openAccount(k *Keyring, jobID string, a Account) (Account, error) {
	for name, v := range a.sealedFields() {
		if *v == "" {
			continue
		}
		plain, err := k.Open(accountContext(jobID, name), *v)
		if err != nil {
			return Account{}, openErr("account "+name, err)
		}
		*v = plain
	}
	return a, nil
}

// accountDiff names the fields of b that differ from a (both in the
// clear), each prefixed with what.
func accountDiff(what string, a, b Account) []string {
	var diff []string
	if a.AccountType != b.AccountType {
		diff = append(diff, what+".account_type")
	}
	bf := b.sealedFields()
	for _, name := range []string{"account_number", "routing_number", "first_name", "last_name", "email"} {
		if *a.sealedFields()[name] != *bf[name] {
			diff = append(diff, what+"."+name)
		}
	}
	return diff
}

// NewMicrodepositTask builds the task that starts a micro-deposit job,
// sealing the account's values with k; its id is the start's
// ("start:<job id>"), as for verify and identify jobs.
func NewMicrodepositTask(k *Keyring, p MicrodepositJob) (*asynq.Task, error) {
	p.V = Version
	if err := ValidateAccount(p.Account); err != nil {
		return nil, err
	}
	sealAccount(k, p.JobID, &p.Account)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeMicrodeposit, p, asynq.Queue(QueueJobs), asynq.TaskID(StartID(p.JobID)),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
}

// OpenAccount returns the account in the clear.
func (p *MicrodepositJob) OpenAccount(k *Keyring) (Account, error) {
	return openAccount(k, p.JobID, p.Account)
}

// MicrodepositRequest describes a micro-deposit job; ID, callbacks and
// idempotency as Request's.
type MicrodepositRequest struct {
	ID              string
	User            User
	Account         Account
	CallbackURL     string
	CallbackResults bool
}

// Microdeposit starts a micro-deposit job and tells whether it is new. An
// id used before returns the existing job when the request is the same
// (the account compared, by field name, while the start task is in Redis)
// and is refused otherwise, as Submit does.
func (c *Client) Microdeposit(ctx context.Context, r MicrodepositRequest) (*store.View, bool, error) {
	if r.ID == "" {
		r.ID = "job_" + uuid.NewString()
	}
	task, err := NewMicrodepositTask(c.keys, MicrodepositJob{JobID: r.ID, User: r.User, Account: r.Account})
	if err != nil {
		return nil, false, err
	}
	kind := store.KindMicrodeposit
	j, created, err := c.store.Create(ctx, &store.Job{Record: job.Record{
		ID: r.ID, Kind: kind, State: store.StatePending, UserGUID: r.User.GUID,
		CallbackURL: r.CallbackURL, CallbackResults: r.CallbackResults,
	}})
	if err != nil {
		return nil, false, err
	}
	if !created && j.Kind != kind {
		return c.view(ctx, j), false, fmt.Errorf("job %s is a %s job: %w", j.ID, j.Kind, ErrIDConflict)
	}
	if !created {
		if diff := c.microdepositDiff(j, r); len(diff) > 0 {
			return c.view(ctx, j), false, fmt.Errorf("job %s was submitted with other %s: %w", j.ID, strings.Join(diff, ", "), ErrRequestDiffers)
		}
		if j.State != store.StatePending {
			return c.view(ctx, j), false, nil
		}
	}
	j, err = c.enqueueStart(ctx, j, created, task)
	return c.view(ctx, j), created && j != nil, err
}

// microdepositDiff names the fields of r that differ from the request j
// was created with: the user and callbacks as requestDiff compares them,
// and the account's fields while the start task holds them (opened to
// compare, never shown).
func (c *Client) microdepositDiff(j *store.Job, r MicrodepositRequest) []string {
	var p *MicrodepositJob
	if ti, err := c.insp.GetTaskInfo(QueueJobs, StartID(j.ID)); err == nil {
		p = new(MicrodepositJob)
		if Decode(ti.Payload, p) != nil || p.JobID != j.ID {
			p = nil
		}
	}
	var start *Job
	if p != nil {
		start = &Job{JobID: p.JobID, User: p.User}
	}
	diff := requestDiff(j, start, Request{User: r.User, CallbackURL: r.CallbackURL, CallbackResults: r.CallbackResults})
	if p == nil {
		return diff
	}
	a, err := p.OpenAccount(c.keys)
	if err != nil {
		return diff
	}
	return append(diff, accountDiff("account", a, r.Account)...)
}

// Amounts are what a parked micro-deposit job is answered with: the two
// amounts in dollars ("0.07"), in either order, as challenges
// job.AmountGUID1 and job.AmountGUID2.
func Amounts(first, second string) map[string]string {
	return map[string]string{job.AmountGUID1: first, job.AmountGUID2: second}
}

// CheckAmounts refuses, before sealing, answers to the two amount
// challenges that are not amounts in dollars (mx.ParseMicrodepositAmount).
// Other answers (MFA challenges have MX's guids) pass.
func CheckAmounts(answers []mx.ChallengeAnswer) error {
	for _, a := range answers {
		if a.GUID != job.AmountGUID1 && a.GUID != job.AmountGUID2 {
			continue
		}
		if _, err := mx.ParseMicrodepositAmount(a.Value); err != nil {
			return fmt.Errorf("%s: %w", a.GUID, err)
		}
	}
	return nil
}

// ParseAmounts reads the two amounts of an answer in cents.
func ParseAmounts(answers []mx.ChallengeAnswer) (mx.MicrodepositAmounts, error) {
	var out mx.MicrodepositAmounts
	for _, a := range answers {
		c, err := mx.ParseMicrodepositAmount(a.Value)
		if err != nil {
			return out, fmt.Errorf("%s: %w", a.GUID, err)
		}
		switch a.GUID {
		case job.AmountGUID1:
			out.First = c
		case job.AmountGUID2:
			out.Second = c
		}
	}
	if out.First == 0 || out.Second == 0 {
		return out, fmt.Errorf("give both amounts, as %s and %s", job.AmountGUID1, job.AmountGUID2)
	}
	return out, nil
}
