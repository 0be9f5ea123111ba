package tasks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A member guid with credentials is a re-authentication: its credentials
// are sealed like any; an institution code beside the guid, or follow
// with credentials, is refused at submit.
func TestReauthenticationPayload(t *testing.T) {
	keys, _ := tasks.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	creds := map[string]string{"username": "mxuser", "password": "hunter2"}
	task, err := tasks.NewJobTask(keys, store.KindIdentify, tasks.Job{JobID: "j1", User: tasks.User{ID: "u"},
		Member: tasks.Member{GUID: "MBR-1", Credentials: creds}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(task.Payload()), "hunter2") || !strings.Contains(string(task.Payload()), `"password":"mxs1.k1.`) {
		t.Fatalf("credentials not sealed in the payload: %s", task.Payload())
	}
	for name, m := range map[string]tasks.Member{
		"guid and institution code": {GUID: "MBR-1", InstitutionCode: "mxbank", Credentials: creds},
		"follow with credentials":   {GUID: "MBR-1", Follow: true, Credentials: creds},
	} {
		_, err := tasks.NewJobTask(keys, store.KindVerify, tasks.Job{JobID: "j1", User: tasks.User{ID: "u"}, Member: m})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v, want refused (no value)", name, err)
		}
	}
}

// Through the producer: the record says re-authentication, and the same
// id is refused with the credentials dropped or added, before and after
// the start.
func TestReauthenticationSubmit(t *testing.T) {
	f := testenv.NewFleet(t, nil)
	f.StopWorker()
	ctx := ctxT(t, time.Minute)
	req := tasks.Request{ID: "re-1", User: tasks.User{ID: "u"}, Member: tasks.Member{GUID: "MBR-1", Credentials: map[string]string{"password": "x"}}}
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	if rec := f.Record(t, ctx, "re-1"); !rec.Reauth || rec.MemberGUID != "MBR-1" || rec.InstitutionCode != "" {
		t.Fatalf("record: %+v", rec.Record)
	}
	plain := req
	plain.Member = tasks.Member{GUID: "MBR-1"}
	if _, err := f.Client.Verify(ctx, plain); !errors.Is(err, tasks.ErrRequestDiffers) || !strings.Contains(err.Error(), "member.credentials") {
		t.Fatalf("without credentials: %v", err)
	}
	// Once the start task is gone the record still tells.
	if err := f.Inspector.DeleteTask(tasks.QueueJobs, tasks.StartID("re-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client.Verify(ctx, plain); !errors.Is(err, tasks.ErrRequestDiffers) || !strings.Contains(err.Error(), "member.credentials") {
		t.Fatalf("without credentials, start task gone: %v", err)
	}
	if _, err := f.Client.Verify(ctx, tasks.Request{ID: "plain-1", User: tasks.User{ID: "u"}, Member: tasks.Member{GUID: "MBR-1"}}); err != nil {
		t.Fatal(err)
	}
	if rec := f.Record(t, ctx, "plain-1"); rec.Reauth {
		t.Fatalf("a member guid alone is no re-authentication: %+v", rec.Record)
	}
}
