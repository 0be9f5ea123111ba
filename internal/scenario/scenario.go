// Package scenario drives the simulator's scenario table through the fleet:
// submit a job, answer each MFA round as the scenario says, wait for the end
// and compare with what the scenario expects. The demo and the end-to-end
// tests both use it.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Request builds the job request for a scenario.
func Request(sc mxsim.Scenario, jobID, userID string) tasks.Request {
	r := tasks.Request{ID: jobID, User: tasks.User{ID: userID}}
	switch {
	case sc.OAuth != "":
		r.Member = tasks.Member{InstitutionCode: sc.InstitutionCode, OAuth: &tasks.OAuth{}}
	case sc.MemberGUID != "":
		r.Member = tasks.Member{GUID: sc.MemberGUID}
	default:
		r.Member = tasks.Member{InstitutionCode: sc.InstitutionCode, Credentials: sc.Credentials}
	}
	if p := sc.Person; p != nil {
		a := p.Address
		r.Person = &tasks.Person{Name: p.Name, Email: p.Email, Phone: p.Phone, Address: tasks.PersonAddress{Line1: a.Line1,
			Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}}
	}
	return r
}

// Run submits the scenario as a job of the given kind and answers its MFA
// rounds until it ends (or ctx ends). onChange, when not nil, sees every
// change of the job.
func Run(ctx context.Context, c *tasks.Client, sc mxsim.Scenario, kind store.Kind, jobID, userID string, onChange func(*store.View)) (*store.View, error) {
	submit := c.Verify
	if kind == store.KindIdentify {
		submit = c.Identify
	}
	// Like a careful upstream, Run sends a submission or an answer again
	// while Redis cannot take it (restarting, loading its AOF); the same
	// job id and answer make that safe. Refusals are final.
	var j *store.View
	err := again(ctx, func() (err error) { j, err = submit(ctx, Request(sc, jobID, userID)); return err })
	if err != nil {
		return nil, err
	}
	answered := 0
	var answerErr error
	acted := false
	j, err = c.Watch(ctx, j.ID, func(j *store.View) bool {
		if onChange != nil {
			onChange(j)
		}
		if answerErr = oauthStep(ctx, sc, j, &acted); answerErr != nil {
			return false
		}
		if j.State != store.StateChallenged || j.Round <= answered || j.AnswerPending {
			return true
		}
		answered = j.Round
		if j.Round > len(sc.Answers) {
			return true // the scenario leaves this round unanswered: it expires
		}
		answerErr = again(ctx, func() error {
			_, err := c.Answer(ctx, j.ID, Answers(j.Challenges, sc.Answers[j.Round-1]))
			return err
		})
		return answerErr == nil
	})
	if answerErr != nil && sc.OAuth != "" {
		return j, fmt.Errorf("end user at the OAuth page: %w", answerErr)
	}
	if answerErr != nil {
		return j, fmt.Errorf("answer round %d: %w", answered, answerErr)
	}
	return j, err
}

