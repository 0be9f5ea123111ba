package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// slowGets makes every GET (a job record read) return only once its
// context has ended: the deadline always passes right after a read, the
// moment that made Watch return the record and a nil error.
type slowGets struct{}

func (slowGets) DialHook(next redis.DialHook) redis.DialHook { return next }
func (slowGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (slowGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "get" && err == nil {
			<-ctx.Done()
		}
		return err
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestWatchTimeoutIsAlwaysAnError(t *testing.T) {
	r := testenv.NewRedis(t)
	keys := seal.Ephemeral()
	c := tasks.NewClient(r.Client, keys) // no worker: the job stays pending
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Verify(ctxT(t, 10*time.Second), tasks.Request{ID: "stuck-1", User: tasks.User{ID: "u"}, Member: tasks.Member{GUID: "MBR-1"}}); err != nil {
		t.Fatal(err)
	}
	rdb, err := fleet.Redis(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(slowGets{})
	slow := tasks.NewClient(rdb, keys)
	t.Cleanup(func() { _ = slow.Close() })
	for name, watch := range map[string]func(context.Context) (*store.View, error){
		"Wait": func(ctx context.Context) (*store.View, error) { return slow.Wait(ctx, "stuck-1") },
		"Watch": func(ctx context.Context) (*store.View, error) {
			return slow.Watch(ctx, "stuck-1", func(*store.View) bool { return true })
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		j, err := watch(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s past its deadline: job %+v, err %v; want context.DeadlineExceeded", name, j, err)
		}
		if !strings.Contains(err.Error(), "job stuck-1 is still pending") {
			t.Errorf("%s: error %q does not say the job's state", name, err)
		}
		if j == nil || j.State != store.StatePending {
			t.Errorf("%s: last record %+v", name, j)
		}
	}
	// Canceled (Ctrl-C) says so the same way.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.Wait(ctx, "stuck-1"); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "still pending") {
		t.Fatalf("canceled wait: %v", err)
	}
}

// What will not change ends a watch at once instead of at its deadline.
func TestWatchEndsAtOnceOnWhatWillNotChange(t *testing.T) {
	f := testenv.NewFleet(t, nil)
	ctx := ctxT(t, time.Minute)
	if _, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "done-1", "user-done", nil); err != nil {
		t.Fatal(err)
	}
	other := tasks.NewClient(f.Redis.Client, seal.Ephemeral()) // keys that do not open its results
	t.Cleanup(func() { _ = other.Close() })
	for name, c := range map[string]struct {
		c    *tasks.Client
		id   string
		want error
	}{
		"no such job":    {f.Client, "nosuchjob", tasks.ErrNotFound},
		"sealed results": {other, "done-1", seal.ErrUnknownKey},
		"invalid id":     {f.Client, "no such job", nil},
	} {
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.c.Wait(wctx, c.id)
		cancel()
		if err == nil || c.want != nil && !errors.Is(err, c.want) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %s to give up", name, d)
		}
	}
}

// The same id with another request is refused, naming the fields and no
// value; the same request again is the same job.
func TestSameIDOtherRequestIsRefused(t *testing.T) {
	f := testenv.NewFleet(t, nil)
	f.StopWorker() // pending until a worker starts: the start task holds the request
	ctx := ctxT(t, time.Minute)
	req := scenario.Request(testenv.Scenario(t, "success"), "again-1", "user-again") // mxbank, username=mxuser password=correct
	j1, err := f.Client.Verify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, r tasks.Request) {
		t.Helper()
		j, err := f.Client.Verify(ctx, r)
		if err != nil || !j.CreatedAt.Equal(j1.CreatedAt) {
			t.Fatalf("%s: %+v %v, want the existing job", what, j, err)
		}
	}
	differs := func(what string, r tasks.Request, fields ...string) {
		t.Helper()
		_, err := f.Client.Verify(ctx, r)
		if !errors.Is(err, tasks.ErrRequestDiffers) {
			t.Fatalf("%s: %v, want ErrRequestDiffers", what, err)
		}
		for _, s := range fields {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not name %s", what, err, s)
			}
		}
		for _, v := range []string{"mxuser", "correct", "hunter2", "evil.example", "user-other", "otherbank"} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: %q shows the value %q", what, err, v)
			}
		}
	}
	edit := func(f func(*tasks.Request)) tasks.Request {
		r := req
		r.Member.Credentials = map[string]string{"username": "mxuser", "password": "correct"}
		f(&r)
		return r
	}
	same("identical", req)
	same("another password (values are not compared)", edit(func(r *tasks.Request) { r.Member.Credentials["password"] = "hunter2" }))
	differs("other credential names", edit(func(r *tasks.Request) {
		r.Member.Credentials = map[string]string{"username": "mxuser", "pin": "hunter2"}
	}), "member.credentials")
	differs("other partner id", edit(func(r *tasks.Request) { r.User.ID = "user-other" }), "user.id")
	differs("a callback", edit(func(r *tasks.Request) { r.CallbackURL = "https://evil.example/hook" }), "callback_url")
	differs("other institution", edit(func(r *tasks.Request) { r.Member.InstitutionCode = "otherbank" }), "member.institution_code")
	if _, err := f.Client.Identify(ctx, req); !errors.Is(err, tasks.ErrIDConflict) {
		t.Fatalf("identify: %v, want ErrIDConflict", err)
	}

	// Started and ended: the start task is gone; the record still tells.
	f.StartWorker(t)
	j, err := f.Client.Wait(ctx, "again-1")
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("job %+v %v", j, err)
	}
	same("identical, after the end", req)
	differs("other institution, after the end", edit(func(r *tasks.Request) { r.Member.InstitutionCode = "otherbank" }), "member.institution_code")
	differs("a callback, after the end", edit(func(r *tasks.Request) { r.CallbackURL = "https://evil.example/hook" }), "callback_url")
	differs("the member it made", edit(func(r *tasks.Request) { r.Member = tasks.Member{GUID: j.MemberGUID} }), "member.institution_code")
	if n := f.Sim.Stats().Calls["createMember"]; n != 1 {
		t.Fatalf("createMember called %d times, want 1", n)
	}
}
