package mxsim

import "strings"

// Micro-deposit scenarios answer the amounts: "@amounts" is the pair the
// simulator deposited (GET /_sim/micro_deposits/{guid}), "@wrong" a pair
// that is not. MX documents the 3333… accounts of its integration
// environment, DENIED on incorrect amounts with another try (MX's Connect
// widget), PREVENTED at the third wrong pair and the verdict on a read
// after the verify (the spec's verifyMicrodeposit); ERRORED for any other
// account, the 33339… accounts' verdict in the verify's answer, and
// knowing the amounts, are the simulator's own, so the scenarios run
// against the simulator only. Expiry (MX's soft delete after 21 days) is
// timing: --microdeposit-expiry, not a scenario.
const microdepositDoc = "accounts beginning 3333 deposit (docs.mx.com/nexus/microdeposits/api-testing); DENIED on wrong amounts, then the amounts again " +
	"(mxenabled/connect-widget src/views/microdeposits); PREVENTED after 3 wrong pairs (docs.mx.com/products/connectivity/microdeposits); " +
	"the verdict on the read after the verify (verifyMicrodeposit: \"Poll the read microdeposit endpoint\"); ERRORED for other accounts is the simulator's own"

const inAnswerDoc = "; the verdict in the verify's answer for accounts beginning 33339 is the simulator's own"

// MicrodepositScenarios is the scenario table of micro-deposit jobs (kind
// microdeposit, and verify jobs that fall back to micro-deposits: an
// institution code and credentials with the account). It is not part of
// Scenarios: those are member jobs, run by every fleet-wide test; these
// take the simulator's micro-deposit timing (WithMicrodepositTiming) and
// its amounts.
func MicrodepositScenarios() []Scenario {
	md := []string{"microdeposit"}
	account := func(number string) map[string]string {
		return map[string]string{"account_number": number, "routing_number": "091000019", "account_type": "CHECKING"}
	}
	verified := Expect{State: "succeeded", ConnectionStatus: mdVerified}
	sc := func(name, desc, number string, answers []string, e Expect) Scenario {
		doc := microdepositDoc
		if strings.HasPrefix(number, mdVerdictInAnswer) {
			doc += inAnswerDoc
		}
		return Scenario{Name: name, Description: desc, Kinds: md, Account: account(number), Answers: answers, Expect: e,
			Source: SourceSimulator, Doc: doc}
	}
	return []Scenario{
		sc("microdeposit", "deposited, the right amounts: VERIFIED on the next read, the account and routing numbers", "333312345", []string{"@amounts"}, verified),
		sc("microdeposit_wrong_then_right", "a wrong pair (DENIED on the next read: the job waits again), then the right one", "333312346", []string{"@wrong", "@amounts"}, verified),
		sc("microdeposit_prevented", "three wrong pairs, each verdict on the next read: PREVENTED", "333312347", []string{"@wrong", "@wrong", "@wrong"},
			Expect{State: "failed", ConnectionStatus: mdPrevented, ErrorCode: "microdeposit_prevented"}),
		sc("microdeposit_verdict_in_answer", "the right amounts, MX's verdict in the verify's answer: VERIFIED", "333391234", []string{"@amounts"}, verified),
		sc("microdeposit_wrong_then_right_in_answer", "a wrong pair, DENIED in the verify's answer (the job waits again), then the right one",
			"333391235", []string{"@wrong", "@amounts"}, verified),
		sc("microdeposit_prevented_in_answer", "three wrong pairs, each verdict in the verify's answer: PREVENTED", "333391236",
			[]string{"@wrong", "@wrong", "@wrong"}, Expect{State: "failed", ConnectionStatus: mdPrevented, ErrorCode: "microdeposit_prevented"}),
		sc("microdeposit_errored", "an account not beginning 3333: the deposits fail, ERRORED", "123456789", []string{},
			Expect{State: "failed", ConnectionStatus: mdErrored, ErrorCode: "microdeposit_errored"}),
		{Name: "verify_fallback_microdeposit", Description: "verify at a bank without instant verification, with a fallback account: " +
			"MX says unsupported, the job falls back to micro-deposits (via microdeposit); the right amounts: VERIFIED",
			Kinds: []string{"verify"}, InstitutionCode: "mxbank_noverify", Credentials: map[string]string{"username": "mxuser", "password": "correct"},
			Account: account("333312348"), Answers: []string{"@amounts"}, Expect: verified, Source: SourceSimulator,
			Doc: "mxbank_noverify (no account_verification) is the simulator's own; " + microdepositDoc},
	}
}
