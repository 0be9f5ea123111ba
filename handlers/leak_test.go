package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/redact"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func tag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// After every scenario has run, nothing sensitive is readable in Redis (any
// key of any type: asynq's task hashes, completed and archived tasks
// included; the job records; the parked hash) or in anything the worker
// logged: no credential, MFA answer, account or routing number, owner
// field or person's data (KYC, every identify job) used or returned in
// the run. Every secret sent is made unique with
// a "+tag" the simulator ignores, so finding it anywhere is a leak.
func TestNoSecretInRedisOrLogs(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, mdTune, mxsim.WithMicrodepositTiming(mdFast))
	if !f.Redis.Real {
		t.Log("running on miniredis: the dump covers the same keys, but install redis-server for the real thing")
	}
	ctx := testenv.Context(t, 2*time.Minute)
	var (
		mu      sync.Mutex
		secrets = map[string]string{} // value → where it came from
		wg      sync.WaitGroup
		jobs    []*store.View
	)
	addSecret := func(v, what string) {
		if len(v) >= 5 {
			mu.Lock()
			secrets[v] = what
			mu.Unlock()
		}
	}
	for _, sc := range mxsim.Scenarios() {
		for _, kind := range sc.Kinds {
			tg := tag()
			sc := sc
			if sc.MemberGUID == "" {
				creds := map[string]string{}
				for k, v := range sc.Credentials {
					creds[k] = v + "+" + tg
					addSecret(creds[k], sc.Name+" credential "+k)
				}
				sc.Credentials = creds
			}
			answers := make([]string, len(sc.Answers))
			for i, a := range sc.Answers {
				answers[i] = a
				if a != "@first" && sc.Name != "options" && sc.Name != "image_options" {
					// (the chosen value of an OPTIONS challenge is one of the
					// offered options, which are public in the challenge)
					answers[i] = a + "+" + tg
					addSecret(answers[i], sc.Name+" answer")
				}
			}
			sc.Answers = answers
			if kind == string(store.KindIdentify) {
				// Every identify job carries a person (the KYC data),
				// each value tagged; the kyc scenarios keep theirs.
				p := mxsim.Person{Name: "Karen Pomeroy", Email: "karen@example.com", Phone: "555-555-1003",
					Address: mxsim.PersonAddress{Line1: "103 Main Street", Line2: "Apt 1", City: "Middlesex", State: "VA", PostalCode: "00000", Country: "US"}}
				if sc.Person != nil {
					p = *sc.Person
				}
				a := &p.Address
				for what, v := range map[string]*string{"name": &p.Name, "email": &p.Email, "phone": &p.Phone, "address line1": &a.Line1,
					"address line2": &a.Line2, "city": &a.City, "state": &a.State, "postal code": &a.PostalCode, "country": &a.Country} {
					switch {
					case what == "email":
						local, domain, _ := strings.Cut(*v, "@")
						*v = local + "+" + tg + "@" + domain
					case what == "phone":
						*v += " x" + tg // an extension: dropped when matched
					case *v != "":
						*v += " " + tg
					}
					if *v != "" {
						addSecret(*v, sc.Name+" person "+what)
					}
				}
				sc.Person = &p
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := "leak-" + sc.Name + "-" + kind
				j, err := scenario.Run(ctx, f.Client, sc, store.Kind(kind), id, "user-"+id, nil)
				if err != nil {
					t.Errorf("%s: %v", id, err)
					return
				}
				mu.Lock()
				jobs = append(jobs, j)
				mu.Unlock()
			}()
		}
	}
	wg.Add(1)
	go func() { // a micro-deposit job: account, holder, amounts
		defer wg.Done()
		j := leakMD(t, ctx, f, tag(), addSecret, false)
		mu.Lock()
		jobs = append(jobs, j)
		mu.Unlock()
	}()
	wg.Add(1)
	go func() { // a verify job fallen back to micro-deposits: its fallback account too
		defer wg.Done()
		j := leakMD(t, ctx, f, tag(), addSecret, true)
		mu.Lock()
		jobs = append(jobs, j)
		mu.Unlock()
	}()
	wg.Wait()
	jobs = append(jobs, leakReauth(t, ctx, f, jobs, addSecret))
	// A refused answer is archived with its payload: it must be sealed too.
	refused := "refused-answer+" + tag()
	addSecret(refused, "refused MFA answer")
	task, err := tasks.NewAnswerTask(f.Keys, tasks.Answer{JobID: "leak-success-verify", AnswerID: "late", Round: 1,
		Answers: []mx.ChallengeAnswer{{GUID: "CRD-late", Value: refused}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	archived(t, f, tasks.QueueAnswers, "answer:leak-success-verify:late")
	results := 0
	for _, j := range jobs {
		if j.Result == nil {
			continue
		}
		for _, n := range j.Result.AccountNumbers {
			addSecret(n.AccountNumber, j.ID+" account number")
			addSecret(n.RoutingNumber, j.ID+" routing number")
			results++
		}
		for _, o := range j.Result.AccountOwners {
			for what, v := range map[string]string{"owner name": o.OwnerName, "first name": o.FirstName, "last name": o.LastName,
				"address": o.Address, "city": o.City, "postal code": o.PostalCode, "email": o.Email, "phone": o.Phone} {
				addSecret(v, j.ID+" "+what)
			}
			results++
		}
	}
	matched := 0
	for _, j := range jobs {
		if j.Match != nil {
			matched++
		}
	}
	if matched < 5 {
		t.Fatalf("only %d jobs scored their owners against a person: the check would prove little", matched)
	}
	if results < 20 {
		t.Fatalf("only %d results were returned: the check would prove little", results)
	}
	addSecret(f.Config.MXAPIKey, "MX API key")
	for _, k := range redact.KeyMaterial(f.Config.SecretKeys) {
		addSecret(k, "sealing key")
	}

	dump := dumpRedis(t, ctx, f)
	logs := f.Logs.String()
	if len(logs) < 1000 || !strings.Contains(logs, "job transition") {
		t.Fatalf("the worker logged only %d bytes: the check would prove little", len(logs))
	}
	for v, what := range secrets {
		if strings.Contains(dump, v) {
			t.Errorf("Redis holds the %s in the clear", what)
		}
		if strings.Contains(logs, v) {
			t.Errorf("the worker logged the %s", what)
		}
	}
	t.Logf("checked %d secrets against %d bytes of Redis and %d bytes of logs", len(secrets), len(dump), len(logs))
}

// dumpRedis reads every key of every type.
func dumpRedis(t *testing.T, ctx context.Context, f *testenv.Fleet) string {
	t.Helper()
	rdb := f.Redis.Client
	var b strings.Builder
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	types := map[string]int{}
	for iter.Next(ctx) {
		key := iter.Val()
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if typ == "none" {
			continue // gone since the scan (an asynq lease, a retention expiry)
		}
		types[typ]++
		b.WriteString(key + "\n")
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, key).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, key).Result()
		case "list":
			v, err = rdb.LRange(ctx, key, 0, -1).Result()
		case "set":
			v, err = rdb.SMembers(ctx, key).Result()
		case "zset":
			v, err = rdb.ZRange(ctx, key, 0, -1).Result()
		default:
			t.Fatalf("key %s of type %s is not read by this test", key, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%v\n", v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis keys by type: %v", types)
	return b.String()
}

// leakReauth re-authenticates the denied verify job's member with new
// credentials (secrets too) and returns the job, succeeded.
func leakReauth(t *testing.T, ctx context.Context, f *testenv.Fleet, jobs []*store.View, addSecret func(v, what string)) *store.View {
	t.Helper()
	tg := tag()
	creds := map[string]string{"username": "mxuser+" + tg, "password": "correct+" + tg}
	for k, v := range creds {
		addSecret(v, "re-authentication credential "+k)
	}
	for _, j := range jobs {
		if j.ID != "leak-denied-verify" {
			continue
		}
		if _, err := f.Client.Verify(ctx, tasks.Request{ID: "leak-reauth", User: tasks.User{GUID: j.UserGUID},
			Member: tasks.Member{GUID: j.MemberGUID, Credentials: creds}}); err != nil {
			t.Fatal(err)
		}
		v, err := f.Client.Wait(ctx, "leak-reauth")
		if err != nil || v.State != store.StateSucceeded {
			t.Fatalf("re-authentication: %+v %v", v, err)
		}
		return v
	}
	t.Fatal("no denied verify job to re-authenticate")
	return nil
}
