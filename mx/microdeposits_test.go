package mx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
)

// mdTiming is the simulator's micro-deposit timing in these tests.
var mdTiming = mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 15 * time.Millisecond, Deposit: 15 * time.Millisecond, Expiry: 2 * time.Second})

var mdAccount = mx.MicrodepositCreate{AccountName: "My test account", AccountNumber: "333312345", AccountType: mx.AccountTypeChecking,
	Email: "josh@example.com", FirstName: "Josh", LastName: "Grobanne", RoutingNumber: "091000019"}

// TestMicrodepositDecodesMX: MX's sample response
// (docs.mx.com/products/connectivity/microdeposits), the webhook's integer
// status, the spec's array-shaped micro_deposit, unknown values kept.
func TestMicrodepositDecodesMX(t *testing.T) {
	const sample = `{"micro_deposit": {"account_name": "My Test Account","account_number": "33331261","account_type": "CHECKING",
"created_at": "2023-06-01T21:12:49Z","email": "example@example.com","error_code": null,"error_message": null,"first_name": "Josh",
"guid": "MIC-d1351d87-fafc-4935-b2f0-158973e68d34","institution_code": null,"institution_name": null,"last_name": "Smith",
"routing_number": "091000019","status": "REQUESTED","updated_at": "2023-06-01T21:12:49Z","verified_at": null}}`
	for name, body := range map[string]string{
		"object": sample,
		"array":  strings.Replace(strings.Replace(sample, `"micro_deposit": {`, `"micro_deposit": [{`, 1), "}}", "}]}", 1),
	} {
		t.Run(name, func(t *testing.T) {
			c := fixed(t, http.StatusOK, body)
			md, err := c.ReadMicrodeposit(context.Background(), "USR-1", "MIC-d1351d87-fafc-4935-b2f0-158973e68d34")
			if err != nil {
				t.Fatal(err)
			}
			if md.Status != mx.MicrodepositRequested || md.AccountNumber != "33331261" || md.InstitutionCode != "" || md.ErrorMessage != "" ||
				md.VerifiedAt != "" || md.CreatedAt != "2023-06-01T21:12:49Z" || md.FirstName != "Josh" {
				t.Fatalf("%#v / %+v", md, *md)
			}
		})
	}
	for raw, want := range map[string]mx.MicrodepositStatus{`0`: "INITIATED", `2`: "DEPOSITED", `3`: "VERIFIED", `5`: "DENIED", `9`: "PREINITIATED", `12`: "12", `"NEW"`: "NEW", `null`: ""} {
		var s mx.MicrodepositStatus
		if err := json.Unmarshal([]byte(raw), &s); err != nil || s != want {
			t.Errorf("%s: %q %v, want %q", raw, s, err, want)
		}
	}
	if _, err := fixed(t, http.StatusOK, `{}`).ReadMicrodeposit(context.Background(), "U", "M"); err == nil {
		t.Fatal("an answer without micro_deposit was accepted")
	}
}

