package mx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
)

func rawServer(t *testing.T, h http.HandlerFunc) *mx.Client {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials("id", "s3cret-key"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string][]mx.Option{
		"no credentials":    {mx.WithBaseURL("http://x")},
		"bad url":           {mx.WithBaseURL("ftp://x"), mx.WithCredentials("a", "b")},
		"userinfo in url":   {mx.WithBaseURL("https://a:b@x"), mx.WithCredentials("a", "b")},
		"relative base url": {mx.WithBaseURL("/v1"), mx.WithCredentials("a", "b")},
	} {
		if _, err := mx.New(opts...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestErrorsAreTypedAndCarryNoSecret(t *testing.T) {
	c := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/users/U/members":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":{"message":"member with password hunter2 already exists"}}`)
		case "/users/U/members/M/verify":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down","code":4290}}`)
		case "/users/U/members/M/identify":
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"maintenance"}`)
		case "/users/U/members/M/aggregate":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, strings.Repeat("x", 1<<20)) // huge, not JSON
		}
	})
	ctx := context.Background()
	_, err := c.CreateMember(ctx, "U", mx.MemberCreate{InstitutionCode: "mxbank", Credentials: []mx.CredentialValue{{GUID: "CRD-1", Value: "hunter2"}}})
	if !mx.IsDuplicateMember(err) || !mx.IsPermanent(err) || mx.IsRetriable(err) {
		t.Fatalf("409 on create member: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") {
		t.Fatalf("error leaks a secret: %s", msg)
	}
	_, err = c.VerifyMember(ctx, "U", "M")
	var e *mx.Error
	if !errors.As(err, &e) || e.StatusCode != 429 || e.Code != "4290" || e.Message != "slow down" || mx.RetryAfter(err) != 7*time.Second || !mx.IsRetriable(err) {
		t.Fatalf("429: %#v", err)
	}
	if _, err = c.IdentifyMember(ctx, "U", "M"); !mx.IsRetriable(err) || !strings.Contains(err.Error(), "maintenance") {
		t.Fatalf("503: %v", err)
	}
	_, err = c.AggregateMember(ctx, "U", "M")
	if !mx.IsPermanent(err) || len(err.Error()) > 500 {
		t.Fatalf("400 with a huge body: %d bytes of error", len(err.Error()))
	}
}

func TestTransportFailuresAreRetriable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close() // drop without an answer
		}
	}()
	defer ln.Close()
	c, _ := mx.New(mx.WithBaseURL("http://"+ln.Addr().String()), mx.WithCredentials("id", "s3cret-key"))
	_, err = c.ReadUser(context.Background(), "USR-1")
	if !mx.IsRetriable(err) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("dropped connection: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = c.ReadUser(ctx, "USR-1"); mx.IsRetriable(err) {
		t.Fatalf("cancelled context counted as retriable: %v", err)
	}
}

func TestRetryAfterForms(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, v := range []string{"3", date} {
		c := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", v)
			w.WriteHeader(429)
		})
		_, err := c.ReadUser(context.Background(), "U")
		if ra := mx.RetryAfter(err); ra <= 0 || ra > 91*time.Second {
			t.Errorf("Retry-After %q read as %s", v, ra)
		}
	}
}

func TestPagingReadsEveryPageAndHonours204(t *testing.T) {
	c := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/challenges") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("Accept-Version") != "v20250224" {
			w.WriteHeader(406)
			return
		}
		page := r.URL.Query().Get("page")
		var p int
		fmt.Sscan(page, &p)
		fmt.Fprintf(w, `{"account_numbers":[{"guid":"ACN-%d-a"},{"guid":"ACN-%d-b"}],"pagination":{"current_page":%d,"per_page":2,"total_entries":6,"total_pages":3}}`, p, p, p)
	})
	got, err := mx.Collect(c.AccountNumbers(context.Background(), "U", "M"))
	if err != nil || len(got) != 6 || got[5].GUID != "ACN-3-b" {
		t.Fatalf("paged read: %v %+v", err, got)
	}
	chs, err := mx.Collect(c.Challenges(context.Background(), "U", "M"))
	if err != nil || len(chs) != 0 {
		t.Fatalf("204 challenges: %v %v", err, chs)
	}
}

func TestEmptyInstitutionSearchIsRefusedLocally(t *testing.T) {
	called := false
	c := rawServer(t, func(w http.ResponseWriter, r *http.Request) { called = true })
	if _, err := mx.Collect(c.SearchInstitutions(context.Background(), mx.InstitutionSearch{Name: "  "})); !errors.Is(err, mx.ErrEmptySearch) {
		t.Fatalf("err %v", err)
	}
	if called {
		t.Fatal("an empty search reached MX")
	}
}

func TestClassifyCoversEveryStatus(t *testing.T) {
	if len(job.Statuses) != 22 {
		t.Fatalf("%d statuses, MX documents 22", len(job.Statuses))
	}
	for i, s := range job.Statuses {
		if s.ID != i {
			t.Errorf("%s has id %d at position %d", s.Status, s.ID, i)
		}
		c := job.Classify(s.Status, false)
		if c.Outcome != s.Outcome {
			t.Errorf("%s: %v, want %v", s.Status, c.Outcome, s.Outcome)
		}
		if (c.Outcome == job.Failed || c.Outcome == job.RetryLater) && c.Reason != strings.ToLower(s.Status) {
			t.Errorf("%s: reason %q", s.Status, c.Reason)
		}
		if s.Status != "CHALLENGED" && job.Classify(s.Status, true).Outcome != job.InProgress {
			t.Errorf("%s while aggregating is not in progress", s.Status)
		}
	}
	if c := job.Classify("", false); c.Outcome != job.Failed || c.Reason != "no_connection_status" {
		t.Errorf("null status: %+v", c)
	}
	if c := job.Classify("SOMETHING_NEW", false); c.Outcome != job.Failed {
		t.Errorf("unknown status: %+v", c)
	}
}

type brokenLimiter struct{}

func (brokenLimiter) Wait(context.Context) error {
	return errors.New("LOADING Redis is loading the dataset in memory")
}
func (brokenLimiter) Pause(context.Context, time.Duration) error { return nil }

// A limiter that cannot reach its Redis makes the call retriable, not a
// permanent MX error (found by make chaos: a Redis restart failed 3 jobs).
func TestLimiterFailureIsRetriable(t *testing.T) {
	c, err := mx.New(mx.WithBaseURL("http://127.0.0.1:1"), mx.WithCredentials("a", "b"), mx.WithLimiter(brokenLimiter{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadUser(context.Background(), "USR-1")
	if !mx.IsRetriable(err) || mx.IsPermanent(err) || mx.RetryAfter(err) != time.Second {
		t.Fatalf("limiter failure: %v", err)
	}
}
