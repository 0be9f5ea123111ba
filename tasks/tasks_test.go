package tasks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func TestJobTaskShape(t *testing.T) {
	keys, _ := tasks.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	task, err := tasks.NewJobTask(keys, store.KindVerify, tasks.Job{JobID: "j1", User: tasks.User{ID: "u"},
		Member: tasks.Member{InstitutionCode: "mxbank", Credentials: map[string]string{"username": "a", "password": "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != tasks.TypeVerify {
		t.Fatalf("type %s", task.Type())
	}
	var p tasks.Job
	if err := tasks.Decode(task.Payload(), &p); err != nil || p.V != tasks.Version {
		t.Fatalf("decode: %+v %v", p, err)
	}
	if strings.Contains(string(task.Payload()), `"b"`) || !strings.Contains(string(task.Payload()), `"password":"mxs1.k1.`) {
		t.Fatalf("credentials not sealed in the payload: %s", task.Payload())
	}
	creds, err := p.OpenCredentials(keys)
	if err != nil || creds["password"] != "b" || creds["username"] != "a" {
		t.Fatalf("open: %v %v", creds, err)
	}
	other, _ := tasks.ParseKeys("k2:" + strings.Repeat("B", 43) + "=")
	if _, err := p.OpenCredentials(other); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("open with a ring lacking k1: %v", err)
	}
}

func TestJobValidation(t *testing.T) {
	ok := tasks.Job{V: 1, JobID: "j", User: tasks.User{ID: "u"}, Member: tasks.Member{GUID: "MBR-1"}}
	for name, mutate := range map[string]func(*tasks.Job){
		"no user":             func(j *tasks.Job) { j.User = tasks.User{} },
		"two users":           func(j *tasks.Job) { j.User.GUID = "USR-1" },
		"no member":           func(j *tasks.Job) { j.Member = tasks.Member{} },
		"guid and creds":      func(j *tasks.Job) { j.Member.InstitutionCode = "mxbank" },
		"institution no cred": func(j *tasks.Job) { j.Member = tasks.Member{InstitutionCode: "mxbank"} },
		"follow no guid": func(j *tasks.Job) {
			j.Member = tasks.Member{InstitutionCode: "x", Credentials: map[string]string{"a": "b"}, Follow: true}
		},
		"plain value": func(j *tasks.Job) {
			j.Member = tasks.Member{InstitutionCode: "x", Credentials: map[string]string{"a": "hunter2"}}
		},
		"empty value": func(j *tasks.Job) {
			j.Member = tasks.Member{InstitutionCode: "x", Credentials: map[string]string{"a": ""}}
		},
		"odd id":  func(j *tasks.Job) { j.JobID = "a b" },
		"long id": func(j *tasks.Job) { j.JobID = strings.Repeat("a", 129) },
	} {
		j := ok
		mutate(&j)
		if err := j.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRefusesWithoutQuotingSecrets(t *testing.T) {
	for name, payload := range map[string]string{
		"syntax":  `{"v":1,"member":{"credentials":{"password":"hunter2"`,
		"type":    `{"v":"hunter2"}`,
		"unknown": `{"v":1,"hunter2":1}`,
		"version": `{"v":2,"job_id":"j"}`,
		"trailer": `{"v":1,"job_id":"j","user":{"id":"u"},"member":{"guid":"m"}} {"hunter2":1}`,
	} {
		var p tasks.Job
		err := tasks.Decode([]byte(payload), &p)
		if !errors.Is(err, tasks.ErrBadPayload) {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name != "unknown" && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error quotes the payload: %v", name, err)
		}
	}
}

func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"v":1,"job_id":"j","user":{"id":"u"},"member":{"guid":"m"}}`))
	f.Add([]byte(`{"v":1,"job_id":"j","user":{"guid":"u"},"member":{"institution_code":"x","credentials":{"a":"b"}}}`))
	f.Add([]byte(`{"v":1,"job_id":"j","answer_id":"a","answers":[{"guid":"g","value":"v"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var j tasks.Job
		if tasks.Decode(b, &j) == nil {
			if err := j.Validate(); err != nil {
				t.Fatalf("decoded an invalid job: %v", err)
			}
		}
		var a tasks.Answer
		if tasks.Decode(b, &a) == nil {
			if err := a.Validate(); err != nil {
				t.Fatalf("decoded an invalid answer: %v", err)
			}
		}
	})
}

// asynq schedules in whole seconds: a follow-up must be rounded up, or it
// runs up to a second before it is due (a first poll before MX's 3 s).
func TestFollowUpsNeverRunEarly(t *testing.T) {
	r := testenv.NewRedis(t)
	q := asynq.NewClientFromRedisClient(r.Client)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	for i, d := range []time.Duration{2400 * time.Millisecond, 3 * time.Second, 7*time.Second + time.Millisecond} {
		now := time.Now()
		due := now.Add(d)
		task, err := tasks.NewPollTask("j", i+1, now, due)
		if err != nil {
			t.Fatal(err)
		}
		ti, err := q.Enqueue(task)
		if err != nil {
			t.Fatal(err)
		}
		if ti, err = insp.GetTaskInfo(tasks.QueuePolls, ti.ID); err != nil {
			t.Fatal(err)
		}
		// asynq moves the task once the clock's second reaches NextProcessAt's.
		if at := ti.NextProcessAt; at.Before(due) || at.Sub(due) > time.Second {
			t.Errorf("poll due in %s (at %s) runs from %s", d, due.Format("15:04:05.000"), at.Format("15:04:05.000"))
		}
	}
}
