package scenario

import (
	"context"
	"fmt"

	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// RunMicrodeposit submits a micro-deposit scenario (mxsim.MicrodepositScenarios)
// and answers each round with its pair until the job ends: "@amounts" are
// the deposits, read with amounts (the simulator's MicrodepositAmounts),
// "@wrong" a pair that is not. A scenario with an institution code is a
// verify job with the account as its fallback: it must fall back.
func RunMicrodeposit(ctx context.Context, c *tasks.Client, sc mxsim.Scenario, jobID, userID string,
	amounts func(guid string) (float64, float64, bool)) (*store.View, error) {
	a := tasks.Account{AccountNumber: sc.Account["account_number"], RoutingNumber: sc.Account["routing_number"], AccountType: sc.Account["account_type"]}
	var j *store.View
	err := again(ctx, func() (err error) {
		if sc.InstitutionCode != "" {
			r := Request(sc, jobID, userID)
			r.Fallback = &a
			j, _, err = c.Submit(ctx, store.KindVerify, r)
			return err
		}
		j, _, err = c.Microdeposit(ctx, tasks.MicrodepositRequest{ID: jobID, User: tasks.User{ID: userID}, Account: a})
		return err
	})
	if err != nil {
		return nil, err
	}
	answered := 0
	var answerErr error
	j, err = c.Watch(ctx, j.ID, func(j *store.View) bool {
		if j.State != store.StateChallenged || j.Round <= answered || j.AnswerPending || j.Round > len(sc.Answers) {
			return true
		}
		// A round after the first is parked because MX found the pair
		// before it incorrect: never after a right pair.
		if j.Round > 1 && (sc.Answers[j.Round-2] != "@wrong" || j.LastRefusedAnswer == nil) {
			answerErr = fmt.Errorf("round %d parked after %s, refusal shown: %+v", j.Round, sc.Answers[j.Round-2], j.LastRefusedAnswer)
			return false
		}
		answered = j.Round
		x, y, ok := amounts(j.MemberGUID)
		if !ok {
			answerErr = fmt.Errorf("the simulator has no micro-deposit %s", j.MemberGUID)
			return false
		}
		first, second := fmt.Sprintf("%.2f", x), fmt.Sprintf("%.2f", y)
		if sc.Answers[j.Round-1] == "@wrong" {
			first, second = wrongAmount(first, second), wrongAmount(first, second)
		}
		answerErr = again(ctx, func() error { _, err := c.Answer(ctx, j.ID, tasks.Amounts(first, second)); return err })
		return answerErr == nil
	})
	if answerErr != nil {
		return j, fmt.Errorf("answer round %d: %w", answered, answerErr)
	}
	if err == nil && sc.InstitutionCode != "" && j.Via != store.KindMicrodeposit {
		return j, fmt.Errorf("the verify job did not fall back to micro-deposits (via %q)", j.Via)
	}
	return j, err
}

// wrongAmount is an amount that is neither of the deposits.
func wrongAmount(a, b string) string {
	for c := 1; ; c++ {
		if w := fmt.Sprintf("0.%02d", c); w != a && w != b {
			return w
		}
	}
}
