package job

import "fmt"

// The steps' endings: what MX, Redis or the job's own payload answered
// that ends a step for good. Handlers turn those answers into one of the
// typed events below and carry out the Decision package job makes of it,
// error code and message included; no handler chooses an error code.
//
//	event                   answered                                             → code
//	BadPayload              the sealed credentials, account or answer do not open → bad_payload
//	NoInstitution           MX's 404 to the institution's credentials or a member → unknown_institution
//	NoMember                MX's 404 to a re-authentication's member               → unknown_member
//	CredentialsUnmapped     the credentials given do not fit the fields (MapCredentials) → unknown_credential / missing_credential
//	DuplicateUnresolved     MX's duplicate-member 409, no one member to use         → mx_error
//	Unsupported             MX's 400 to verify or identify, or its 201 with the product failed → unsupported
//	OAuthRefused            MX's 400 to an OAuth member                             → unsupported
//	MXRefused               any other answer of MX's for good (4xx)                 → mx_error
//	ResumeRefused           MX refused the MFA answers (EXPIRED: the round was over) → resume_refused / challenge_expired
//	RetriesSpent            the step's last retry failed too (MX transiently: MXFailing) → retries_exhausted / mx_unavailable
//
// Each ends a job that has not ended (Fail); at a start, the record names
// the MX user and member the start found (Named), in the same write.

// An Ending is one of the events above; Decide is the Decision on it for
// the job record as it stands.
type Ending interface {
	Decide(r *Record) Decision
}

// BadPayload: what the producer sealed does not open (altered, or wrong
// key material).
type BadPayload struct{ Err error }

func (e BadPayload) Decide(r *Record) Decision { return Fail(r, CodeBadPayload, e.Err.Error(), nil) }

// NoInstitution: MX does not know the institution code.
type NoInstitution struct{ Institution string }

func (e NoInstitution) Decide(r *Record) Decision {
	return Fail(r, CodeUnknownInstitution, fmt.Sprintf("MX has no institution %q", e.Institution), nil)
}

// NoMember: MX has no member Member for user User (a re-authentication's
// member guid).
type NoMember struct{ User, Member string }

func (e NoMember) Decide(r *Record) Decision {
	return Fail(r, CodeUnknownMember,
		fmt.Sprintf("MX has no member %s for user %s: re-authentication needs the guid of the user's existing member", e.Member, e.User), nil)
}

// CredentialsUnmapped: the credentials given do not fit the fields of the
// institution Where names (MapCredentials' Mismatch).
type CredentialsUnmapped struct {
	Mismatch *Mismatch
	Where    string // "institution X", "member M at institution X"
}

func (e CredentialsUnmapped) Decide(r *Record) Decision {
	return Fail(r, e.Mismatch.code, e.Where+": "+e.Mismatch.detail, nil)
}

// DuplicateUnresolved: MX's duplicate-member 409 to a create, and the
// user has Members members at Institution, none of them the job's: using
// one could verify the wrong account.
type DuplicateUnresolved struct {
	Institution string
	Members     int
}

func (e DuplicateUnresolved) Decide(r *Record) Decision {
	msg := "MX reports a duplicate member but the user has none at " + e.Institution
	if e.Members > 1 {
		msg = fmt.Sprintf("MX reports a duplicate member and the user has %d members at %s: give the member guid", e.Members, e.Institution)
	}
	return Fail(r, CodeMXError, msg, nil)
}

// Unsupported: MX says the institution does not support the job (Msg:
// MX's 400, or ProductFailed's 201). NoFallback: the job asks for a
// micro-deposit fallback its start task does not carry.
type Unsupported struct {
	Msg        string
	NoFallback bool
}

func (e Unsupported) Decide(r *Record) Decision {
	msg := e.Msg
	if e.NoFallback {
		msg += " (and the start task carries no fallback account)"
	}
	return Fail(r, CodeUnsupported, msg, nil)
}

// ProductFailed is the Unsupported of MX's 201 to a member create whose
// product (of the member at institution; OAuth: an OAuth member's) did
// not start: the member exists, the job's MX work does not.
func ProductFailed(product, institution string, oauth bool) Unsupported {
	if oauth {
		return Unsupported{Msg: fmt.Sprintf("MX created the OAuth member but could not request %s on it (201): %s does not support it", product, institution)}
	}
	return Unsupported{Msg: fmt.Sprintf("MX created the member but could not start %s on it (201): %s does not support it", product, institution)}
}

// OAuthRefused: MX's 400 to an OAuth member at Institution.
type OAuthRefused struct {
	Institution string
	Err         error
}

func (e OAuthRefused) Decide(r *Record) Decision {
	return Fail(r, CodeUnsupported, fmt.Sprintf("MX refused an OAuth member at %s (does it use OAuth? submit with credentials otherwise): %v", e.Institution, e.Err), nil)
}

// MXRefused: MX refused a call for good; What names the call's object
// ("the micro-deposit"), or is empty when MX's error says enough.
type MXRefused struct {
	What string
	Err  error
}

func (e MXRefused) Decide(r *Record) Decision {
	msg := e.Err.Error()
	if e.What != "" {
		msg = "MX refused " + e.What + ": " + msg
	}
	return Fail(r, CodeMXError, msg, nil)
}

// ResumeRefused: MX refused the MFA answers; Expired: MX shows the member
// EXPIRED after it (the round was over at MX).
type ResumeRefused struct {
	Err     error
	Expired bool
}

func (e ResumeRefused) Decide(r *Record) Decision {
	if e.Expired {
		return Fail(r, CodeChallengeExpired, e.Err.Error(), nil)
	}
	return Fail(r, CodeResumeRefused, e.Err.Error(), nil)
}

// RetriesSpent: a step failed on its last retry (Retries of them), MX
// transiently when MXFailing, else Redis or an enqueue: the job ends so
// that none is left running with nothing scheduled to drive it.
type RetriesSpent struct {
	Retries   int
	MXFailing bool
	Err       error
}

func (e RetriesSpent) Decide(r *Record) Decision {
	if e.MXFailing {
		return Fail(r, CodeMXUnavailable, "MX kept failing: "+e.Err.Error(), nil)
	}
	return Fail(r, CodeRetriesExhausted, "gave up after "+fmt.Sprint(e.Retries)+" retries: "+e.Err.Error(), nil)
}

// Named is d, for a start that knows the job's MX user and member before
// its record does: a change that applies names them too, in the same
// write (a caller reading the failed job sees whom MX knows it by).
func Named(d Decision, user, member string) Decision {
	end := d.Change
	if end == nil {
		return d
	}
	d.Change = func(cur *Record) error {
		if err := end(cur); err != nil {
			return err
		}
		cur.UserGUID, cur.MemberGUID = cmpOr(cur.UserGUID, user), cmpOr(cur.MemberGUID, member)
		return nil
	}
	return d
}