// again runs fn until it succeeds, fails for another reason than Redis
// being unreachable or loading, or ctx ends, 100 ms apart.
func again(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if err == nil || !redisDown(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// redisDown tells whether err says Redis could not be reached, is loading
// its data or is a cluster failing over (asynq passes some of these on as
// text).
func redisDown(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"LOADING", "connection refused", "EOF", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Answers gives every challenge of a round the scenario's value; "@first"
// picks the first option offered.
func Answers(chs []store.Challenge, value string) map[string]string {
	out := make(map[string]string, len(chs))
	for _, ch := range chs {
		v := value
		if v == "@first" {
			switch {
			case len(ch.Options) > 0:
				v = ch.Options[0].Value
			case len(ch.ImageOptions) > 0:
				v = ch.ImageOptions[0].Value
			}
		}
		out[ch.GUID] = v
	}
	return out
}

// Check compares a job with what the scenario expects.
func Check(sc mxsim.Scenario, j *store.View) error {
	e := sc.Expect
	if string(j.State) != e.State {
		return fmt.Errorf("state %s, want %s (%s)", j.State, e.State, describe(j))
	}
	if e.ConnectionStatus != "" && j.ConnectionStatus != e.ConnectionStatus {
		return fmt.Errorf("connection status %s, want %s (%s)", j.ConnectionStatus, e.ConnectionStatus, describe(j))
	}
	if e.ErrorCode != "" && (j.Error == nil || j.Error.Code != e.ErrorCode) {
		return fmt.Errorf("error %s, want code %s", describe(j), e.ErrorCode)
	}
	if j.State == store.StateSucceeded && j.Result == nil {
		return fmt.Errorf("succeeded without a result")
	}
	if e.Match != "" && (j.Match == nil || string(j.Match.Verdict) != e.Match) {
		got := "no owner match"
		if j.Match != nil {
			got = fmt.Sprintf("owner match %s (score %d)", j.Match.Verdict, j.Match.Score)
		}
		return fmt.Errorf("%s, want %s", got, e.Match)
	}
	return nil
}

func describe(j *store.View) string {
	if j.Error == nil {
		return "no error"
	}
	return j.Error.Code + ": " + j.Error.Message
}

// Summary says in a few words what a job returned.
func Summary(j *store.View) string {
	switch {
	case j.Error != nil:
		return j.Error.Code
	case j.Result == nil:
		return "-"
	case j.Kind == store.KindIdentify && j.Match != nil:
		return fmt.Sprintf("%d account owners, owner match %s %d", len(j.Result.AccountOwners), j.Match.Verdict, j.Match.Score)
	case j.Kind == store.KindIdentify:
		return fmt.Sprintf("%d account owners", len(j.Result.AccountOwners))
	default:
		return fmt.Sprintf("%d account numbers", len(j.Result.AccountNumbers))
	}
}

// Markdown renders the scenario table of docs/mx.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| scenario | kinds | input | MFA answers | expected end | source |\n|---|---|---|---|---|---|\n")
	for _, sc := range append(All(), mxsim.MicrodepositScenarios()...) {
		input := "member `" + sc.MemberGUID + "`"
		switch {
		case sc.Account != nil && sc.InstitutionCode != "":
			input = fmt.Sprintf("`%s` username `%s` password `%s`; fallback account `%s` routing `%s` %s", sc.InstitutionCode, sc.Credentials["username"],
				sc.Credentials["password"], sc.Account["account_number"], sc.Account["routing_number"], sc.Account["account_type"])
		case sc.Account != nil:
			input = fmt.Sprintf("account `%s` routing `%s` %s", sc.Account["account_number"], sc.Account["routing_number"], sc.Account["account_type"])
		case sc.OAuth != "":
			input = fmt.Sprintf("`%s` OAuth, no credentials; the end user: %s", sc.InstitutionCode, sc.OAuth)
		case sc.MemberGUID == "":
			input = fmt.Sprintf("`%s` username `%s` password `%s`", sc.InstitutionCode, sc.Credentials["username"], sc.Credentials["password"])
		}
		if sc.Person != nil {
			input += fmt.Sprintf("; person `%s`", sc.Person.Name)
		}
		answers := "-"
		if len(sc.Answers) > 0 {
			answers = "`" + strings.Join(sc.Answers, "`, `") + "`"
		}
		end := sc.Expect.State
		if sc.Expect.ConnectionStatus != "" {
			end += " · " + sc.Expect.ConnectionStatus
		}
		if sc.Expect.ErrorCode != "" {
			end += " · `" + sc.Expect.ErrorCode + "`"
		}
		if sc.Expect.Match != "" {
			end += " · owner match `" + sc.Expect.Match + "`"
		}
		source := sc.Source
		if sc.Source == mxsim.SourceMXDocs && sc.Doc != "" {
			source = "[" + sc.Source + "](" + sc.Doc + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", sc.Name, strings.Join(sc.Kinds, ", "), input, answers, end, source)
	}
	return b.String()
}

// StatusMarkdown renders mx's connection-status classification for docs/jobs.md.
func StatusMarkdown() string {
	var b strings.Builder
	b.WriteString("| id | connection_status | outcome (not aggregating) | job ends / error code | meaning |\n|---|---|---|---|---|\n")
	for _, s := range job.Statuses {
		end := "keeps polling"
		switch s.Outcome {
		case job.NeedsUser:
			end = "parked: `challenged`"
		case job.Succeeded:
			end = "`succeeded` (results read)"
		case job.Failed:
			end = "`failed` · `" + strings.ToLower(s.Status) + "`"
		case job.RetryLater:
			end = "restarted after MXFLEET_RETRY_LATER_DELAY, then `failed` · `" + strings.ToLower(s.Status) + "`"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", s.ID, s.Status, s.Outcome, end, s.Meaning)
	}
	return b.String()
}
