package tasks_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A verify job's fallback account is checked as a micro-deposit job's,
// sealed in the start task's payload (never in plain text), opened by the
// worker's keys; it is refused on identify and follow jobs, and a payload
// that carries it in plain text is a bad payload.
func TestFallbackAccountInTheStartTask(t *testing.T) {
	keys, _ := tasks.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	acct := tasks.Account{AccountNumber: "333312345", RoutingNumber: "091000019", AccountType: "CHECKING", FirstName: "Dave", Email: "dave@example.com"}
	job := func() tasks.Job {
		a := acct
		return tasks.Job{JobID: "j1", User: tasks.User{ID: "u"}, Fallback: &a,
			Member: tasks.Member{InstitutionCode: "mxbank_noverify", Credentials: map[string]string{"username": "a", "password": "b"}}}
	}
	task, err := tasks.NewJobTask(keys, store.KindVerify, job())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{acct.AccountNumber, acct.RoutingNumber, acct.FirstName, acct.Email} {
		if strings.Contains(string(task.Payload()), v) {
			t.Errorf("%q in plain text in the payload: %s", v, task.Payload())
		}
	}
	var p tasks.Job
	if err := tasks.Decode(task.Payload(), &p); err != nil {
		t.Fatal(err)
	}
	if got, err := p.OpenFallback(keys); err != nil || *got != acct {
		t.Fatalf("open: %+v %v", got, err)
	}
	if got, err := (&tasks.Job{JobID: "j1"}).OpenFallback(keys); got != nil || err != nil {
		t.Errorf("no fallback: %+v %v", got, err)
	}
	if _, err := tasks.NewJobTask(keys, store.KindIdentify, job()); err == nil || !strings.Contains(err.Error(), "verify jobs only") {
		t.Errorf("identify: %v", err)
	}
	follow := job()
	follow.Member = tasks.Member{GUID: "MBR-1", Follow: true}
	if _, err := tasks.NewJobTask(keys, store.KindVerify, follow); err == nil || !strings.Contains(err.Error(), "follow") {
		t.Errorf("follow: %v", err)
	}
	bad := job()
	bad.Fallback.RoutingNumber = "091000018"
	if _, err := tasks.NewJobTask(keys, store.KindVerify, bad); err == nil || !strings.Contains(err.Error(), "fallback_account: routing_number") {
		t.Errorf("a bad routing number: %v", err)
	}
	// A payload whose fallback is not sealed (not built by NewJobTask).
	var raw map[string]any
	_ = json.Unmarshal(task.Payload(), &raw)
	raw["fallback_account"] = map[string]string{"account_number": acct.AccountNumber, "routing_number": acct.RoutingNumber, "account_type": "CHECKING"}
	b, _ := json.Marshal(raw)
	if err := tasks.Decode(b, &tasks.Job{}); !errors.Is(err, tasks.ErrBadPayload) || strings.Contains(err.Error(), acct.AccountNumber) {
		t.Errorf("an unsealed fallback: %v", err)
	}
}
