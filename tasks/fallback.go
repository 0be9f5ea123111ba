package tasks

import (
	"errors"

	"github.com/mxfleet/mxfleet/store"
)

// A verify job may carry a fallback account (Request.Fallback,
// Job.Fallback): should MX answer that the institution does not support
// instant verification (the start's unsupported cases), the job does not
// fail but verifies that account by micro-deposits, as a microdeposit job
// would (package job's MDFellBack). The account is checked at submit as a
// microdeposit job's (ValidateAccount) and sealed in the start task the
// same way; the record keeps only that a fallback was asked.
//
// The account's presence is the request: micro-deposits are the one
// fallback there is, and they cannot run without an account, so a
// separate flag could only disagree with it.

// validFallback checks a job's fallback before sealing (plain) or after
// (sealed): verify jobs only, starting a member's MX job of their own.
func validFallback(kind store.Kind, p *Job, plain bool) error {
	a := p.Fallback
	if a == nil {
		return nil
	}
	switch {
	case kind != store.KindVerify:
		return errors.New("fallback_account: a micro-deposit fallback is for verify jobs only (identify jobs need the member's owners)")
	case p.Member.Follow:
		return errors.New("fallback_account: follow starts no MX job, so MX never says the institution does not support verification: no fallback")
	case p.Member.OAuth != nil:
		return errors.New("fallback_account: not taken with oauth (an OAuth member's unsupported verification fails the job unsupported)")
	case plain:
		if err := ValidateAccount(*a); err != nil {
			return errors.New("fallback_" + err.Error())
		}
		return nil
	}
	return validSealedAccount("fallback_account", *a)
}

// OpenFallback returns the job's fallback account in the clear (nil: none).
func (p *Job) OpenFallback(k *Keyring) (*Account, error) {
	if p.Fallback == nil {
		return nil, nil
	}
	a, err := openAccount(k, p.JobID, *p.Fallback)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// fallbackDiff names the fallback fields of r that differ from job j's
// request: whether one was asked (the record), and its values while the
// start task p holds them (opened to compare, never shown).
func (c *Client) fallbackDiff(j *store.Job, p *Job, r Request) []string {
	if (j.Fallback != "") != (r.Fallback != nil) {
		return []string{"fallback_account"}
	}
	if p == nil || p.Fallback == nil || r.Fallback == nil {
		return nil
	}
	a, err := p.OpenFallback(c.keys)
	if err != nil {
		return nil
	}
	return accountDiff("fallback_account", *a, *r.Fallback)
}

// fallbackKind is what the record keeps of a fallback account.
func fallbackKind(a *Account) store.Kind {
	if a == nil {
		return ""
	}
	return store.KindMicrodeposit
}