// fixed is a client of a server that answers every call with status and body.
func fixed(t *testing.T, status int, body string) *mx.Client {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials("id", "key"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorded is one request as a server saw it.
type recorded struct {
	method, path, accept, version string
	body                          map[string]any
}

// TestMicrodepositRequestShapes: what each call sends, in both versions
// (the same paths and bodies in both specs; only the headers differ).
func TestMicrodepositRequestShapes(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			var mu sync.Mutex
			var got []recorded
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				rec := recorded{method: r.Method, path: r.URL.Path, accept: r.Header.Get("Accept"), version: r.Header.Get("Accept-Version")}
				if len(b) > 0 {
					_ = json.Unmarshal(b, &rec.body)
				}
				mu.Lock()
				got = append(got, rec)
				mu.Unlock()
				if r.Method == http.MethodDelete {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/micro_deposits") {
					_, _ = io.WriteString(w, `{"micro_deposits":[{"guid":"MIC-1","status":"INITIATED"}],"pagination":{"current_page":1,"per_page":100,"total_entries":1,"total_pages":1}}`)
					return
				}
				_, _ = io.WriteString(w, `{"micro_deposit":{"guid":"MIC-1","status":"INITIATED"}}`)
			}))
			t.Cleanup(hs.Close)
			c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials("id", "key"), mx.WithVersion(version))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := c.CreateMicrodeposit(ctx, "USR-1", mdAccount); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateMicrodeposit(ctx, "USR-1", mx.MicrodepositCreate{AccountNumber: "333312345", AccountType: "SAVINGS", RoutingNumber: "091000019"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadMicrodeposit(ctx, "USR-1", "MIC-1"); err != nil {
				t.Fatal(err)
			}
			if l, err := mx.Collect(c.Microdeposits(ctx, "USR-1")); err != nil || len(l) != 1 {
				t.Fatalf("list: %v %v", err, l)
			}
			if _, err := c.VerifyMicrodeposit(ctx, "MIC-1", mx.MicrodepositAmounts{First: 12, Second: 5}); err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteMicrodeposit(ctx, "USR-1", "MIC-1"); err != nil {
				t.Fatal(err)
			}
			want := []struct {
				method, path, body string
			}{
				{"POST", "/users/USR-1/micro_deposits", `{"micro_deposit":{"account_name":"My test account","account_number":"333312345","account_type":"CHECKING","email":"josh@example.com","first_name":"Josh","last_name":"Grobanne","routing_number":"091000019"}}`},
				{"POST", "/users/USR-1/micro_deposits", `{"micro_deposit":{"account_number":"333312345","account_type":"SAVINGS","routing_number":"091000019"}}`},
				{"GET", "/users/USR-1/micro_deposits/MIC-1", ``},
				{"GET", "/users/USR-1/micro_deposits", ``},
				{"PUT", "/micro_deposits/MIC-1/verify", `{"micro_deposit":{"deposit_amount_1":0.12,"deposit_amount_2":0.05}}`},
				{"DELETE", "/users/USR-1/micro_deposits/MIC-1", ``},
			}
			if len(got) != len(want) {
				t.Fatalf("%d requests: %+v", len(got), got)
			}
			for i, w := range want {
				g := got[i]
				var body string
				if g.body != nil {
					b, _ := json.Marshal(g.body)
					body = string(b)
				}
				if g.method != w.method || g.path != w.path || body != w.body || g.accept != version.Accept() || g.version != string(version) {
					t.Errorf("request %d: %s %s %s (%s, %s), want %s %s %s", i, g.method, g.path, body, g.accept, g.version, w.method, w.path, w.body)
				}
			}
		})
	}
	c := fixed(t, 200, `{}`)
	if _, err := c.CreateMicrodeposit(context.Background(), "U", mx.MicrodepositCreate{AccountNumber: "333312345"}); err == nil {
		t.Fatal("create without routing number and type was sent")
	}
	if _, err := c.VerifyMicrodeposit(context.Background(), "M", mx.MicrodepositAmounts{First: 12}); err == nil {
		t.Fatal("verify with one amount was sent")
	}
}

// TestMicrodepositSecrets: numbers and amounts reach no string, log line
// or error.
func TestMicrodepositSecrets(t *testing.T) {
	md := mx.Microdeposit{GUID: "MIC-1", Status: "DEPOSITED", AccountNumber: "333312345", RoutingNumber: "091000019"}
	amounts := mx.MicrodepositAmounts{First: 12, Second: 34}
	var logged bytes.Buffer
	log := zerolog.New(&logged)
	log.Info().Object("md", md).Object("create", mdAccount).Object("amounts", amounts).Msg("x")
	for _, s := range []string{fmt.Sprint(md), fmt.Sprintf("%+v %#v %v", md, md, &md), fmt.Sprintf("%v %+v %#v", mdAccount, mdAccount, mdAccount),
		fmt.Sprintf("%v %+v %#v", amounts, amounts, amounts), logged.String()} {
		for _, secret := range []string{"333312345", "091000019", "12", "34"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %s", s, secret)
			}
		}
	}
	// MX's message echoing what was sent is masked
	c := fixed(t, http.StatusBadRequest, `{"error":{"message":"account 333312345 at 091000019: amounts 0.12 and .34 do not match"}}`)
	_, err := c.CreateMicrodeposit(context.Background(), "U", mdAccount)
	if err == nil || strings.Contains(err.Error(), "333312345") || strings.Contains(err.Error(), "091000019") {
		t.Fatalf("create error: %v", err)
	}
	_, err = c.VerifyMicrodeposit(context.Background(), "M", amounts)
	if err == nil || strings.Contains(err.Error(), "0.12") || strings.Contains(err.Error(), ".34") {
		t.Fatalf("verify error: %v", err)
	}
}

func TestParseMicrodepositAmount(t *testing.T) {
	for in, want := range map[string]int64{"0.12": 12, ".12": 12, "$0.12": 12, " 0.1 ": 10, "0.99": 99, "0.01": 1,
		"12": -1, "1.00": -1, "0.00": -1, "0.123": -1, "-0.12": -1, "abc": -1, "": -1, "1e-1": -1, "$": -1} {
		got, err := mx.ParseMicrodepositAmount(in)
		if want < 0 {
			if err == nil {
				t.Errorf("%q: %d accepted", in, got)
			} else if in != "" && strings.Contains(err.Error(), in) {
				t.Errorf("%q: error quotes it: %v", in, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
}

// TestMicrodepositFlowOverHTTP runs the flows through the client against
// the simulator over HTTP, in both versions.
func TestMicrodepositFlowOverHTTP(t *testing.T) {
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			c, sim, _ := newSimVersion(t, nil, version, mdTiming)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			exerciseMicrodeposits(t, ctx, c, sim)
		})
	}
}

// waitMicrodeposit polls until the micro-deposit leaves the statuses of
// MX making the deposits.
func waitMicrodeposit(t *testing.T, ctx context.Context, c *mx.Client, userGUID, guid string) *mx.Microdeposit {
	t.Helper()
	var md *mx.Microdeposit
	testenv.Until(t, testenv.Context(t, 5*time.Second), "the micro-deposits made", func() (err error) {
		if md, err = c.ReadMicrodeposit(ctx, userGUID, guid); err != nil {
			t.Fatalf("read micro-deposit: %v", err)
		}
		switch md.Status {
		case mx.MicrodepositPreinitiated, mx.MicrodepositInitiated, mx.MicrodepositRequested:
			return fmt.Errorf("status %s", md.Status)
		}
		return nil
	})
	return md
}

// exerciseMicrodeposits: create → DEPOSITED → right amounts → VERIFIED;
// wrong amounts until PREVENTED; ERRORED; expiry (MX's soft delete); list;
// delete. The simulator's timing must be mdTiming's.
func exerciseMicrodeposits(t *testing.T, ctx context.Context, c *mx.Client, sim *mxsim.Server) {
	u, err := c.CreateUser(ctx, mx.UserCreate{ID: "md-" + string(c.Version()), Email: "md@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// the right amounts
	md, err := c.CreateMicrodeposit(ctx, u.GUID, mdAccount)
	if err != nil || md.Status != mx.MicrodepositInitiated || md.GUID == "" || md.AccountNumber != mdAccount.AccountNumber {
		t.Fatalf("create: %v %v", err, md)
	}
	if _, err := c.VerifyMicrodeposit(ctx, md.GUID, mx.MicrodepositAmounts{First: 1, Second: 2}); !mx.IsConflict(err) {
		t.Fatalf("verify before DEPOSITED: %v", err)
	}
	if got := waitMicrodeposit(t, ctx, c, u.GUID, md.GUID); got.Status != mx.MicrodepositDeposited {
		t.Fatalf("deposited: %v", got)
	}
	a1, a2, ok := sim.MicrodepositAmounts(md.GUID)
	if !ok {
		t.Fatal("no amounts")
	}
	first, err1 := mx.ParseMicrodepositAmount(fmt.Sprintf("%.2f", a1))
	second, err2 := mx.ParseMicrodepositAmount(fmt.Sprintf("$%.2f", a2))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	// The verdict is on the next read (the spec's "poll until").
	v, err := c.VerifyMicrodeposit(ctx, md.GUID, mx.MicrodepositAmounts{First: first, Second: second})
	if err != nil || v.Status != mx.MicrodepositDeposited || v.VerifiedAt != "" {
		t.Fatalf("verify: %v %v", err, v)
	}
	if v := mustRead(t, ctx, c, u.GUID, md.GUID); v.Status != mx.MicrodepositVerified || v.VerifiedAt == "" {
		t.Fatalf("read after the verify: %v", v)
	}
	if _, err := c.VerifyMicrodeposit(ctx, md.GUID, mx.MicrodepositAmounts{First: first, Second: second}); !mx.IsConflict(err) {
		t.Fatalf("verify once VERIFIED: %v", err)
	}

	// wrong amounts: DENIED twice (the answer shows the status before,
	// and MX takes amounts again), then PREVENTED
	wrong, err := c.CreateMicrodeposit(ctx, u.GUID, mdAccount)
	if err != nil {
		t.Fatal(err)
	}
	waitMicrodeposit(t, ctx, c, u.GUID, wrong.GUID)
	w1, w2, _ := sim.MicrodepositAmounts(wrong.GUID)
	bad := mx.MicrodepositAmounts{First: int64(w1*100+0.5)%99 + 1, Second: int64(w2*100 + 0.5)}
	before := mx.MicrodepositDeposited
	for i, want := range []mx.MicrodepositStatus{mx.MicrodepositDenied, mx.MicrodepositDenied, mx.MicrodepositPrevented} {
		got, err := c.VerifyMicrodeposit(ctx, wrong.GUID, bad)
		if err != nil || got.Status != before {
			t.Fatalf("wrong attempt %d: %v %v", i+1, err, got)
		}
		if got := mustRead(t, ctx, c, u.GUID, wrong.GUID); got.Status != want || got.ErrorMessage == "" {
			t.Fatalf("wrong attempt %d, read: %v, want %s", i+1, got, want)
		}
		before = want
	}
	if _, err := c.VerifyMicrodeposit(ctx, wrong.GUID, bad); !mx.IsConflict(err) {
		t.Fatalf("verify once PREVENTED: %v", err)
	}

	// wrong, then right: DENIED takes the amounts again
	again, err := c.CreateMicrodeposit(ctx, u.GUID, mdAccount)
	if err != nil {
		t.Fatal(err)
	}
	waitMicrodeposit(t, ctx, c, u.GUID, again.GUID)
	g1, g2, _ := sim.MicrodepositAmounts(again.GUID)
	right := mx.MicrodepositAmounts{First: int64(g1*100 + 0.5), Second: int64(g2*100 + 0.5)}
	if _, err := c.VerifyMicrodeposit(ctx, again.GUID, mx.MicrodepositAmounts{First: right.Second%99 + 1, Second: right.Second}); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, ctx, c, u.GUID, again.GUID); got.Status != mx.MicrodepositDenied {
		t.Fatalf("wrong pair, read: %v", got)
	}
	if got, err := c.VerifyMicrodeposit(ctx, again.GUID, right); err != nil || got.Status != mx.MicrodepositDenied {
		t.Fatalf("right pair after a wrong one: %v %v", err, got)
	}
	if got := mustRead(t, ctx, c, u.GUID, again.GUID); got.Status != mx.MicrodepositVerified {
		t.Fatalf("right pair after a wrong one, read: %v", got)
	}

	// the verdict in the verify's answer (accounts beginning 33339)
	now := mdAccount
	now.AccountNumber = "333391234"
	inAnswer, err := c.CreateMicrodeposit(ctx, u.GUID, now)
	if err != nil {
		t.Fatal(err)
	}
	waitMicrodeposit(t, ctx, c, u.GUID, inAnswer.GUID)
	n1, n2, _ := sim.MicrodepositAmounts(inAnswer.GUID)
	if got, err := c.VerifyMicrodeposit(ctx, inAnswer.GUID, mx.MicrodepositAmounts{First: int64(n1*100 + 0.5), Second: int64(n2*100 + 0.5)}); err != nil ||
		got.Status != mx.MicrodepositVerified {
		t.Fatalf("verdict in the answer: %v %v", err, got)
	}

	// an account MX's integration environment does not take as valid
	acct := mdAccount
	acct.AccountNumber = "123456789"
	errored, err := c.CreateMicrodeposit(ctx, u.GUID, acct)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitMicrodeposit(t, ctx, c, u.GUID, errored.GUID); got.Status != mx.MicrodepositErrored || got.ErrorMessage == "" {
		t.Fatalf("errored: %v", got)
	}

	// a refused routing number is a 400 that does not quote it
	acct = mdAccount
	acct.RoutingNumber = "091000018"
	if _, err := c.CreateMicrodeposit(ctx, u.GUID, acct); !mx.IsPermanent(err) || strings.Contains(err.Error(), "091000018") {
		t.Fatalf("bad routing number: %v", err)
	}

	// expiry: DEPOSITED and never verified, MX soft-deletes it
	waiting, err := c.CreateMicrodeposit(ctx, u.GUID, mdAccount)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Until(t, testenv.Context(t, 10*time.Second), "the unverified micro-deposit expiring", func() error {
		md, err := c.ReadMicrodeposit(ctx, u.GUID, waiting.GUID)
		if mx.MicrodepositGone(err) {
			return nil
		}
		if err != nil {
			t.Fatalf("expiry: %v", err)
		}
		return fmt.Errorf("still there: %s", md.Status)
	})
	if _, err := c.VerifyMicrodeposit(ctx, waiting.GUID, mx.MicrodepositAmounts{First: 1, Second: 2}); !mx.MicrodepositGone(err) {
		t.Fatalf("verify an expired micro-deposit: %v", err)
	}

	all, err := mx.Collect(c.Microdeposits(ctx, u.GUID))
	if err != nil || len(all) != 5 {
		t.Fatalf("list: %v %v", err, all)
	}
	if err := c.DeleteMicrodeposit(ctx, u.GUID, md.GUID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadMicrodeposit(ctx, u.GUID, md.GUID); !mx.MicrodepositGone(err) {
		t.Fatalf("read deleted: %v", err)
	}
}

func mustRead(t *testing.T, ctx context.Context, c *mx.Client, userGUID, guid string) *mx.Microdeposit {
	t.Helper()
	md, err := c.ReadMicrodeposit(ctx, userGUID, guid)
	if err != nil {
		t.Fatal(err)
	}
	return md
}
